"""What a plain HTTP answer means for delivery; shared by channels whose API speaks in status codes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime

import httpx

from notifications.answers import answer_excerpt, answer_text
from notifications.message import DeliveryResult, DeliveryStatus

__all__ = [
    "RETRYABLE_STATUSES",
    "result_for_status",
    "retry_after_phrase",
    "retry_after_seconds",
    "status_outcome",
    "unreadable_answer",
]

# 4xx answers that mean "not now" rather than "never": request timeout and too early.
RETRYABLE_STATUSES = frozenset({408, 425})


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


def retry_after_phrase(wait: float | None) -> str:
    """How a reason says what a rate-limited answer asked for: "Retry-After 3 s" or "no Retry-After given"."""
    return "no Retry-After given" if wait is None else f"Retry-After {wait:g} s"


def status_outcome(status: int) -> DeliveryStatus:
    """What an HTTP status alone means: 2xx delivered; 429 rate limited; 408/425/5xx retry; else failed."""
    if 200 <= status < 300:
        return DeliveryStatus.DELIVERED
    if status == 429:
        return DeliveryStatus.RATE_LIMITED
    if status in RETRYABLE_STATUSES or 500 <= status < 600:
        return DeliveryStatus.RETRY
    return DeliveryStatus.FAILED


def result_for_status(response: httpx.Response, credentials: Sequence[str] = ()) -> DeliveryResult:
    """2xx delivered; 429 rate limited; 408/425/5xx retry; anything else failed for good.

    The reason quotes the start of the answer with ``credentials`` cut out.
    """
    status = response.status_code
    outcome = status_outcome(status)
    if outcome is DeliveryStatus.DELIVERED:
        return DeliveryResult(outcome, f"HTTP {status}", http_status=status)
    if outcome is DeliveryStatus.RATE_LIMITED:
        wait = retry_after_seconds(response.headers)
        return DeliveryResult(outcome, f"HTTP 429 rate limited ({retry_after_phrase(wait)})", status, wait)
    snippet = answer_excerpt(answer_text(response), credentials)
    reason = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
    if 300 <= status < 400:
        reason = f"HTTP {status} redirect not followed; set the channel url to the final address"
    return DeliveryResult(outcome, reason, status)


def unreadable_answer(response: httpx.Response, vendor: str, credentials: Sequence[str] = ()) -> DeliveryResult:
    """An answer without the vendor's code: HTTP status decides, and a 2xx from something else fails."""
    result = result_for_status(response, credentials)
    if result.status is not DeliveryStatus.DELIVERED:
        return result
    snippet = answer_excerpt(answer_text(response), credentials) or "an empty body"
    return DeliveryResult(
        DeliveryStatus.FAILED,
        f"HTTP {response.status_code} but not a {vendor} answer ({snippet}); check that the channel url is {vendor}'s",
        response.status_code,
    )
