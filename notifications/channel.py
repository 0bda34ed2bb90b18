"""The channel seam: turn a message into a request, and a response into a result.

A channel does no I/O. ``deliver()`` owns sending, timeouts, retries and the
mapping of transport errors, so a new API is one module of pure functions under
``notifications/channels/`` plus a line in the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import httpx

from notifications.config import ChannelConfig
from notifications.message import DeliveryResult, Message

__all__ = ["Channel", "RateLimit"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A vendor's published limit: at most ``count`` requests per ``per_s`` seconds per endpoint."""

    count: int
    per_s: float

    @property
    def interval_s(self) -> float:
        """The steady spacing that stays inside the limit."""
        return self.per_s / self.count


class Channel(Protocol):
    """One HTTP messaging API, configured; built by ``build_channel(config)``."""

    config_model: ClassVar[type[ChannelConfig]]  # the channel's own settings: a ChannelConfig subclass
    # Facts of the API, declared as data: limits per endpoint (robot, bot, key), None when unpublished.
    # A channel may list several (e.g. Feishu: 5/s and 100/min); delivery paces inside all of them.
    rate_limits: ClassVar[tuple[RateLimit, ...]]
    # How many recipients one request can reach (a group robot @-mentioning people); 1: no batching.
    max_batch: ClassVar[int]
    config: ChannelConfig

    def __init__(self, config: ChannelConfig) -> None: ...

    def build_request(self, message: Message) -> httpx.Request:
        """The request that delivers ``message``; the same message always builds the same request."""
        ...

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """What the channel's answer means: delivered, retry, rate limited or failed, with why."""
        ...

    def pacing_key(self, message: Message) -> str:
        """The endpoint the rate limits count against (robot token, bot id, account); same key, same budget."""
        ...

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """One request reaching every message's recipient (same text), for channels with ``max_batch`` > 1."""
        ...

    def auth(self) -> httpx.Auth | None:
        """The signing applied to every attempt (fresh timestamp each time), or None."""
        ...
