"""Shared fixtures: a real Prefect server (Prefect's test harness) and the responder simulator."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

# Prefect reads its settings at import: give the whole test session its own home, quietly offline.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="muster-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)

DEMO_SECRET = "whsec_bXVzdGVyLWRlbW8tc2VjcmV0LW5vdC1mb3ItcHJvZCE="


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """One Prefect server for the whole session; yields its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield str(PREFECT_API_URL.value())
