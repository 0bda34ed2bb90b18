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

The body fitting, batch check and answer helpers below are shared with the other group
robots (WeCom, Feishu) and Aliyun SMS until they have a neutral home.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal
from urllib.parse import parse_qs, quote

import httpx
from pydantic import Field, SecretStr, ValidationError

from muster.errors import ChannelError, TemplateError
from notifications.channel import RateLimit
from notifications.config import ChannelConfig
from notifications.framing import DRILL_MARKERS, LANGUAGES, frame_message
from notifications.http_status import body_snippet, result_for_status
from notifications.message import DeliveryResult, DeliveryStatus, Message

__all__ = [
    "DingTalkChannel",
    "DingTalkConfig",
    "DingTalkSignAuth",
    "batch_text",
    "checked_language",
    "credential_fingerprint",
    "dingtalk_sign",
    "drill_title",
    "fit_body",
    "json_answer",
    "rebuilt_request",
    "unreadable_answer",
    "without_credentials",
]

# The facts of this API.
TYPE: Final = "dingtalk"
MAX_MESSAGE_BYTES: Final = 20_000  # the whole JSON body, UTF-8; errcode 460101 beyond
RATE_LIMITS: Final = (RateLimit(20, 60),)  # per robot; errcode 130101 beyond, then throttled 10 minutes
THROTTLED_S: Final = 600.0
MAX_BATCH: Final = 50  # people @-mentioned in one message (no published cap; a screenful of names)
SIGNATURE_WINDOW_S: Final = 3600  # the timestamp must be within 1 hour of DingTalk's clock
USER_AGENT: Final = "Muster-DingTalk/1"
ACK_LABELS: Final = {"zh": "确认收到", "en": "Acknowledge"}
TRUNCATED_MARKERS: Final = {"zh": "…（正文过长，已截断）", "en": "…(truncated)"}
MOBILE: Final = re.compile(r"\+?\d{5,15}")  # an address of digits is a mobile number, else a user id
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


def rebuilt_request(
    request: httpx.Request, *, url: httpx.URL | None = None, content: bytes | None = None
) -> httpx.Request:
    """A copy of ``request`` with another url or body; the original stays as built, for the next attempt."""
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
    return httpx.Request(
        request.method,
        request.url if url is None else url,
        headers=headers,
        content=request.content if content is None else content,
        extensions=request.extensions,
    )


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


def credential_fingerprint(credential: str) -> str:
    """A short stable name for a token or key that does not reveal it."""
    return hashlib.sha256(credential.encode()).hexdigest()[:16]


def fit_body(body: str, fits: Callable[[str], bool], marker: str) -> str | None:
    """``body`` if it fits, else its longest prefix that fits with ``marker`` after it; None if nothing fits."""
    if fits(body):
        return body
    if not fits(marker):
        return None
    kept, too_long = 0, len(body)  # the longest prefix that fits, by bisection
    while too_long - kept > 1:
        middle = (kept + too_long) // 2
        if fits(body[:middle] + marker):
            kept = middle
        else:
            too_long = middle
    return body[:kept] + marker


def batch_text(messages: Sequence[Message], *, channel: str, max_batch: int) -> Message:
    """The first message of a batch, once every message is checked to say the same on the same channel."""
    if not messages:
        raise ChannelError(f"channel {channel!r}: a batch needs at least one message")
    if len(messages) > max_batch:
        raise ChannelError(f"channel {channel!r}: {len(messages)} messages in one batch, at most {max_batch}")
    first = messages[0]
    same = (first.channel, first.language, first.subject, first.body, first.drill, first.ack_url)
    for message in messages[1:]:
        if (message.channel, message.language, message.subject, message.body, message.drill, message.ack_url) != same:
            raise ChannelError(
                f"channel {channel!r}: message {message.delivery_key} differs from {first.delivery_key}; "
                "one request carries only messages with the same channel, language, subject, body, drill and ack link"
            )
    return first


def checked_language(message: Message) -> str:
    """The message's language, or TemplateError when Muster has no frame for it."""
    if message.language not in LANGUAGES:
        raise TemplateError(f"no message frame for language {message.language!r}; use one of {', '.join(LANGUAGES)}")
    return message.language


def drill_title(message: Message, markers: Mapping[str, str] = DRILL_MARKERS) -> str:
    """The subject led by the drill marker when it is a drill: "【演练】火灾", "[DRILL] Fire"."""
    if not message.drill:
        return message.subject
    marker = markers[message.language]
    return f"{marker} {message.subject}" if marker[-1].isascii() else marker + message.subject


def without_credentials(text: str, credentials: Sequence[str]) -> str:
    """``text`` with every credential cut out, so no token or key reaches a reason."""
    for credential in credentials:
        if len(credential) >= 4:
            text = text.replace(credential, "…")
    return text


def json_answer(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON object, or None when the body is not one."""
    try:
        document = json.loads(response.content)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def unreadable_answer(response: httpx.Response, vendor: str) -> DeliveryResult:
    """An answer without the vendor's code: HTTP status decides, and a 2xx from something else fails."""
    result = result_for_status(response)
    if result.status is not DeliveryStatus.DELIVERED:
        return result
    snippet = body_snippet(response) or "an empty body"
    return DeliveryResult(
        DeliveryStatus.FAILED,
        f"HTTP {response.status_code} but not a {vendor} answer ({snippet}); check that the channel url is {vendor}'s",
        response.status_code,
    )


class DingTalkChannel:
    """POST to a DingTalk robot; sign with 加签 when a secret is configured."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = DingTalkConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = MAX_BATCH

    def __init__(self, config: ChannelConfig) -> None:
        try:
            settings = config if isinstance(config, DingTalkConfig) else DingTalkConfig(**dict(config))
        except ValidationError as exc:
            raise ChannelError(f"channel {config.name!r}: not a DingTalk robot configuration: {exc}") from None
        url = httpx.URL(settings.url)
        token = parse_qs(url.query.decode()).get("access_token", [""])[0]
        if url.scheme not in ("http", "https") or not url.host or not token:
            raise ChannelError(
                f"channel {settings.name!r}: url must be the robot's webhook address with its access_token, "
                "e.g. https://oapi.dingtalk.com/robot/send?access_token=…"
            )
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
        return self._request(message, [message.address] if message.address else [])

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """One message to the group @-mentioning every recipient of the batch."""
        first = batch_text(messages, channel=self.config.name, max_batch=MAX_BATCH)
        return self._request(first, list(dict.fromkeys(m.address for m in messages if m.address)))

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """Read the errcode: 0 sent; 130101 throttled; 310000, 460101 and unknown codes failed for good."""
        answer = json_answer(response)
        code = None if answer is None else answer.get("errcode")
        if not isinstance(code, int) or isinstance(code, bool):
            result = unreadable_answer(response, "DingTalk robot")
            return DeliveryResult(result.status, self._scrubbed(result.reason), result.http_status, result.retry_after)
        if code == 0:
            return DeliveryResult(DeliveryStatus.DELIVERED, "DingTalk errcode 0 (ok)", response.status_code)
        status, meaning = ERRCODES.get(code, (DeliveryStatus.FAILED, "not a code Muster knows"))
        errmsg = " ".join(str((answer or {}).get("errmsg", "")).split())[:200]
        reason = self._scrubbed(f"DingTalk errcode {code} ({errmsg}): {meaning}")
        return DeliveryResult(status, reason, response.status_code, RETRY_AFTER_S.get(code))

    def pacing_key(self, message: Message) -> str:
        """The robot: a fingerprint of its access_token."""
        return f"{TYPE}:{credential_fingerprint(self._token)}"

    def auth(self) -> httpx.Auth | None:
        """加签 when a secret is configured."""
        return self._auth

    def _scrubbed(self, text: str) -> str:
        secret = self._settings.secret
        return without_credentials(text, [self._token, *([secret.get_secret_value()] if secret else [])])

    def _request(self, message: Message, mentions: list[str]) -> httpx.Request:
        language = checked_language(message)
        render = self._renderer(message, mentions)
        body = fit_body(message.body, lambda b: len(render(b)) <= MAX_MESSAGE_BYTES, TRUNCATED_MARKERS[language])
        if body is None:
            raise ChannelError(
                f"channel {self.config.name!r}: message {message.delivery_key} is over {MAX_MESSAGE_BYTES} bytes "
                "even with an empty body; shorten its subject or ack link, or mention fewer people"
            )
        headers = {"content-type": "application/json; charset=utf-8", "user-agent": USER_AGENT}
        return httpx.Request("POST", self._settings.url, content=render(body), headers=headers)

    def _renderer(self, message: Message, mentions: list[str]) -> Callable[[str], bytes]:
        """How the message renders around a given body: text, markdown or actionCard."""
        at_all = self._settings.at_all
        mobiles = [a for a in mentions if MOBILE.fullmatch(a)]
        at = {"atMobiles": mobiles, "atUserIds": [a for a in mentions if a not in mobiles], "isAtAll": at_all}
        tags = " ".join(f"@{a}" for a in mentions)
        title = drill_title(message)
        label = ACK_LABELS[message.language]

        def text(body: str) -> dict[str, Any]:
            framed = frame_message(
                body=body,
                subject=message.subject,
                language=message.language,
                drill=message.drill,
                ack_url=message.ack_url,
            )
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
        return lambda body: json.dumps(form(body), ensure_ascii=False, separators=(",", ":")).encode()


def _markdown_paragraphs(body: str) -> str:
    """The body's line breaks kept in DingTalk markdown (a single newline would be joined)."""
    return "  \n".join(body.splitlines())
