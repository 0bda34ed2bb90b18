"""Aliyun SMS (阿里云短信, Dysmsapi SendSms 2017-05-25): an approved template filled with the message.

    GET https://dysmsapi.aliyuncs.com/?Action=SendSms&PhoneNumbers=139…,138…&SignName=…&TemplateCode=SMS_…
        &TemplateParam={"title":…,"content":…,"link":…}&… + AccessKeyId, SignatureMethod=HMAC-SHA1,
        SignatureVersion=1.0, SignatureNonce, Timestamp (UTC), Signature

Sign: sort the parameters, percent-encode names and values per RFC 3986, join them into the
canonical query; sign ``"GET&%2F&" + encode(canonical query)`` with HMAC-SHA1 keyed by
``AccessKeySecret + "&"``; base64. ``AliyunRpcAuth`` adds a fresh nonce and timestamp per attempt.

SMS text is the template's: the message reaches it only through template variables, each
cut to its own length (notification templates allow 1–35 characters per variable). The ack
link is never cut: a link that does not fit fails the build. Aliyun reserves 【】 for the
signature, so a drill is marked （演练）/(DRILL) instead of 【演练】.
Answers: ``{"Code": "OK", "BizId", "RequestId"}``, else ``Code`` names the error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, Final, Literal
from urllib.parse import parse_qsl, quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from muster.errors import ChannelError
from notifications.answers import answer_excerpt, json_answer
from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_settings, channel_url
from notifications.credentials import credential_fingerprint, without_credentials
from notifications.fitting import batch_text, fit_body
from notifications.framing import checked_language
from notifications.http_status import unreadable_answer
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.outbound import compact_json, rebuilt_request

__all__ = [
    "AliyunRpcAuth",
    "AliyunSmsChannel",
    "AliyunSmsConfig",
    "TemplateVariable",
    "aliyun_signature",
    "canonical_query",
    "percent_encode",
]

# The facts of this API.
TYPE: Final = "aliyun_sms"
DEFAULT_URL: Final = "https://dysmsapi.aliyuncs.com/"
API_VERSION: Final = "2017-05-25"
MAX_BATCH: Final = 1000  # PhoneNumbers: up to 1,000 numbers, comma-separated, in one SendSms
VARIABLE_MAX_CHARS: Final = 35  # notification templates (since 2018-01-10): each variable 1–35 characters
# A link variable's limit is set when its template is approved (unpublished): 100 holds Muster's ack links.
LINK_MAX_CHARS: Final = 100
# Aliyun's own limit is per signature, template and number: 50 notification SMS a day (help.aliyun.com,
# 短信发送流控限制; the 1/min, 5/h, 10/day limits are for verification codes). It cannot be paced per
# account, and no account-wide limit is published, so none is declared; BUSINESS_LIMIT_CONTROL tells.
PER_NUMBER_DAILY_LIMIT: Final = 50
RATE_LIMITS: Final[tuple[RateLimit, ...]] = ()
TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
TIMESTAMP_WINDOW_S: Final = 900  # InvalidTimeStamp.Expired beyond 15 minutes
USER_AGENT: Final = "Muster-AliyunSms/1"
DRILL_MARKERS: Final = {"zh": "（演练）", "en": "(DRILL)"}
TRUNCATED_MARKER: Final = "…"
EMPTY_VALUE: Final = "-"  # a template variable may not be empty
PHONE: Final = re.compile(r"\+?\d{6,15}")
RATE_LIMITED_WAIT_S: Final[Mapping[str, float]] = {"分钟": 60.0, "小时": 3600.0, "天": 86400.0}
RATE_LIMITED_CODES: Final = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling.User"})
RETRY_CODES: Final = frozenset({"isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError", "SignatureNonceUsed"})
HINTS: Final[Mapping[str, str]] = {
    "SignatureDoesNotMatch": "check access_key_secret",
    "InvalidAccessKeyId.NotFound": "check access_key_id",
    "InvalidAccessKeyId.Inactive": "the AccessKey is disabled",
    "InvalidTimeStamp.Expired": "this machine's clock is more than 15 minutes off",
    "isv.SMS_SIGNATURE_ILLEGAL": "check sign_name: it must be an approved signature",
    "isv.SMS_TEMPLATE_ILLEGAL": "check template_code: it must be an approved template",
    "isv.TEMPLATE_MISSING_PARAMETERS": "template_param lacks a variable the template uses",
    "isv.PARAM_LENGTH_LIMIT": "a variable is longer than the template allows: lower its max_chars",
    "isv.MOBILE_NUMBER_ILLEGAL": "a recipient's number is not a valid mobile number",
    "isv.AMOUNT_NOT_ENOUGH": "the account's balance is too low",
    "isp.RAM_PERMISSION_DENY": "the AccessKey's RAM user may not call SendSms",
}

Source = Literal["subject", "body", "ack_url", "severity", "incident_id"]


class TemplateVariable(BaseModel):
    """Which field of the message fills one template variable, and the variable's length limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    max_chars: int | None = Field(default=None, ge=1, le=500, description="Default: 35, or 100 for the ack link")

    @property
    def limit(self) -> int:
        """The variable's length limit in characters."""
        if self.max_chars is not None:
            return self.max_chars
        return LINK_MAX_CHARS if self.source == "ack_url" else VARIABLE_MAX_CHARS


def _default_template_param() -> dict[str, TemplateVariable]:
    return {
        "title": TemplateVariable(source="subject"),
        "content": TemplateVariable(source="body"),
        "link": TemplateVariable(source="ack_url"),
    }


class AliyunSmsConfig(ChannelConfig):
    """An Aliyun account's SendSms: AccessKey (hidden in reprs), signature, template and how to fill it."""

    type: Literal["aliyun_sms"] = "aliyun_sms"
    url: str = Field(default=DEFAULT_URL, min_length=1)
    secret: None = Field(default=None, description="Not used: the AccessKey signs")
    access_key_id: str = Field(min_length=1, repr=False)
    access_key_secret: SecretStr
    sign_name: str = Field(min_length=1, description="The approved SMS signature, e.g. 某市应急管理局")
    template_code: str = Field(min_length=1, description="The approved template, e.g. SMS_123456789")
    region_id: str = "cn-hangzhou"
    template_param: dict[str, TemplateVariable] = Field(default_factory=_default_template_param, min_length=1)


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding as Aliyun signs: space %20, ``*`` %2A, ``~`` kept, UTF-8."""
    return quote(value, safe="")


def canonical_query(params: Mapping[str, str]) -> str:
    """The parameters sorted by name, each ``encode(name)=encode(value)``, joined by ``&``."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def aliyun_signature(method: str, params: Mapping[str, str], secret: SecretStr | str) -> str:
    """The ``Signature`` of the parameters (without Signature itself), base64."""
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    return base64.b64encode(hmac.new(f"{value}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


class AliyunRpcAuth(httpx.Auth):
    """Adds the AccessKeyId, a fresh SignatureNonce and Timestamp, and the Signature to each attempt."""

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: SecretStr,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._access_key_id = access_key_id
        self._secret = access_key_secret
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        return "AliyunRpcAuth(access_key_id='…', access_key_secret=SecretStr('**********'))"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign this attempt's parameters."""
        params = dict(parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True))
        params.pop("Signature", None)
        params |= {
            "AccessKeyId": self._access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": self._nonce(),
            "Timestamp": datetime.fromtimestamp(self._clock(), UTC).strftime(TIMESTAMP_FORMAT),
        }
        signature = aliyun_signature(request.method, params, self._secret)
        query = f"{canonical_query(params)}&Signature={percent_encode(signature)}"
        yield rebuilt_request(request, url=request.url.copy_with(query=query.encode()))


class AliyunSmsChannel:
    """SendSms of the configured template to the message's mobile number(s)."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = AliyunSmsConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = MAX_BATCH

    def __init__(self, config: ChannelConfig) -> None:
        settings = channel_settings(config, AliyunSmsConfig, kind="an Aliyun SMS")
        channel_url(settings, expected=f"http(s), e.g. {DEFAULT_URL}")
        sources = {variable.source for variable in settings.template_param.values()}
        if not sources & {"subject", "body"}:
            raise ChannelError(
                f"channel {settings.name!r}: template_param must fill a variable from the subject or the body, "
                "or a drill could not be marked as one"
            )
        self.config: ChannelConfig = settings
        self._settings = settings
        self._marked = "subject" if "subject" in sources else "body"  # the variable the drill marker leads
        self._auth = AliyunRpcAuth(settings.access_key_id, settings.access_key_secret)

    def __repr__(self) -> str:
        return f"AliyunSmsChannel(name={self.config.name!r}, template={self._settings.template_code!r})"

    def build_request(self, message: Message) -> httpx.Request:
        """SendSms to the message's number."""
        return self._request(message, [message.address])

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """One SendSms to every number of the batch, all with the same template variables."""
        first = batch_text(messages, channel=self.config.name, max_batch=MAX_BATCH)
        values = self._template_values(first)
        for message in messages[1:]:
            if self._template_values(message) != values:
                raise ChannelError(
                    f"channel {self.config.name!r}: message {message.delivery_key} fills the template differently "
                    f"from {first.delivery_key}; one SendSms carries one set of template variables"
                )
        return self._request(first, list(dict.fromkeys(m.address for m in messages)), messages)

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """Read Code: OK sent; BUSINESS_LIMIT_CONTROL rate limited; system errors retried; other errors failed."""
        answer = json_answer(response) or {}
        code = answer.get("Code")
        status_code = response.status_code
        if not isinstance(code, str) or not code:
            return unreadable_answer(response, "Aliyun SMS", self._credentials())
        if code == "OK":
            return DeliveryResult(DeliveryStatus.DELIVERED, f"Aliyun SMS OK (BizId {answer.get('BizId')})", status_code)
        said = str(answer.get("Message", "")).split("server string to sign", 1)[0]
        text = answer_excerpt(said, self._credentials())
        hint = HINTS.get(code, "")
        reason = self._scrubbed(f"Aliyun SMS {code} ({text})" + (f": {hint}" if hint else ""))
        if code in RATE_LIMITED_CODES or code.startswith("Throttling"):
            return DeliveryResult(DeliveryStatus.RATE_LIMITED, reason, status_code, _limit_wait(code, text))
        if code in RETRY_CODES or status_code >= 500:
            return DeliveryResult(DeliveryStatus.RETRY, reason, status_code)
        return DeliveryResult(DeliveryStatus.FAILED, reason, status_code)

    def pacing_key(self, message: Message) -> str:
        """The account: a fingerprint of its AccessKeyId."""
        return f"{TYPE}:{credential_fingerprint(self._settings.access_key_id)}"

    def auth(self) -> httpx.Auth | None:
        """The AccessKey signature, fresh on every attempt."""
        return self._auth

    def _credentials(self) -> list[str]:
        settings = self._settings
        return [settings.access_key_id, settings.access_key_secret.get_secret_value()]

    def _scrubbed(self, text: str) -> str:
        return without_credentials(text, self._credentials())

    def _request(self, message: Message, numbers: list[str], batch: Sequence[Message] = ()) -> httpx.Request:
        for index, number in enumerate(numbers):
            if not PHONE.fullmatch(number):
                key = (batch[index] if batch else message).delivery_key
                raise ChannelError(f"channel {self.config.name!r}: message {key} has no mobile number as its address")
        settings = self._settings
        params = {
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": ",".join(numbers),
            "RegionId": settings.region_id,
            "SignName": settings.sign_name,
            "TemplateCode": settings.template_code,
            "TemplateParam": compact_json(self._template_values(message)).decode(),
            "Version": API_VERSION,
        }
        url = httpx.URL(settings.url).copy_with(query=canonical_query(params).encode())
        return httpx.Request("GET", url, headers={"accept": "application/json", "user-agent": USER_AGENT})

    def _template_values(self, message: Message) -> dict[str, str]:
        """Each template variable filled from its source and cut to its limit."""
        language = checked_language(message)
        values: dict[str, str] = {}
        for name, variable in self._settings.template_param.items():
            marker = DRILL_MARKERS[language] if message.drill and variable.source == self._marked else ""
            if marker and marker[-1].isascii():
                marker += " "  # "(DRILL) Fire", but "（演练）火灾"
            value = _source_text(message, variable.source)
            if variable.source == "ack_url" and len(value) > variable.limit:
                raise ChannelError(
                    f"channel {self.config.name!r}: the ack link of {message.delivery_key} has {len(value)} "
                    f"characters, over the {variable.limit} of template variable {name!r}; "
                    "a cut link cannot be opened"
                )
            cut = fit_body(value, _within(variable.limit - len(marker)), TRUNCATED_MARKER)
            if cut is None:
                raise ChannelError(
                    f"channel {self.config.name!r}: template variable {name!r} allows {variable.limit} "
                    "characters, too few for the drill marker"
                )
            values[name] = marker + cut or EMPTY_VALUE
        return values


def _within(chars: int) -> Callable[[str], bool]:
    return lambda value: len(value) <= chars


def _source_text(message: Message, source: Source) -> str:
    return {
        "subject": message.subject,
        "body": " ".join(message.body.split()),  # one line: an SMS has no room for blank lines
        "ack_url": message.ack_url or "",
        "severity": message.severity,
        "incident_id": message.incident_id,
    }[source]


def _limit_wait(code: str, text: str) -> float:
    """How long a rate limit lasts: by the window Aliyun names (触发分钟级/小时级/天级流控), else a minute."""
    if code == "isv.DAY_LIMIT_CONTROL":
        return RATE_LIMITED_WAIT_S["天"]
    if code.startswith("Throttling"):
        return 1.0
    return next((wait for window, wait in RATE_LIMITED_WAIT_S.items() if window in text), 60.0)
