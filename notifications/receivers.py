"""Receivers Muster signs for: the generic webhook and a plan's http targets.

They read Muster's own JSON, publish no limits, answer in HTTP statuses, and check
Standard Webhooks signatures when a secret is configured. ``ReceiverChannel`` is
what both channels share; each adds only ``build_request``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import httpx

from muster.errors import ChannelError
from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_url
from notifications.http_status import result_for_status
from notifications.message import DeliveryResult, Message
from notifications.signing import StandardWebhooksAuth

__all__ = ["ReceiverChannel"]


class ReceiverChannel:
    """POST to ``config.url``, one recipient a request; signed when ``config.secret`` is set."""

    type_name: ClassVar[str]
    label: ClassVar[str] = "channel"  # how errors name a configured receiver
    config_model: ClassVar[type[ChannelConfig]] = ChannelConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()  # our own receivers publish none
    max_batch: ClassVar[int] = 1

    def __init__(self, config: ChannelConfig) -> None:
        # Parsed once: every request is built on it, so no message parses the url again.
        self._url = channel_url(config, expected="an http:// or https:// address with a host", label=self.label)
        try:
            self._auth = None if config.secret is None else StandardWebhooksAuth(config.secret)
        except ChannelError as exc:
            raise ChannelError(f"{self.label} {config.name!r}: {exc}") from None
        self.config = config

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.config.name!r}, signed={self._auth is not None})"

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """2xx delivered; 429 rate limited; 408/425/5xx retry; other answers failed for good."""
        return result_for_status(response)

    def pacing_key(self, message: Message) -> str:
        """One budget per configured endpoint."""
        return self.config.name

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """Not batched: one recipient per request."""
        raise ChannelError(f"{self.type_name} does not batch messages")

    def auth(self) -> httpx.Auth | None:
        """Standard Webhooks signing when a secret is configured."""
        return self._auth
