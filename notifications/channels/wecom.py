"""WeCom group robot (企业微信群机器人): text or markdown, the key in the url is the credential.

    POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY
    {"msgtype": "text", "text": {"content" ≤ 2048 bytes, "mentioned_list", "mentioned_mobile_list"}}
    {"msgtype": "markdown", "markdown": {"content" ≤ 4096 bytes}}        (mentions as <@userid>)

WeCom answers HTTP 200 with an ``errcode`` (0: sent). Markdown can mention people only by
user id, so a rich message that must reach someone by mobile number goes as text, whose
``mentioned_mobile_list`` rings them: reaching the responder matters more than the layout.
The key is never shown: the config hides the url in reprs and reasons have it cut out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal
from urllib.parse import parse_qs

import httpx
from pydantic import Field

from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_settings, channel_url
from notifications.credentials import credential_fingerprint
from notifications.fitting import batch_text, fitted_content
from notifications.framing import ACK_LABELS, checked_language, drill_title, framed_text
from notifications.group_robots import MOBILE, errcode_result, mentioned, split_mentions
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.outbound import compact_json, json_post

__all__ = ["WeComChannel", "WeComConfig"]

# The facts of this API.
TYPE: Final = "wecom"
MAX_TEXT_BYTES: Final = 2048  # text.content, UTF-8
MAX_MARKDOWN_BYTES: Final = 4096  # markdown.content, UTF-8
RATE_LIMITS: Final = (RateLimit(20, 60),)  # per robot; errcode 45009 beyond
RATE_LIMITED_WAIT_S: Final = 60.0  # the limit is per minute
MAX_BATCH: Final = 50  # people mentioned in one message (no published cap)
USER_AGENT: Final = "Muster-WeCom/1"
EXPECTED_URL: Final = (
    "the robot's webhook address with its key, e.g. https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
)
# errcode -> what it means for delivery, and what to do.
ERRCODES: Final[Mapping[int, tuple[DeliveryStatus, str]]] = {
    -1: (DeliveryStatus.RETRY, "WeCom is busy"),
    45009: (DeliveryStatus.RATE_LIMITED, "more than 20 messages a minute to this robot"),
    45033: (DeliveryStatus.RATE_LIMITED, "too many concurrent calls"),
    93000: (DeliveryStatus.FAILED, "invalid webhook url: the robot's key is wrong or the robot was removed"),
    40008: (DeliveryStatus.FAILED, "message type not supported"),
    40058: (DeliveryStatus.FAILED, "a parameter was refused (content too long or malformed)"),
    44004: (DeliveryStatus.FAILED, "empty content"),
}
RETRY_AFTER_S: Final[Mapping[int, float]] = {45009: RATE_LIMITED_WAIT_S}

_MsgType = Literal["text", "markdown"]


class WeComConfig(ChannelConfig):
    """A WeCom robot: its webhook url, whose key is the credential (hidden in reprs); no signing secret."""

    type: Literal["wecom"] = "wecom"
    url: str = Field(min_length=1, repr=False, description="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…")
    secret: None = Field(default=None, description="WeCom robots are not signed: the key in the url is the credential")
    format: Literal["text", "rich"] = "rich"


class WeComChannel:
    """POST to a WeCom group robot."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = WeComConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = MAX_BATCH

    def __init__(self, config: ChannelConfig) -> None:
        settings = channel_settings(config, WeComConfig, kind="a WeCom robot")
        key = _key(channel_url(settings, expected=EXPECTED_URL, accept=lambda url: bool(_key(url))))
        self.config: ChannelConfig = settings
        self._settings = settings
        self._key = key

    def __repr__(self) -> str:
        return f"WeComChannel(name={self.config.name!r})"

    def build_request(self, message: Message) -> httpx.Request:
        """The message to the group, mentioning its recipient when it has an address."""
        return self._request(message, mentioned([message]))

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """One message to the group mentioning every recipient of the batch."""
        first = batch_text(messages, channel=self.config.name, max_batch=MAX_BATCH)
        return self._request(first, mentioned(messages))

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """Read the errcode: 0 sent; 45009 rate limited; 93000 and unknown codes failed for good."""
        return errcode_result(response, vendor="WeCom", errcodes=ERRCODES, waits=RETRY_AFTER_S, credentials=[self._key])

    def pacing_key(self, message: Message) -> str:
        """The robot: a fingerprint of its key."""
        return f"{TYPE}:{credential_fingerprint(self._key)}"

    def auth(self) -> httpx.Auth | None:
        """None: the key in the url is the credential."""
        return None

    def _request(self, message: Message, mentions: list[str]) -> httpx.Request:
        checked_language(message)
        msgtype, render, limit = self._renderer(message, mentions)
        content = fitted_content(message, render, limit, channel=self.config.name)
        document = _document(msgtype, content.decode(), mentions)
        return json_post(self._settings.url, compact_json(document), user_agent=USER_AGENT)

    def _renderer(self, message: Message, mentions: list[str]) -> tuple[_MsgType, Callable[[str], bytes], int]:
        """The message type, how its content renders around a given body, and its limit in bytes."""
        by_mobile = any(MOBILE.fullmatch(a) for a in mentions)
        if self._settings.format == "rich" and not by_mobile:
            title = drill_title(message)
            label = ACK_LABELS[message.language]

            def markdown(body: str) -> bytes:
                lines = [f"### {title}", body]
                if message.ack_url:
                    lines.append(f"[{label}]({message.ack_url})")
                if mentions:
                    lines.append(" ".join(f"<@{a}>" for a in mentions))
                return "\n".join(lines).encode()

            return "markdown", markdown, MAX_MARKDOWN_BYTES

        def text(body: str) -> bytes:
            return framed_text(message, body).encode()

        return "text", text, MAX_TEXT_BYTES


def _key(url: httpx.URL) -> str:
    """The robot's key in its webhook url's query, or ""."""
    return parse_qs(url.query.decode()).get("key", [""])[0]


def _document(msgtype: _MsgType, content: str, mentions: list[str]) -> dict[str, Any]:
    if msgtype == "markdown":
        return {"msgtype": "markdown", "markdown": {"content": content}}
    mobiles, user_ids = split_mentions(mentions)
    text = {"content": content, "mentioned_list": user_ids, "mentioned_mobile_list": mobiles}
    return {"msgtype": "text", "text": text}
