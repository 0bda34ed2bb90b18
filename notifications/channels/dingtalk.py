"""DingTalk custom group robot (钉钉自定义机器人): text, markdown or actionCard, signed with 加签.

    POST {url}&timestamp=<epoch ms>&sign=<base64 HMAC-SHA256 of "<ms>\\n<secret>", URL-encoded once>
    {"msgtype": "text",       "text": {"content"},                                  "at": {...}}
    {"msgtype": "markdown",   "markdown": {"title", "text"},                        "at": {...}}
    {"msgtype": "actionCard", "actionCard": {"title", "text", "singleTitle", "singleURL"}}
    "at": {"atMobiles": [...], "atUserIds": [...], "isAtAll": false}

DingTalk answers HTTP 200 with an ``errcode`` (0: sent). Only text and markdown carry
``at``, so a rich message that must @-mention someone is markdown with the ack link as
a link; a rich message to the whole group with an ack link is an actionCard whose one
button is the ack link. The whole JSON body is kept within 20,000 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal
from urllib.parse import parse_qs, quote

import httpx
from pydantic import Field, SecretStr

from muster.errors import ChannelError
from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_settings, channel_url
from notifications.credentials import credential_fingerprint
from notifications.fitting import batch_text, fitted_content
from notifications.framing import ACK_LABELS, checked_language, drill_title, framed_text
from notifications.group_robots import errcode_result, mentioned, split_mentions
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.outbound import compact_json, json_post, rebuilt_request

__all__ = ["DingTalkChannel", "DingTalkConfig", "DingTalkSignAuth", "dingtalk_sign"]

# The facts of this API.
TYPE: Final = "dingtalk"
MAX_MESSAGE_BYTES: Final = 20_000  # the whole JSON body, UTF-8; errcode 460101 beyond
RATE_LIMITS: Final = (RateLimit(20, 60),)  # per robot; errcode 130101 beyond, then throttled 10 minutes
THROTTLED_S: Final = 600.0
MAX_BATCH: Final = 50  # people @-mentioned in one message (no published cap; a screenful of names)
SIGNATURE_WINDOW_S: Final = 3600  # the timestamp must be within 1 hour of DingTalk's clock
USER_AGENT: Final = "Muster-DingTalk/1"
EXPECTED_URL: Final = (
    "the robot's webhook address with its access_token, e.g. https://oapi.dingtalk.com/robot/send?access_token=…"
)
# errcode -> what it means for delivery, and what to do.
ERRCODES: Final[Mapping[int, tuple[DeliveryStatus, str]]] = {
    -1: (DeliveryStatus.RETRY, "DingTalk is busy"),
    130101: (DeliveryStatus.RATE_LIMITED, "more than 20 messages a minute: DingTalk throttles the robot 10 minutes"),
    410100: (DeliveryStatus.RATE_LIMITED, "sending too fast"),
    310000: (
        DeliveryStatus.FAILED,
        "refused by the robot's security settings: check the 加签 secret, this machine's clock, "
        "the robot's keywords and its IP allow-list",
    ),
    460101: (DeliveryStatus.FAILED, "message over 20,000 bytes"),
    300001: (DeliveryStatus.FAILED, "unknown access_token: check the robot's webhook url"),
    400101: (DeliveryStatus.FAILED, "unknown access_token: check the robot's webhook url"),
    400102: (DeliveryStatus.FAILED, "the robot is disabled: enable it in the group settings"),
    400106: (DeliveryStatus.FAILED, "the robot no longer exists: configure the new robot's url"),
    400013: (DeliveryStatus.FAILED, "the group was dissolved"),
    400105: (DeliveryStatus.FAILED, "message type not supported"),
    430101: (DeliveryStatus.FAILED, "refused by DingTalk's content checks (unsafe link)"),
    430102: (DeliveryStatus.FAILED, "refused by DingTalk's content checks (text)"),
    430104: (DeliveryStatus.FAILED, "refused by DingTalk's content checks"),
}
RETRY_AFTER_S: Final[Mapping[int, float]] = {130101: THROTTLED_S, 410100: 60.0}


class DingTalkConfig(ChannelConfig):
    """A DingTalk robot: its webhook url (with access_token; hidden in reprs) and its 加签 secret."""

    type: Literal["dingtalk"] = "dingtalk"
    url: str = Field(min_length=1, repr=False, description="https://oapi.dingtalk.com/robot/send?access_token=…")
    secret: SecretStr | None = Field(default=None, description="The robot's 加签 secret (SEC…); None: keywords/IP only")
    at_all: bool = False
    format: Literal["text", "rich"] = "rich"


def dingtalk_sign(secret: SecretStr | str, timestamp_ms: int) -> str:
    """The ``sign`` of one request, base64 and not yet URL-encoded: HMAC-SHA256 of ``"<ms>\\n<secret>"``."""
    key = (secret.get_secret_value() if isinstance(secret, SecretStr) else secret).encode()
    digest = hmac.new(key, b"%d\n%s" % (timestamp_ms, key), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkSignAuth(httpx.Auth):
    """Adds ``timestamp`` and ``sign`` to the query of each attempt, the sign percent-encoded exactly once."""

    def __init__(self, secret: SecretStr, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:
        return "DingTalkSignAuth(secret=SecretStr('**********'))"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign this attempt with the current time in milliseconds."""
        timestamp_ms = int(self._clock() * 1000)
        sign = quote(dingtalk_sign(self._secret, timestamp_ms), safe="")
        kept = [p for p in request.url.query.split(b"&") if p and p.split(b"=")[0] not in (b"timestamp", b"sign")]
        query = b"&".join([*kept, b"timestamp=%d" % timestamp_ms, b"sign=" + sign.encode()])
        yield rebuilt_request(request, url=request.url.copy_with(query=query))


class DingTalkChannel:
    """POST to a DingTalk robot; sign with 加签 when a secret is configured."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = DingTalkConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = MAX_BATCH

    def __init__(self, config: ChannelConfig) -> None:
        settings = channel_settings(config, DingTalkConfig, kind="a DingTalk robot")
        url = channel_url(settings, expected=EXPECTED_URL, accept=lambda url: bool(_access_token(url)))
        token = _access_token(url)
        if settings.secret is not None and not settings.secret.get_secret_value():
            raise ChannelError(f"channel {settings.name!r}: the 加签 secret is empty; set it or remove it")
        self.config: ChannelConfig = settings
        self._settings = settings
        self._token = token
        self._auth = None if settings.secret is None else DingTalkSignAuth(settings.secret)

    def __repr__(self) -> str:
        return f"DingTalkChannel(name={self.config.name!r}, signed={self._auth is not None})"

    def build_request(self, message: Message) -> httpx.Request:
        """The message to the group, @-mentioning its recipient when it has an address."""
        return self._request(message, mentioned([message]))

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """One message to the group @-mentioning every recipient of the batch."""
        first = batch_text(messages, channel=self.config.name, max_batch=MAX_BATCH)
        return self._request(first, mentioned(messages))

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """Read the errcode: 0 sent; 130101 throttled; 310000, 460101 and unknown codes failed for good."""
        secret = self._settings.secret
        credentials = [self._token, *([secret.get_secret_value()] if secret else [])]
        return errcode_result(
            response, vendor="DingTalk", errcodes=ERRCODES, waits=RETRY_AFTER_S, credentials=credentials
        )

    def pacing_key(self, message: Message) -> str:
        """The robot: a fingerprint of its access_token."""
        return f"{TYPE}:{credential_fingerprint(self._token)}"

    def auth(self) -> httpx.Auth | None:
        """加签 when a secret is configured."""
        return self._auth

    def _request(self, message: Message, mentions: list[str]) -> httpx.Request:
        checked_language(message)
        render = self._renderer(message, mentions)
        remedy = "shorten its subject or ack link, or mention fewer people"
        content = fitted_content(message, render, MAX_MESSAGE_BYTES, channel=self.config.name, remedy=remedy)
        return json_post(self._settings.url, content, user_agent=USER_AGENT)

    def _renderer(self, message: Message, mentions: list[str]) -> Callable[[str], bytes]:
        """How the message renders around a given body: text, markdown or actionCard."""
        at_all = self._settings.at_all
        mobiles, user_ids = split_mentions(mentions)
        at = {"atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": at_all}
        tags = " ".join(f"@{a}" for a in mentions)
        title = drill_title(message)
        label = ACK_LABELS[message.language]

        def text(body: str) -> dict[str, Any]:
            framed = framed_text(message, body)
            return {"msgtype": "text", "text": {"content": framed + (f"\n{tags}" if tags else "")}, "at": at}

        def markdown(body: str) -> dict[str, Any]:
            lines = [f"#### {title}", _markdown_paragraphs(body)]
            if message.ack_url:
                lines.append(f"[{label}]({message.ack_url})")
            if tags:
                lines.append(tags)
            return {"msgtype": "markdown", "markdown": {"title": title, "text": "\n\n".join(lines)}, "at": at}

        def action_card(body: str) -> dict[str, Any]:
            card = {
                "title": title,
                "text": f"#### {title}\n\n{_markdown_paragraphs(body)}",
                "singleTitle": label,
                "singleURL": message.ack_url,
            }
            return {"msgtype": "actionCard", "actionCard": card}

        if self._settings.format == "text":
            form = text
        elif message.ack_url and not mentions and not at_all:
            form = action_card  # actionCard carries no "at": only for messages to the whole group
        else:
            form = markdown
        return lambda body: compact_json(form(body))


def _access_token(url: httpx.URL) -> str:
    """The robot's access_token in its webhook url's query, or ""."""
    return parse_qs(url.query.decode()).get("access_token", [""])[0]


def _markdown_paragraphs(body: str) -> str:
    """The body's line breaks kept in DingTalk markdown (a single newline would be joined)."""
    return "  \n".join(body.splitlines())
