"""Twilio Programmable Messaging: one SMS per recipient, HTTP Basic with the account's SID and auth token.

    POST https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json   (form-encoded)
    To=<E.164>&From=<sender> | MessagingServiceSid=MG…&Body=<framed text with the ack link>[&StatusCallback=…]

Twilio answers 201 Created with the message resource (``sid`` SM…, ``status`` queued): accepted
and queued, not yet handed to the carrier (``status_callback`` hears about that). Errors are
``{"code", "message", "more_info", "status"}``; 429 / 20429 means not processed, safe to retry.

Length: Body is at most 1,600 characters (UTF-16 units, so an emoji counts two). Twilio splits a
long SMS into segments: 153 GSM-7 characters each, or 67 UCS-2 characters each as soon as one
character is outside GSM-7, so a Chinese message of 1,600 characters is 24 segments and billed as
such. The body is cut with a marker to fit; the drill marker leads and the ack link ends it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar, Final, Literal
from urllib.parse import urlencode

import httpx
from pydantic import Field, SecretStr, model_validator

from muster.errors import ChannelError
from notifications.answers import answer_excerpt, answer_text, json_answer
from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_settings, channel_url
from notifications.credentials import credential_fingerprint, without_credentials
from notifications.fitting import fitted_body
from notifications.framing import checked_language, framed_text
from notifications.http_status import retry_after_seconds, status_outcome
from notifications.message import DeliveryResult, DeliveryStatus, Message

__all__ = ["TwilioSmsChannel", "TwilioSmsConfig", "e164_number", "sms_segments", "utf16_length"]

# The facts of this API.
TYPE: Final = "twilio_sms"
DEFAULT_URL: Final = "https://api.twilio.com"
API_VERSION: Final = "2010-04-01"
MAX_BODY_CHARS: Final = 1_600  # Body; error 21617 beyond
GSM7_SEGMENT: Final = (160, 153)  # characters in a single SMS, and per segment of a long one
UCS2_SEGMENT: Final = (70, 67)
# A long code sends one segment a second; Twilio queues beyond that (for hours; 21611 when the queue is full),
# so an SMS a second per sender keeps the queue short. A Messaging Service pools senders: then it is conservative.
RATE_LIMITS: Final = (RateLimit(1, 1),)
USER_AGENT: Final = "Muster-TwilioSms/1"
TRUNCATED_MARKERS: Final = {"zh": "…（已截断）", "en": "…(cut)"}
ACCOUNT_SID: Final = re.compile(r"AC[0-9a-fA-F]{32}")
SERVICE_SID: Final = re.compile(r"MG[0-9a-fA-F]{32}")
E164: Final = re.compile(r"\+[1-9]\d{6,14}")
SENDER: Final = re.compile(r"\+[1-9]\d{6,14}|[A-Za-z0-9 ]{1,11}")  # a number, a short code, or a sender name
GSM7: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED: Final = frozenset("^{}\\[~]|€\f")  # two septets each
# Twilio's error code -> what it means for delivery, and what to do.
ERRORS: Final[Mapping[int, tuple[DeliveryStatus, str]]] = {
    20429: (DeliveryStatus.RATE_LIMITED, "too many requests: not processed, safe to retry"),
    21611: (DeliveryStatus.RATE_LIMITED, "the sender's queue is full (over 10 hours of messages)"),
    20500: (DeliveryStatus.RETRY, "Twilio had an internal error"),
    20503: (DeliveryStatus.RETRY, "Twilio is temporarily unavailable"),
    20003: (DeliveryStatus.FAILED, "authentication failed: check account_sid and auth_token"),
    20404: (DeliveryStatus.FAILED, "not found: check account_sid and url"),
    21211: (DeliveryStatus.FAILED, "the recipient's number is not a valid phone number"),
    21614: (DeliveryStatus.FAILED, "the recipient's number is not a mobile number"),
    21610: (DeliveryStatus.FAILED, "the recipient replied STOP: they must send START first"),
    21612: (DeliveryStatus.FAILED, "Twilio cannot route from this sender to the recipient"),
    21408: (DeliveryStatus.FAILED, "sending to this region is not enabled in the account's geo permissions"),
    21606: (DeliveryStatus.FAILED, "from_number is not an SMS-capable number of this account"),
    21659: (DeliveryStatus.FAILED, "from_number is not a Twilio number of this account"),
    21608: (DeliveryStatus.FAILED, "a trial account may only send to verified numbers"),
    21602: (DeliveryStatus.FAILED, "the message body is empty"),
    21603: (DeliveryStatus.FAILED, "no sender: set from_number or messaging_service_sid"),
    21617: (DeliveryStatus.FAILED, "the message body is over 1,600 characters"),
    21703: (DeliveryStatus.FAILED, "the Messaging Service has no sender: add numbers to it"),
}
RATE_LIMITED_WAIT_S: Final[Mapping[int, float]] = {21611: 60.0}


class TwilioSmsConfig(ChannelConfig):
    """A Twilio account sending SMS: SID and auth token (hidden), and a sender or Messaging Service."""

    type: Literal["twilio_sms"] = "twilio_sms"
    url: str = Field(default=DEFAULT_URL, min_length=1, description="Twilio's API base url")
    secret: None = Field(default=None, description="Not used: auth_token signs in")
    account_sid: str = Field(pattern=f"^{ACCOUNT_SID.pattern}$", repr=False, description="AC… of the account")
    auth_token: SecretStr
    from_number: str | None = Field(
        default=None, pattern=f"^(?:{SENDER.pattern})$", description="E.164, short code or name"
    )
    messaging_service_sid: str | None = Field(default=None, pattern=f"^{SERVICE_SID.pattern}$", description="MG…")
    status_callback: str | None = Field(default=None, description="Where Twilio reports delivery, http(s)")

    @model_validator(mode="after")
    def _has_sender(self) -> TwilioSmsConfig:
        if self.from_number is None and self.messaging_service_sid is None:
            raise ValueError("set from_number or messaging_service_sid: Twilio needs a sender")
        if self.status_callback is not None and not self.status_callback.startswith(("http://", "https://")):
            raise ValueError("status_callback must be an http:// or https:// url")
        return self


def utf16_length(text: str) -> int:
    """The length Twilio counts: UTF-16 code units (a character beyond the BMP, e.g. an emoji, is two)."""
    return len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` is sent as: GSM-7 when every character allows, else UCS-2."""
    if all(c in GSM7 or c in GSM7_EXTENDED for c in text):
        single, each = GSM7_SEGMENT
        length = len(text) + sum(c in GSM7_EXTENDED for c in text)
    else:
        single, each = UCS2_SEGMENT
        length = utf16_length(text)
    return 1 if length <= single else -(-length // each)


def e164_number(address: str) -> str | None:
    """The address as an E.164 number (spaces, dots, dashes and brackets dropped), or None if it is not one."""
    number = re.sub(r"[\s.()\-]", "", address)
    return number if E164.fullmatch(number) else None


class TwilioSmsChannel:
    """Create one Message resource per recipient."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = TwilioSmsConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = 1

    def __init__(self, config: ChannelConfig) -> None:
        settings = channel_settings(config, TwilioSmsConfig, kind="a Twilio SMS")
        base = channel_url(
            settings, expected=f"Twilio's API base, e.g. {DEFAULT_URL}", accept=lambda url: not url.query
        )
        token = settings.auth_token.get_secret_value()
        if not token:
            raise ChannelError(f"channel {settings.name!r}: auth_token is empty")
        self.config: ChannelConfig = settings
        self._settings = settings
        self._endpoint = f"{str(base).rstrip('/')}/{API_VERSION}/Accounts/{settings.account_sid}/Messages.json"
        self._auth = httpx.BasicAuth(settings.account_sid, token)

    def __repr__(self) -> str:
        sender = "messaging service" if self._settings.messaging_service_sid else "number"
        return f"TwilioSmsChannel(name={self.config.name!r}, sender={sender!r})"

    def build_request(self, message: Message) -> httpx.Request:
        """The form creating the SMS: To, the sender, Body cut to 1,600 characters, StatusCallback."""
        checked_language(message)
        number = e164_number(message.address)
        if number is None:
            raise ChannelError(
                f"channel {self.config.name!r}: recipient {message.recipient_id!r} of {message.delivery_key} has "
                "no E.164 number as its address (+, country code, number, e.g. +8613800000000)"
            )
        body = fitted_body(
            message,
            lambda b: utf16_length(framed_text(message, b)) <= MAX_BODY_CHARS,
            channel=self.config.name,
            limit=f"{MAX_BODY_CHARS} characters",
            markers=TRUNCATED_MARKERS,
        )
        settings = self._settings
        form = {"To": number}
        if settings.from_number:
            form["From"] = settings.from_number
        if settings.messaging_service_sid:
            form["MessagingServiceSid"] = settings.messaging_service_sid
        form["Body"] = framed_text(message, body)
        if settings.status_callback:
            form["StatusCallback"] = settings.status_callback
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
            "user-agent": USER_AGENT,
        }
        return httpx.Request("POST", self._endpoint, content=urlencode(form).encode(), headers=headers)

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """Not batched: a Message resource has one recipient."""
        raise ChannelError(f"{self.type_name} does not batch messages")

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """201 with a message SID delivered; 429/20429 rate limited; 5xx retry; Twilio's error codes decide the rest."""
        status = response.status_code
        answer = json_answer(response) or {}
        if 200 <= status < 300:
            sid = answer.get("sid")
            if isinstance(sid, str) and sid.startswith(("SM", "MM")):
                state, segments = answer.get("status", "queued"), answer.get("num_segments", "?")
                return DeliveryResult(
                    DeliveryStatus.DELIVERED, f"Twilio accepted message {sid} ({state}, {segments} segments)", status
                )
            said = answer_excerpt(answer_text(response), self._credentials()) or "an empty body"
            reason = f"Twilio HTTP {status} without a message SID ({said}); check that the url is Twilio's API"
            return DeliveryResult(DeliveryStatus.FAILED, self._scrubbed(reason), status)
        code = answer.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        said = str(answer.get("message") or answer_text(response))
        said = answer_excerpt(said, self._credentials()) or "an empty body"
        outcome, meaning = ERRORS.get(code or 0, (None, ""))
        named = f" error {code}" if code else ""
        reason = self._scrubbed(f"Twilio HTTP {status}{named} ({said})" + (f": {meaning}" if meaning else ""))
        if status == 429 or outcome is DeliveryStatus.RATE_LIMITED:
            wait = retry_after_seconds(response.headers) or RATE_LIMITED_WAIT_S.get(code or 0)
            return DeliveryResult(DeliveryStatus.RATE_LIMITED, reason, status, wait)
        return DeliveryResult(outcome or status_outcome(status), reason, status)

    def pacing_key(self, message: Message) -> str:
        """The sender: a fingerprint of the account and its number or Messaging Service."""
        settings = self._settings
        sender = settings.messaging_service_sid or settings.from_number or ""
        return f"{TYPE}:{credential_fingerprint(f'{settings.account_sid}:{sender}')}"

    def auth(self) -> httpx.Auth | None:
        """HTTP Basic: the account SID and its auth token."""
        return self._auth

    def _credentials(self) -> list[str]:
        return [self._settings.account_sid, self._settings.auth_token.get_secret_value()]

    def _scrubbed(self, text: str) -> str:
        return without_credentials(text, self._credentials())
