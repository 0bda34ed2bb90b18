"""Outside systems (sirens, public broadcast, a city platform) called by a plan's `http` steps.

The message body is a JSON object rendered by the plan; it is POSTed as it is,
signed with Standard Webhooks when a secret is set. Answers map like a webhook's.
"""

from __future__ import annotations

import json
from typing import ClassVar, Final

import httpx

from muster.errors import ChannelError
from notifications.message import Message
from notifications.outbound import compact_json, json_post
from notifications.receivers import ReceiverChannel
from notifications.signing import webhook_id

__all__ = ["HttpTargetChannel"]

TYPE: Final = "http"
MAX_BODY_BYTES: Final = 256 * 1024
USER_AGENT: Final = "Muster-Http/1"


class HttpTargetChannel(ReceiverChannel):
    """POST a plan's JSON body to ``config.url``; the same delivery key gives the same ``webhook-id``."""

    type_name: ClassVar[str] = TYPE
    label: ClassVar[str] = "http target"
    max_body_bytes: ClassVar[int] = MAX_BODY_BYTES

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
        content = compact_json(document)
        if len(content) > MAX_BODY_BYTES:
            raise ChannelError(f"http target {self.config.name!r}: body is over {MAX_BODY_BYTES} bytes")
        headers = {
            "content-type": "application/json",
            "webhook-id": webhook_id(message.delivery_key),
            "idempotency-key": message.delivery_key,
        }
        return json_post(self._url, content, user_agent=USER_AGENT, headers=headers)
