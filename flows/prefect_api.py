"""Pointing this process at a Prefect API chosen after Prefect was imported."""

from __future__ import annotations

import asyncio
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
            # Send what is still queued while the server is up (it may be stopped right after). Only from
            # synchronous code: on a running loop these calls hand back coroutines, and the loop's own
            # workers keep sending anyway.
            if not _loop_running():
                APILogHandler().flush()
                EventsWorker.drain_all(timeout=5)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
