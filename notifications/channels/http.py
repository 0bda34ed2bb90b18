"""Outside systems (sirens, public broadcast, a city platform) called by a plan's `http` steps.

The message body is a JSON object rendered by the plan; it is POSTed as it is,
signed with Standard Webhooks when a secret is set. Answers map like a webhook's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar, Final

import httpx

from muster.errors import ChannelError
from notifications.channel import RateLimit
from notifications.channels.webhook import webhook_id
from notifications.config import ChannelConfig
from notifications.http_status import result_for_status
from notifications.message import DeliveryResult, Message
from notifications.signing import StandardWebhooksAuth

__all__ = ["HttpTargetChannel"]

TYPE: Final = "http"
MAX_BODY_BYTES: Final = 256 * 1024
USER_AGENT: Final = "Muster-Http/1"


class HttpTargetChannel:
    """POST a plan's JSON body to ``config.url``; the same delivery key gives the same ``webhook-id``."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = ChannelConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()  # our own receivers publish none
    max_batch: ClassVar[int] = 1
    max_body_bytes: ClassVar[int] = MAX_BODY_BYTES

    def __init__(self, config: ChannelConfig) -> None:
        url = httpx.URL(config.url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ChannelError(f"http target {config.name!r}: url must be an http:// or https:// address with a host")
        try:
            self._auth = None if config.secret is None else StandardWebhooksAuth(config.secret)
        except ChannelError as exc:
            raise ChannelError(f"http target {config.name!r}: {exc}") from None
        self.config = config

    def __repr__(self) -> str:
        return f"HttpTargetChannel(name={self.config.name!r}, signed={self._auth is not None})"

    def build_request(self, message: Message) -> httpx.Request:
        """The POST of the message body, which must be a JSON object."""
        try:
            document = json.loads(message.body)
        except json.JSONDecodeError as exc:
            raise ChannelError(f"http target {self.config.name!r}: the body is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ChannelError(f"http target {self.config.name!r}: the body must be a JSON object")
        document.setdefault("incident_id", message.incident_id)
        document.setdefault("drill", message.drill)
        content = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        if len(content) > MAX_BODY_BYTES:
            raise ChannelError(f"http target {self.config.name!r}: body is over {MAX_BODY_BYTES} bytes")
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id(message.delivery_key),
            "idempotency-key": message.delivery_key,
        }
        return httpx.Request("POST", self.config.url, content=content, headers=headers)

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """2xx done; 429 rate limited; 408/425/5xx retry; other answers failed for good."""
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
