"""Feishu / Lark custom bot (飞书自定义机器人): text, post or an interactive card with an ack button.

    POST https://open.feishu.cn/open-apis/bot/v2/hook/{id}     (Lark: open.larksuite.com)
    {"msg_type": "text", "content": {"text"}}                 mentions: <at user_id="ou_…">name</at>
    {"msg_type": "post", "content": {"post": {"zh_cn": {"title", "content": [[elements]]}}}}
    {"msg_type": "interactive", "card": {"header", "elements": [div, action{button → ack url}]}}
    signed: + "timestamp": "<seconds>", "sign": base64 HMAC-SHA256 keyed by "<ts>\\n<secret>" of b""

Feishu answers ``{"code": 0, "msg": "success", "data": {}}``. The signature sits in the
JSON body and is fresh on every attempt, so ``FeishuSignAuth`` rebuilds the body per attempt.
Code 19021 (bad signature or timestamp over an hour off) fails at once: the timestamp is
made per attempt, so a retry would carry the same secret and the same clock; only an
operator can fix either, and failing now lets the responder's next contact be tried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

import httpx
from pydantic import Field, SecretStr

from muster.errors import ChannelError
from notifications.answers import answer_excerpt, json_answer
from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_settings, channel_url
from notifications.credentials import credential_fingerprint, without_credentials
from notifications.fitting import batch_text, fitted_content
from notifications.framing import ACK_LABELS, checked_language, drill_title, framed_text
from notifications.http_status import retry_after_seconds, unreadable_answer
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.outbound import compact_json, json_post, rebuilt_request

__all__ = ["FeishuChannel", "FeishuConfig", "FeishuSignAuth", "feishu_sign"]

# The facts of this API.
TYPE: Final = "feishu"
# The custom bot guide: "请求体大小不能超过 20 K" (code 9499 beyond); cards too. Counted on the whole
# body, with room for the timestamp and sign added per attempt.
MAX_BODY_BYTES: Final = 20_000
SIGN_FIELDS_BYTES: Final = len(',"timestamp":"0000000000","sign":"' + "=" * 44 + '"')
RATE_LIMITS: Final = (RateLimit(5, 1), RateLimit(100, 60))  # per bot; code 11232 beyond
RATE_LIMITED_WAIT_S: Final = 1.0  # unless the answer says; the per-second limit is the one usually hit
MAX_BATCH: Final = 50  # people mentioned in one message (no published cap)
SIGNATURE_WINDOW_S: Final = 3600
USER_AGENT: Final = "Muster-Feishu/1"
LOCALES: Final = {"zh": "zh_cn", "en": "en_us"}
EXPECTED_URL: Final = "the bot's webhook address, e.g. https://open.feishu.cn/open-apis/bot/v2/hook/…"
EVERYONE: Final = "all"  # the address that mentions the whole group
# code -> what it means for delivery, and what to do.
CODES: Final[Mapping[int, tuple[DeliveryStatus, str]]] = {
    11232: (DeliveryStatus.RATE_LIMITED, "frequency limited (5 a second, 100 a minute per bot)"),
    19021: (
        DeliveryStatus.FAILED,
        "signature refused: check the bot's secret and that this machine's clock is within an hour of Feishu's",
    ),
    19022: (DeliveryStatus.FAILED, "this machine's IP is not on the bot's allow-list"),
    19024: (DeliveryStatus.FAILED, "the message lacks the bot's custom keyword"),
    19001: (DeliveryStatus.FAILED, "invalid parameter, e.g. an unknown webhook: check the bot's url"),
    9499: (DeliveryStatus.FAILED, "bad request: malformed or over 20 KB"),
}


class FeishuConfig(ChannelConfig):
    """A Feishu or Lark custom bot: its webhook url (hidden in reprs) and its signing secret."""

    type: Literal["feishu"] = "feishu"
    url: str = Field(min_length=1, repr=False, description="https://open.feishu.cn/open-apis/bot/v2/hook/…")
    secret: SecretStr | None = Field(default=None, description="The bot's signature secret; None: unsigned bot")
    format: Literal["text", "rich"] = "rich"


def feishu_sign(secret: SecretStr | str, timestamp: int) -> str:
    """The ``sign`` of one request: base64 HMAC-SHA256 of the empty message keyed by ``"<ts>\\n<secret>"``."""
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return base64.b64encode(hmac.new(f"{timestamp}\n{value}".encode(), b"", hashlib.sha256).digest()).decode()


class FeishuSignAuth(httpx.Auth):
    """Puts a fresh ``timestamp`` (seconds) and its ``sign`` into the JSON body of each attempt."""

    requires_request_body = True

    def __init__(self, secret: SecretStr, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:
        return "FeishuSignAuth(secret=SecretStr('**********'))"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Rebuild the body with this attempt's timestamp and sign."""
        document = json.loads(request.content)
        timestamp = int(self._clock())
        document["timestamp"] = str(timestamp)
        document["sign"] = feishu_sign(self._secret, timestamp)
        yield rebuilt_request(request, content=compact_json(document))


class FeishuChannel:
    """POST to a Feishu or Lark custom bot; sign when a secret is configured."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = FeishuConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = MAX_BATCH

    def __init__(self, config: ChannelConfig) -> None:
        settings = channel_settings(config, FeishuConfig, kind="a Feishu bot")
        hook_id = _hook_id(channel_url(settings, expected=EXPECTED_URL, accept=lambda url: bool(_hook_id(url))))
        if settings.secret is not None and not settings.secret.get_secret_value():
            raise ChannelError(f"channel {settings.name!r}: the signature secret is empty; set it or remove it")
        self.config: ChannelConfig = settings
        self._settings = settings
        self._hook_id = hook_id
        self._auth = None if settings.secret is None else FeishuSignAuth(settings.secret)

    def __repr__(self) -> str:
        return f"FeishuChannel(name={self.config.name!r}, signed={self._auth is not None})"

    def build_request(self, message: Message) -> httpx.Request:
        """The message to the group, mentioning its recipient when it has an address (a user id)."""
        return self._request(message, {message.address: message.recipient_name} if message.address else {})

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """One message to the group mentioning every recipient of the batch."""
        first = batch_text(messages, channel=self.config.name, max_batch=MAX_BATCH)
        mentions: dict[str, str] = {}
        for message in messages:
            if message.address:
                mentions.setdefault(message.address, message.recipient_name)
        return self._request(first, mentions)

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """Read the code: 0 sent; 11232 rate limited; 19021 and unknown codes failed (retried on a 5xx)."""
        answer = json_answer(response) or {}
        code = answer.get("code", answer.get("StatusCode"))
        status_code = response.status_code
        if not isinstance(code, int) or isinstance(code, bool):
            return unreadable_answer(response, "Feishu bot", self._credentials())
        if code == 0:
            return DeliveryResult(DeliveryStatus.DELIVERED, "Feishu code 0 (success)", status_code)
        unknown = DeliveryStatus.RETRY if status_code >= 500 else DeliveryStatus.FAILED
        status, meaning = CODES.get(code, (unknown, "not a code Muster knows"))
        msg = answer_excerpt(str(answer.get("msg", answer.get("StatusMessage", ""))), self._credentials())
        wait = None
        if status is DeliveryStatus.RATE_LIMITED:
            wait = retry_after_seconds(response.headers)
            wait = RATE_LIMITED_WAIT_S if wait is None else wait
        return DeliveryResult(status, self._scrubbed(f"Feishu code {code} ({msg}): {meaning}"), status_code, wait)

    def pacing_key(self, message: Message) -> str:
        """The bot: a fingerprint of its webhook id."""
        return f"{TYPE}:{credential_fingerprint(self._hook_id)}"

    def auth(self) -> httpx.Auth | None:
        """The body signature when a secret is configured."""
        return self._auth

    def _credentials(self) -> list[str]:
        secret = self._settings.secret
        return [self._hook_id, *([secret.get_secret_value()] if secret else [])]

    def _scrubbed(self, text: str) -> str:
        return without_credentials(text, self._credentials())

    def _request(self, message: Message, mentions: Mapping[str, str]) -> httpx.Request:
        checked_language(message)
        render = self._renderer(message, mentions)
        remedy = "shorten its subject or ack link, or mention fewer people"
        limit = MAX_BODY_BYTES - SIGN_FIELDS_BYTES  # the signature is added to the body per attempt
        content = fitted_content(message, render, limit, channel=self.config.name, remedy=remedy)
        return json_post(self._settings.url, content, user_agent=USER_AGENT)

    def _renderer(self, message: Message, mentions: Mapping[str, str]) -> Callable[[str], bytes]:
        """How the message renders around a given body: text, post, or a card with the ack button."""
        title = drill_title(message)
        label = ACK_LABELS[message.language]

        def text(body: str) -> dict[str, Any]:
            framed = framed_text(message, body)
            tags = " ".join(f'<at user_id="{a}">{_plain(name)}</at>' for a, name in mentions.items())
            return {"msg_type": "text", "content": {"text": framed + (f"\n{tags}" if tags else "")}}

        def post(body: str) -> dict[str, Any]:
            rows: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in body.split("\n")]
            if mentions:
                rows.append([{"tag": "at", "user_id": a, "user_name": name} for a, name in mentions.items()])
            localised = {LOCALES[message.language]: {"title": title, "content": rows}}
            return {"msg_type": "post", "content": {"post": localised}}

        def card(body: str) -> dict[str, Any]:
            tags = " ".join(f"<at id={a}></at>" for a in mentions)
            elements: list[dict[str, Any]] = [
                {"tag": "div", "text": {"tag": "lark_md", "content": _lark_md(body) + (f"\n{tags}" if tags else "")}},
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": label},
                            "type": "primary",
                            "url": message.ack_url,
                        }
                    ],
                },
            ]
            header = {"template": "red", "title": {"tag": "plain_text", "content": title}}
            layout = {"config": {"wide_screen_mode": True}, "header": header, "elements": elements}
            return {"msg_type": "interactive", "card": layout}

        form = text if self._settings.format == "text" else card if message.ack_url else post
        return lambda body: compact_json(form(body))


def _hook_id(url: httpx.URL) -> str:
    """The bot's webhook id, the last segment of its url's path after ``/hook/``, or ""."""
    prefix, _, hook_id = url.path.rpartition("/hook/")
    return hook_id if prefix and "/" not in hook_id else ""


def _plain(name: str) -> str:
    """A display name safe inside an ``<at>`` tag."""
    return name.replace("<", "").replace(">", "")


def _lark_md(body: str) -> str:
    """The body as literal text in a card's lark_md: its own tags (e.g. a forged <at>) are escaped."""
    return body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
