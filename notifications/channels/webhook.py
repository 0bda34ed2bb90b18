"""Generic webhook: Muster's own JSON message POSTed to any URL, signed with Standard Webhooks.

The payload::

    {"type": "muster.message", "incident_id", "step_id", "delivery_key",
     "recipient": {"id", "name", "address", "role"}, "language", "subject",
     "text": <framed text>, "drill", "ack_url", "severity"}

``webhook-id`` is derived from the delivery key, so every attempt of one delivery
carries the same id and a receiver can drop repeats.
"""

from __future__ import annotations

from typing import ClassVar, Final

import httpx

from muster.errors import ChannelError
from notifications.fitting import fit_body
from notifications.framing import framed_text
from notifications.message import Message
from notifications.outbound import compact_json, json_post
from notifications.receivers import ReceiverChannel
from notifications.signing import webhook_id

__all__ = ["WebhookChannel", "webhook_id"]

# The facts of this API.
TYPE: Final = "webhook"
PAYLOAD_TYPE: Final = "muster.message"
MAX_BODY_BYTES: Final = 64 * 1024  # the whole JSON body, UTF-8
TRUNCATED_MARKER: Final = "…(truncated)"
USER_AGENT: Final = "Muster-Webhook/1"


def _payload(message: Message, body: str) -> bytes:
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
        "text": framed_text(message, body),
        "drill": message.drill,
        "ack_url": message.ack_url,
        "severity": message.severity,
    }
    return compact_json(document)


class WebhookChannel(ReceiverChannel):
    """POST the message as JSON to ``config.url``; sign it when ``config.secret`` is set."""

    type_name: ClassVar[str] = TYPE
    max_body_bytes: ClassVar[int] = MAX_BODY_BYTES

    def build_request(self, message: Message) -> httpx.Request:
        """The signed-to-be POST; the text is cut with a marker so the body fits ``MAX_BODY_BYTES``."""
        content = _payload(message, message.body)
        if len(content) > MAX_BODY_BYTES:  # rare: rendered again only to cut the body
            body = fit_body(message.body, lambda b: len(_payload(message, b)) <= MAX_BODY_BYTES, TRUNCATED_MARKER)
            if body is None:
                raise ChannelError(
                    f"channel {self.config.name!r}: message {message.delivery_key} is over {MAX_BODY_BYTES} bytes "
                    "even with an empty body; shorten its subject, address or ack link"
                )
            content = _payload(message, body)
        headers = {"content-type": "application/json", "webhook-id": webhook_id(message.delivery_key)}
        return json_post(self._url, content, user_agent=USER_AGENT, headers=headers)
