"""Delivery: fan messages out concurrently, paced, retried, batched, falling back; every attempt recorded.

``deliver`` is the one place that sends for every channel. For each message it asks
the ledger first (a retried or resumed run never sends twice), groups messages a
group robot can carry in one request (@-mentioning everyone), waits for room under
the endpoint's rate limits, attempts up to ``max_attempts`` times within
``max_elapsed_s`` with exponential backoff and full jitter (honouring
``Retry-After``), and when a channel fails for good moves on to the recipient's next
contact point. Transport errors are mapped in ONE place, ``notifications.transport``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Protocol

import httpx

from muster.errors import ChannelError, TemplateError
from notifications.channel import Channel, RateLimit
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.pacing import Pacer
from notifications.transport import DeliveryClient, HttpxDeliveryClient, delivery_client, send_once

__all__ = [
    "BACKOFF_BASE_S",
    "BACKOFF_CAP_S",
    "MAX_RETRY_AFTER_S",
    "DeliveryClient",
    "DeliveryLedger",
    "DeliveryOutcome",
    "deliver",
    "delivery_client",
]

BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0
# A channel that asks for a longer wait fails this delivery now, so the flow can fall back to another channel.
MAX_RETRY_AFTER_S = 60.0
_FINAL = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED})
_ALREADY_DELIVERED = DeliveryResult(DeliveryStatus.DELIVERED, "already delivered")

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
    client: DeliveryClient | httpx.AsyncClient | None = None,
    backoff_base: float = BACKOFF_BASE_S,
    backoff_cap: float = BACKOFF_CAP_S,
    max_retry_after: float = MAX_RETRY_AFTER_S,
    pacer: Pacer | None = None,
) -> list[DeliveryOutcome]:
    """Deliver every message at most once, at most ``concurrency`` requests in flight; outcomes in input order.

    ``client`` is one from ``delivery_client()`` (shared by a run's steps) or any ``httpx.AsyncClient``
    (tests pass one on ``httpx.MockTransport``); without it, one aiohttp client is opened and closed here.
    Messages repeating a delivery key of this batch are sent once and reported as duplicates.
    Pass one ``pacer`` to several calls that share endpoints, so they share the endpoints' budgets.
    Errors of the ledger propagate: a delivery that cannot be recorded must not pass silently.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    backoff = _Backoff(backoff_base, backoff_cap, max_retry_after)
    first_of_key: dict[str, int] = {}
    for index, message in enumerate(messages):
        first_of_key.setdefault(message.delivery_key, index)
    done: dict[str, DeliveryOutcome] = {}
    fresh = []
    for index in first_of_key.values():
        message = messages[index]
        if ledger.already_delivered(message):
            done[message.delivery_key] = DeliveryOutcome(message, _ALREADY_DELIVERED, 0, skipped_as_duplicate=True)
        else:
            fresh.append(message)
    async with _shared_client(client, concurrency) as http:
        run = _Run(channels, http, ledger, asyncio.Semaphore(concurrency), backoff, pacer or Pacer())
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(run.deliver_unit(unit)) for unit in _units(fresh, channels)]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from failed  # the ledger's own error, not a group to unpack
    for task in tasks:
        for outcome in task.result():
            done[outcome.message.delivery_key] = outcome
    outcomes = []
    for index, message in enumerate(messages):
        first = done[message.delivery_key]
        outcomes.append(first if first_of_key[message.delivery_key] == index else _batch_duplicate(message, first))
    return outcomes


def _units(messages: Sequence[Message], channels: Mapping[str, Channel]) -> list[list[Message]]:
    """Messages one request can carry together (same endpoint and text, a batching channel), else one each."""
    units: list[list[Message]] = []
    groups: dict[tuple[object, ...], list[Message]] = defaultdict(list)
    for message in messages:
        channel = channels.get(message.channel)
        if channel is None or channel.max_batch <= 1:
            units.append([message])
            continue
        key = (
            message.channel,
            channel.pacing_key(message),
            message.step_id,
            message.language,
            message.subject,
            message.body,
            message.ack_url,
            message.drill,
        )
        groups[key].append(message)
    for group in groups.values():
        size = channels[group[0].channel].max_batch
        units.extend(group[start : start + size] for start in range(0, len(group), size))
    return units


@asynccontextmanager
async def _shared_client(
    client: DeliveryClient | httpx.AsyncClient | None, concurrency: int
) -> AsyncIterator[DeliveryClient]:
    if isinstance(client, httpx.AsyncClient):
        yield HttpxDeliveryClient(client)
        return
    if client is not None:
        yield client
        return
    async with delivery_client(concurrency) as opened:
        yield opened


def _batch_duplicate(message: Message, first: DeliveryOutcome) -> DeliveryOutcome:
    if first.message.delivery_key == message.delivery_key and first.skipped_as_duplicate:
        return DeliveryOutcome(message, first.result, attempts=0, skipped_as_duplicate=True)
    reason = f"same delivery key as an earlier message in this batch, which ended: {first.result.reason}"
    result = DeliveryResult(first.result.status, reason, first.result.http_status)
    return DeliveryOutcome(message, result, attempts=0, skipped_as_duplicate=True)


@dataclass(frozen=True, slots=True)
class _Run:
    """What one ``deliver`` call shares between its messages."""

    channels: Mapping[str, Channel]
    http: DeliveryClient
    ledger: DeliveryLedger
    slots: asyncio.Semaphore
    backoff: _Backoff
    pacer: Pacer

    async def deliver_unit(self, unit: list[Message]) -> list[DeliveryOutcome]:
        """Send one unit on its channel; each message that failed for good moves on to its next contact."""
        attempts, result = await self._on_channel(unit)
        if len(unit) == 1:  # the common case: no gather, no task more per message
            return [await self._conclude(unit[0], attempts, result)]
        return list(await asyncio.gather(*(self._conclude(m, attempts, result) for m in unit)))

    async def _conclude(self, message: Message, attempts: int, result: DeliveryResult) -> DeliveryOutcome:
        final, tried = message, [f"{message.channel}: {result.reason}"]
        for channel_name, address in message.fallbacks:
            if result.status is DeliveryStatus.DELIVERED:
                break
            final = replace(message, channel=channel_name, address=address)
            more, result = await self._on_channel([final])
            attempts += more
            tried.append(f"{channel_name}: {result.reason}")
        if len(tried) > 1:
            verdict = "delivered on" if result.status is DeliveryStatus.DELIVERED else "failed on every contact;"
            result = replace(result, reason=f"{verdict} {final.channel} after " + " | ".join(tried))
        self.ledger.record_outcome(final, result, attempts)
        return DeliveryOutcome(final, result, attempts, skipped_as_duplicate=False)

    async def _on_channel(self, unit: list[Message]) -> tuple[int, DeliveryResult]:
        channel = self.channels.get(unit[0].channel)
        if channel is None:
            configured = ", ".join(sorted(self.channels)) or "none"
            reason = (
                f"no channel named {unit[0].channel!r} is configured (configured: {configured}); "
                "add it to the channel configuration or correct the recipient's contact"
            )
            return 0, DeliveryResult(DeliveryStatus.FAILED, reason)
        return await self._attempt_until_final(unit, channel)

    async def _attempt_until_final(self, unit: list[Message], channel: Channel) -> tuple[int, DeliveryResult]:
        """Attempt until delivered, failed for good, out of attempts or out of time; a slot is held only to send.

        The request is built once a slot is free, so only the requests in flight are held in memory,
        and reused by every retry (the channel's auth signs each attempt anew).
        """
        config = channel.config
        limits = (
            (RateLimit(config.rate_limit.count, config.rate_limit.per_s),)
            if config.rate_limit
            else (channel.rate_limits)
        )
        endpoint = f"{config.name}:{channel.pacing_key(unit[0])}"
        started = time.monotonic()
        result = DeliveryResult(DeliveryStatus.FAILED, "not attempted")
        request: httpx.Request | None = None
        for attempt in range(1, config.max_attempts + 1):
            await self.pacer.acquire(endpoint, limits)
            async with self.slots:
                if request is None:
                    try:
                        request = _request_for(channel, unit)
                    except (ChannelError, TemplateError) as exc:
                        return 0, DeliveryResult(DeliveryStatus.FAILED, f"could not build the request: {exc}")
                sent = time.monotonic()
                result = await send_once(channel, request, self.http)
                latency_ms = (time.monotonic() - sent) * 1000
            _log.debug("%s attempt %d: %s (%s)", unit[0].delivery_key, attempt, result.status, result.reason)
            for message in unit:
                self.ledger.record_attempt(message, attempt, result, latency_ms)
            if result.status in _FINAL:
                return attempt, result
            if attempt == config.max_attempts:
                break
            if result.retry_after is not None and result.retry_after > self.backoff.max_retry_after:
                reason = (
                    f"gave up after {_attempts(attempt)}: {result.reason}; the channel asked to wait "
                    f"{result.retry_after:g} s, longer than delivery waits ({self.backoff.max_retry_after:g} s)"
                )
                return attempt, DeliveryResult(DeliveryStatus.FAILED, reason, result.http_status)
            delay = self.backoff.delay(attempt, result.retry_after)
            if time.monotonic() - started + delay >= config.max_elapsed_s:
                reason = f"gave up after {_attempts(attempt)} within {config.max_elapsed_s:g} s; last: {result.reason}"
                return attempt, DeliveryResult(DeliveryStatus.FAILED, reason, result.http_status)
            await asyncio.sleep(delay)
        reason = f"gave up after {_attempts(config.max_attempts)}; last: {result.reason}"
        return config.max_attempts, DeliveryResult(DeliveryStatus.FAILED, reason, result.http_status)


def _request_for(channel: Channel, unit: list[Message]) -> httpx.Request:
    return channel.build_batch_request(unit) if len(unit) > 1 else channel.build_request(unit[0])


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"
