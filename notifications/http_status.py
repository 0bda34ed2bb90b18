"""What a plain HTTP answer means for delivery; shared by channels whose API speaks in status codes."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx

from notifications.message import DeliveryResult, DeliveryStatus

__all__ = ["RETRYABLE_STATUSES", "body_snippet", "result_for_status", "retry_after_seconds"]

# 4xx answers that mean "not now" rather than "never": request timeout and too early.
RETRYABLE_STATUSES = frozenset({408, 425})
_SNIPPET_CHARS = 200


def body_snippet(response: httpx.Response, limit: int = _SNIPPET_CHARS) -> str:
    """The start of the answer's body on one line, for a failure reason."""
    text = " ".join(response.content.decode("utf-8", errors="replace").split())
    return text if len(text) <= limit else text[:limit] + "…"


def retry_after_seconds(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), or None."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds == float("inf"):  # NaN or infinity
        return None
    return max(seconds, 0.0)


def result_for_status(response: httpx.Response) -> DeliveryResult:
    """2xx delivered; 429 rate limited; 408/425/5xx retry; anything else failed for good."""
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult(DeliveryStatus.DELIVERED, f"HTTP {status}", http_status=status)
    if status == 429:
        wait = retry_after_seconds(response.headers)
        asked = "no Retry-After given" if wait is None else f"Retry-After {wait:g} s"
        return DeliveryResult(DeliveryStatus.RATE_LIMITED, f"HTTP 429 rate limited ({asked})", status, wait)
    snippet = body_snippet(response)
    reason = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
    if status in RETRYABLE_STATUSES or 500 <= status < 600:
        return DeliveryResult(DeliveryStatus.RETRY, reason, status)
    if 300 <= status < 400:
        reason = f"HTTP {status} redirect not followed; set the channel url to the final address"
    return DeliveryResult(DeliveryStatus.FAILED, reason, status)
