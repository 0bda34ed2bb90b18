"""Delivery: fan messages out concurrently, retry with backoff, and record every attempt.

``deliver`` is the one place that does I/O for every channel. For each message it
asks the ledger first (a retried or resumed run never sends twice), then attempts
the channel's request up to ``max_attempts`` times with exponential backoff and
full jitter, honouring ``Retry-After``, and records each attempt and the outcome.
Transport errors become RETRY results in ONE place, ``_transport_failure``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx
from httpx_aiohttp import HttpxAiohttpClient

from muster.errors import ChannelError, TemplateError
from notifications.channel import Channel
from notifications.message import DeliveryResult, DeliveryStatus, Message

__all__ = [
    "BACKOFF_BASE_S",
    "BACKOFF_CAP_S",
    "MAX_RETRY_AFTER_S",
    "DeliveryLedger",
    "DeliveryOutcome",
    "deliver",
    "delivery_client",
]

BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0
# A channel that asks for a longer wait fails this delivery now, so the flow can fall back to another channel.
MAX_RETRY_AFTER_S = 60.0
_MAX_ANSWER_BYTES = 64 * 1024  # how much of an answer's body is read; the rest is dropped
_FINAL = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED})
_ALREADY_DELIVERED = DeliveryResult(DeliveryStatus.DELIVERED, "already delivered")
# What a failing connection may raise; everything else is a bug and propagates.
_TRANSPORT_ERRORS = (httpx.TransportError, aiohttp.ClientError, TimeoutError, OSError)

_log = logging.getLogger(__name__)


class DeliveryLedger(Protocol):
    """Where deliveries are remembered; the flow implements it over the action log."""

    def already_delivered(self, message: Message) -> bool:
        """Whether this message's delivery key was delivered before."""
        ...

    def record_attempt(self, message: Message, attempt: int, result: DeliveryResult, latency_ms: float) -> None:
        """Remember one attempt (1-based) and how it ended."""
        ...

    def record_outcome(self, message: Message, result: DeliveryResult, attempts: int) -> None:
        """Remember how the delivery ended: DELIVERED or FAILED, after ``attempts`` attempts."""
        ...


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """How one message's delivery ended; ``skipped_as_duplicate`` when nothing was sent for it."""

    message: Message
    result: DeliveryResult
    attempts: int
    skipped_as_duplicate: bool


@dataclass(frozen=True, slots=True)
class _Backoff:
    base: float
    cap: float
    max_retry_after: float  # a longer Retry-After fails the delivery instead of waiting

    def __post_init__(self) -> None:
        if not 0 <= self.base <= self.cap:
            raise ValueError(f"backoff needs 0 <= backoff_base <= backoff_cap, not {self.base} and {self.cap}")
        if self.max_retry_after < 0:
            raise ValueError(f"max_retry_after cannot be negative, not {self.max_retry_after}")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait after a failed ``attempt``: Retry-After when given, else full jitter."""
        if retry_after is not None:
            return retry_after
        return random.uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1)))


async def deliver(
    messages: Sequence[Message],
    channels: Mapping[str, Channel],
    *,
    ledger: DeliveryLedger,
    concurrency: int = 100,
    client: httpx.AsyncClient | None = None,
    backoff_base: float = BACKOFF_BASE_S,
    backoff_cap: float = BACKOFF_CAP_S,
    max_retry_after: float = MAX_RETRY_AFTER_S,
) -> list[DeliveryOutcome]:
    """Deliver every message at most once, at most ``concurrency`` requests in flight; outcomes in input order.

    Without ``client`` one shared client on the aiohttp transport is opened and closed here.
    Messages repeating a delivery key of this batch are sent once and reported as duplicates.
    Errors of the ledger propagate: a delivery that cannot be recorded must not pass silently.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    backoff = _Backoff(backoff_base, backoff_cap, max_retry_after)
    first_of_key: dict[str, int] = {}
    tasks: dict[int, asyncio.Task[DeliveryOutcome]] = {}
    async with _shared_client(client, concurrency) as http:
        run = _Run(channels, http, ledger, asyncio.Semaphore(concurrency), backoff)
        try:
            async with asyncio.TaskGroup() as group:
                for index, message in enumerate(messages):
                    if message.delivery_key not in first_of_key:
                        first_of_key[message.delivery_key] = index
                        tasks[index] = group.create_task(run.deliver_one(message))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from failed  # the ledger's own error, not a group to unpack
    outcomes = []
    for index, message in enumerate(messages):
        first = tasks[first_of_key[message.delivery_key]].result()
        outcomes.append(first if index in tasks else _batch_duplicate(message, first))
    return outcomes


@asynccontextmanager
async def _shared_client(client: httpx.AsyncClient | None, concurrency: int) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    async with delivery_client(concurrency) as opened:
        yield opened


@asynccontextmanager
async def delivery_client(concurrency: int = 100) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client deliveries share: the aiohttp transport, no pool timeout."""
    # httpx's own pool managed 82 msg/s under concurrency here, its aiohttp transport 863/s (DESIGN.md).
    # No pool timeout: the semaphore bounds what waits for a connection.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    opened: httpx.AsyncClient = HttpxAiohttpClient(limits=limits, timeout=httpx.Timeout(10.0, pool=None))
    async with opened:
        yield opened


def _batch_duplicate(message: Message, first: DeliveryOutcome) -> DeliveryOutcome:
    reason = f"same delivery key as an earlier message in this batch, which ended: {first.result.reason}"
    result = DeliveryResult(first.result.status, reason, first.result.http_status)
    return DeliveryOutcome(message, result, attempts=0, skipped_as_duplicate=True)


@dataclass(frozen=True, slots=True)
class _Run:
    """What one ``deliver`` call shares between its messages."""

    channels: Mapping[str, Channel]
    http: httpx.AsyncClient
    ledger: DeliveryLedger
    slots: asyncio.Semaphore
    backoff: _Backoff

    async def deliver_one(self, message: Message) -> DeliveryOutcome:
        if self.ledger.already_delivered(message):
            return DeliveryOutcome(message, _ALREADY_DELIVERED, attempts=0, skipped_as_duplicate=True)
        attempts = 0
        channel = self.channels.get(message.channel)
        if channel is None:
            configured = ", ".join(sorted(self.channels)) or "none"
            result = DeliveryResult(
                DeliveryStatus.FAILED,
                f"no channel named {message.channel!r} is configured (configured: {configured}); "
                "add it to the channel configuration or correct the recipient's contact",
            )
        else:
            try:
                request = channel.build_request(message)
            except (ChannelError, TemplateError) as exc:
                result = DeliveryResult(DeliveryStatus.FAILED, f"could not build the request: {exc}")
            else:
                attempts, result = await self._attempt_until_final(message, channel, request)
        self.ledger.record_outcome(message, result, attempts)
        return DeliveryOutcome(message, result, attempts, skipped_as_duplicate=False)

    async def _attempt_until_final(
        self, message: Message, channel: Channel, request: httpx.Request
    ) -> tuple[int, DeliveryResult]:
        """Attempt until delivered, failed for good, or out of attempts; a slot is held only while sending."""
        max_attempts = channel.config.max_attempts
        for attempt in range(1, max_attempts + 1):
            async with self.slots:
                started = time.monotonic()
                result = await _attempt(channel, request, self.http)
                latency_ms = (time.monotonic() - started) * 1000
            _log.debug("%s attempt %d: %s (%s)", message.delivery_key, attempt, result.status, result.reason)
            self.ledger.record_attempt(message, attempt, result, latency_ms)
            if result.status in _FINAL:
                return attempt, result
            if attempt == max_attempts:
                break
            max_retry_after = self.backoff.max_retry_after
            if result.retry_after is not None and result.retry_after > max_retry_after:
                reason = (
                    f"gave up after {_attempts(attempt)}: {result.reason}; the channel asked to wait "
                    f"{result.retry_after:g} s, longer than delivery waits ({max_retry_after:g} s)"
                )
                return attempt, DeliveryResult(DeliveryStatus.FAILED, reason, result.http_status)
            await asyncio.sleep(self.backoff.delay(attempt, result.retry_after))
        reason = f"gave up after {_attempts(max_attempts)}; last: {result.reason}"
        return max_attempts, DeliveryResult(DeliveryStatus.FAILED, reason, result.http_status)


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"


async def _attempt(channel: Channel, request: httpx.Request, http: httpx.AsyncClient) -> DeliveryResult:
    timeout_s = channel.config.timeout_s
    request.extensions["timeout"] = httpx.Timeout(timeout_s, pool=None).as_dict()
    try:
        async with asyncio.timeout(timeout_s):
            response = await _send(http, request, channel.auth())
    except _TRANSPORT_ERRORS as exc:
        return _transport_failure(exc, request.url, timeout_s)
    return channel.parse_response(response)


async def _send(http: httpx.AsyncClient, request: httpx.Request, auth: httpx.Auth | None) -> httpx.Response:
    """Send and read at most ``_MAX_ANSWER_BYTES`` of the answer, so a huge answer cannot exhaust memory."""
    response = await http.send(request, auth=auth, stream=True)
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= _MAX_ANSWER_BYTES:
                break
    finally:
        await response.aclose()
    dropped = {"content-encoding", "content-length", "transfer-encoding"}  # the body below is decoded and cut
    headers = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in dropped]
    content = bytes(body[:_MAX_ANSWER_BYTES])
    return httpx.Response(response.status_code, headers=headers, content=content, request=request)


def _transport_failure(exc: BaseException, url: httpx.URL, timeout_s: float) -> DeliveryResult:
    """The one mapping of transport errors to results; the reason names the host, never the path or query."""
    # httpx-aiohttp maps every aiohttp connection error to ConnectTimeout; the original says what happened.
    cause = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc
    origin = f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"
    if isinstance(cause, TimeoutError | httpx.TimeoutException):
        return DeliveryResult(DeliveryStatus.RETRY, f"no answer from {origin} within {timeout_s:g} s")
    detail = _without_url(str(cause), url) or type(cause).__name__
    if isinstance(cause, httpx.UnsupportedProtocol | aiohttp.InvalidURL):
        return DeliveryResult(DeliveryStatus.FAILED, f"the channel url cannot be used: {detail}")
    if isinstance(cause, httpx.ConnectError | aiohttp.ClientConnectorError | ConnectionRefusedError):
        return DeliveryResult(DeliveryStatus.RETRY, f"could not connect to {origin}: {detail}")
    return DeliveryResult(DeliveryStatus.RETRY, f"connection to {origin} failed: {type(cause).__name__}: {detail}")


def _without_url(text: str, url: httpx.URL) -> str:
    """``text`` with the url's path and query cut out: they may hold a channel's token."""
    for piece in sorted({str(url), url.raw_path.decode("ascii", "replace"), url.path}, key=len, reverse=True):
        if len(piece) > 1:
            text = text.replace(piece, "…")
    return text.strip()
