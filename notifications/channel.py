"""The channel seam: turn a message into a request, and a response into a result.

A channel does no I/O. ``deliver()`` owns sending, timeouts, retries and the
mapping of transport errors, so a new API is one module of pure functions under
``notifications/channels/`` plus a line in the registry.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from notifications.config import ChannelConfig
from notifications.message import DeliveryResult, Message

__all__ = ["Channel"]


class Channel(Protocol):
    """One HTTP messaging API, configured; built by ``build_channel(config)``."""

    config: ChannelConfig

    def __init__(self, config: ChannelConfig) -> None: ...

    def build_request(self, message: Message) -> httpx.Request:
        """The request that delivers ``message``; the same message always builds the same request."""
        ...

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """What the channel's answer means: delivered, retry, rate limited or failed, with why."""
        ...

    def auth(self) -> httpx.Auth | None:
        """The signing applied to every attempt (fresh timestamp each time), or None."""
        ...
