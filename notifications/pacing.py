"""Pacing: stay inside each endpoint's published limits instead of tripping them.

Each limit is a sliding window of ``count`` sends per ``per_s`` seconds, kept per
endpoint (a channel's pacing key). A send waits until every limit of its endpoint
has room, on the monotonic clock. The window is kept a little longer than the
vendor's, because the vendor counts arrivals and arrivals can bunch up in transit.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence

from notifications.channel import RateLimit

__all__ = ["SAFETY_MARGIN_S", "Pacer"]

SAFETY_MARGIN_S = 1.0  # arrivals can lag their send by this much on a busy machine (seen: >0.25 s)


class Pacer:
    """Sliding windows per (endpoint, limit); ``acquire`` returns when a send may go."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, margin_s: float = SAFETY_MARGIN_S) -> None:
        self._clock = clock
        self._margin_s = margin_s
        self._windows: dict[tuple[str, RateLimit], deque[float]] = {}

    def wait_needed(self, endpoint: str, limits: Sequence[RateLimit]) -> float:
        """Seconds until every limit of ``endpoint`` has room (0: now)."""
        now = self._clock()
        wait = 0.0
        for limit in limits:
            window = self._windows.setdefault((endpoint, limit), deque())
            span = limit.per_s + self._margin_s
            while window and now - window[0] >= span:
                window.popleft()
            if len(window) >= limit.count:
                wait = max(wait, window[0] + span - now)
        return wait

    async def acquire(self, endpoint: str, limits: Sequence[RateLimit]) -> float:
        """Wait for room under every limit, then count one send; returns the seconds waited."""
        waited = 0.0
        while limits:
            wait = self.wait_needed(endpoint, limits)
            if wait <= 0:
                now = self._clock()
                for limit in limits:
                    self._windows[(endpoint, limit)].append(now)
                break
            await asyncio.sleep(wait)
            waited += wait
        return waited
