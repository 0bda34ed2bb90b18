"""Pointing this process at a Prefect API chosen after Prefect was imported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogHandler
from prefect.settings import PREFECT_API_URL, temporary_settings

__all__ = ["prefect_api"]


@contextmanager
def prefect_api(url: str) -> Iterator[None]:
    """Use the Prefect server at ``url`` inside the block (Prefect reads its env only at import)."""
    with temporary_settings(updates={PREFECT_API_URL: url}):
        try:
            yield
        finally:
            # Send what is still queued while the server is up (it may be stopped right after).
            APILogHandler().flush()
            EventsWorker.drain_all(timeout=5)
