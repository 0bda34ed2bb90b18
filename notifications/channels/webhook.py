"""Generic webhook: Muster's own JSON message POSTed to any URL, signed with Standard Webhooks.

The payload::

    {"type": "muster.message", "incident_id", "step_id", "delivery_key",
     "recipient": {"id", "name", "address", "role"}, "language", "subject",
     "text": <framed text>, "drill", "ack_url", "severity"}

``webhook-id`` is derived from the delivery key, so every attempt of one delivery
carries the same id and a receiver can drop repeats.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import ClassVar, Final

import httpx

from muster.errors import ChannelError
from notifications.channel import RateLimit
from notifications.config import ChannelConfig
from notifications.framing import frame_message
from notifications.http_status import result_for_status
from notifications.message import DeliveryResult, Message
from notifications.signing import StandardWebhooksAuth

__all__ = ["WebhookChannel", "webhook_id"]

# The facts of this API.
TYPE: Final = "webhook"
PAYLOAD_TYPE: Final = "muster.message"
MAX_BODY_BYTES: Final = 64 * 1024  # the whole JSON body, UTF-8
TRUNCATED_MARKER: Final = "…(truncated)"
USER_AGENT: Final = "Muster-Webhook/1"


def webhook_id(delivery_key: str) -> str:
    """The ``webhook-id`` of a delivery: stable across retries, opaque to the receiver."""
    return "msg_" + hashlib.sha256(delivery_key.encode()).hexdigest()[:24]


def _payload(message: Message, body: str) -> bytes:
    text = frame_message(
        body=body, subject=message.subject, language=message.language, drill=message.drill, ack_url=message.ack_url
    )
    document = {
        "type": PAYLOAD_TYPE,
        "incident_id": message.incident_id,
        "step_id": message.step_id,
        "delivery_key": message.delivery_key,
        "recipient": {
            "id": message.recipient_id,
            "name": message.recipient_name,
            "address": message.address,
            "role": message.role,
        },
        "language": message.language,
        "subject": message.subject,
        "text": text,
        "drill": message.drill,
        "ack_url": message.ack_url,
        "severity": message.severity,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookChannel:
    """POST the message as JSON to ``config.url``; sign it when ``config.secret`` is set."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = ChannelConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()  # our own receivers publish none
    max_batch: ClassVar[int] = 1
    max_body_bytes: ClassVar[int] = MAX_BODY_BYTES

    def __init__(self, config: ChannelConfig) -> None:
        try:
            url = httpx.URL(config.url)
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise ChannelError(f"channel {config.name!r}: url must be an http:// or https:// address with a host")
        try:
            self._auth = None if config.secret is None else StandardWebhooksAuth(config.secret)
        except ChannelError as exc:
            raise ChannelError(f"channel {config.name!r}: {exc}") from None
        self.config = config

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.config.name!r}, signed={self._auth is not None})"

    def build_request(self, message: Message) -> httpx.Request:
        """The signed-to-be POST; the text is cut with a marker so the body fits ``MAX_BODY_BYTES``."""
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id(message.delivery_key),
        }
        return httpx.Request("POST", self.config.url, content=self._fitted_payload(message), headers=headers)

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

    def _fitted_payload(self, message: Message) -> bytes:
        payload = _payload(message, message.body)
        if len(payload) <= MAX_BODY_BYTES:
            return payload

        def cut(length: int) -> bytes:
            return _payload(message, message.body[:length] + TRUNCATED_MARKER)

        if len(cut(0)) > MAX_BODY_BYTES:
            raise ChannelError(
                f"channel {self.config.name!r}: message {message.delivery_key} is over {MAX_BODY_BYTES} bytes "
                "even with an empty body; shorten its subject, address or ack link"
            )
        fits, too_long = 0, len(message.body)  # the longest body prefix that fits, by bisection
        while too_long - fits > 1:
            middle = (fits + too_long) // 2
            if len(cut(middle)) <= MAX_BODY_BYTES:
                fits = middle
            else:
                too_long = middle
        return cut(fits)
