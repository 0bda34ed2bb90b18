"""PagerDuty Events API v2: trigger an alert per recipient, acknowledge or resolve it by its dedup_key.

    POST https://events.pagerduty.com/v2/enqueue
    {"routing_key": <32 characters>, "event_action": "trigger", "dedup_key": "muster/<incident>/<hash>",
     "client": "Muster", "payload": {"summary" ≤ 1024, "source", "severity", "component", "group", "class",
     "custom_details": {incident_id, step_id, recipient_id, …, ack_url, body}},
     "links": [{"href": <ack link>, "text": "确认收到"}]}

The dedup_key comes from the incident, step and recipient (not the round, not the attempt), so a
retried or repeated trigger joins the open alert instead of paging again; ``pagerduty_dedup_key``
gives it to whoever later acknowledges or resolves (``pagerduty_status_request``).
Answers: 202 ``{"status": "success", "message": "Event processed", "dedup_key"}``; 400 ``{"status":
"invalid event", "message", "errors": […]}`` must not be retried; 429 and 5xx are retried with backoff.

``payload.timestamp`` is the incident's time (``Message.occurred_at``, ISO 8601 in UTC) when the
message carries it, so the same message always builds the same event; without it PagerDuty stamps
the time it receives the event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from typing import Any, ClassVar, Final, Literal

import httpx
from pydantic import AliasChoices, Field, SecretStr, field_validator

from muster.errors import ChannelError
from notifications.answers import answer_excerpt, answer_text, json_answer
from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_settings, channel_url
from notifications.credentials import credential_fingerprint, without_credentials
from notifications.fitting import fitted_content
from notifications.framing import ACK_LABELS, checked_language, drill_title
from notifications.http_status import retry_after_seconds, status_outcome
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.outbound import compact_json

__all__ = [
    "PagerDutyChannel",
    "PagerDutyConfig",
    "pagerduty_dedup_key",
    "pagerduty_severity",
    "pagerduty_status_request",
]

# The facts of this API.
TYPE: Final = "pagerduty"
DEFAULT_URL: Final = "https://events.pagerduty.com/v2/enqueue"
ROUTING_KEY_CHARS: Final = 32
MAX_DEDUP_KEY_CHARS: Final = 255
MAX_SUMMARY_CHARS: Final = 1_024
MAX_BODY_BYTES: Final = 512 * 1024  # the whole event
RATE_LIMITS: Final = (RateLimit(120, 60),)  # per routing key (integration key); 429 beyond
EVENT_ACTIONS: Final = ("trigger", "acknowledge", "resolve")
SEVERITIES: Final = ("critical", "error", "warning", "info")
# The incident grade (incidents.Grade values, and their Chinese names) -> PagerDuty severity; others are info.
GRADE_SEVERITIES: Final[Mapping[str, str]] = {
    "extraordinarily_serious": "critical",
    "serious": "critical",
    "relatively_serious": "error",
    "ordinary": "warning",
    "特别重大": "critical",
    "重大": "critical",
    "较大": "error",
    "一般": "warning",
}
CLIENT: Final = "Muster"
USER_AGENT: Final = "Muster-PagerDuty/1"
SUMMARY_CUT: Final = "…"

EventAction = Literal["trigger", "acknowledge", "resolve"]


class PagerDutyConfig(ChannelConfig):
    """A PagerDuty service integration: its routing key (hidden), and what the alerts say about their source."""

    type: Literal["pagerduty"] = "pagerduty"
    url: str = Field(default=DEFAULT_URL, min_length=1)
    secret: None = Field(default=None, description="Not used: routing_key is the credential")
    routing_key: SecretStr = Field(description="The integration key of the service, 32 characters")
    event_action: EventAction = "trigger"
    source: str = Field(default="muster", min_length=1, max_length=255, description="payload.source")
    component: str | None = Field(default=None, max_length=255)
    group: str | None = Field(default=None, max_length=255)
    event_class: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("class", "event_class"), description="payload.class"
    )

    @field_validator("routing_key")
    @classmethod
    def _routing_key_is_32_characters(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if len(key) != ROUTING_KEY_CHARS or not key.isascii() or not key.isalnum():
            raise ValueError(f"a routing key is {ROUTING_KEY_CHARS} letters and digits (the service's integration key)")
        return value


def pagerduty_dedup_key(incident_id: str, step_id: str, recipient_id: str) -> str:
    """The alert of one recipient for one step of an incident: stable across rounds and retries, ≤ 255 characters."""
    digest = hashlib.sha256("\x1f".join((incident_id, step_id, recipient_id)).encode()).hexdigest()[:32]
    return f"muster/{incident_id[:100]}/{digest}"


def pagerduty_severity(grade: str) -> str:
    """The PagerDuty severity of an incident grade: critical, error, warning, or info when unknown."""
    return GRADE_SEVERITIES.get(grade, "info")


def pagerduty_status_request(
    config: PagerDutyConfig, *, action: Literal["acknowledge", "resolve"], dedup_key: str
) -> httpx.Request:
    """The event acknowledging or resolving the alert ``dedup_key`` (e.g. when its recipient acknowledged)."""
    if not dedup_key or len(dedup_key) > MAX_DEDUP_KEY_CHARS:
        raise ChannelError(f"channel {config.name!r}: a dedup_key is 1 to {MAX_DEDUP_KEY_CHARS} characters")
    event = {"routing_key": config.routing_key.get_secret_value(), "event_action": action, "dedup_key": dedup_key}
    return _event_request(config.url, compact_json(event))


class PagerDutyChannel:
    """Send one event per recipient to a PagerDuty service."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = PagerDutyConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = 1

    def __init__(self, config: ChannelConfig) -> None:
        settings = channel_settings(config, PagerDutyConfig, kind="a PagerDuty Events")
        channel_url(settings, expected=f"http(s), e.g. {DEFAULT_URL}")
        self.config: ChannelConfig = settings
        self._settings = settings

    def __repr__(self) -> str:
        return f"PagerDutyChannel(name={self.config.name!r}, event_action={self._settings.event_action!r})"

    def build_request(self, message: Message) -> httpx.Request:
        """The event for the message's recipient; the body in custom_details is cut so the event fits 512 KB."""
        checked_language(message)
        render = self._renderer(message)
        content = fitted_content(message, render, MAX_BODY_BYTES, channel=self.config.name, remedy="")
        return _event_request(self._settings.url, content)

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """Not batched: one alert per recipient, so each can be acknowledged on its own."""
        raise ChannelError(f"{self.type_name} does not batch messages")

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """202 success delivered; 400 failed, never retried; 429 rate limited; 5xx retry."""
        status = response.status_code
        answer = json_answer(response) or {}
        if 200 <= status < 300 and answer.get("status") == "success":
            return DeliveryResult(
                DeliveryStatus.DELIVERED, f"PagerDuty accepted the event (dedup_key {answer.get('dedup_key')})", status
            )
        said = _what_pagerduty_said(answer) or answer_text(response)
        said = answer_excerpt(said, self._credentials(), limit=300) or "an empty body"
        outcome, wait = status_outcome(status), None
        if outcome is DeliveryStatus.DELIVERED:
            outcome = DeliveryStatus.FAILED
            reason = f"PagerDuty HTTP {status} without success ({said}); check that the url is the Events API's"
        elif outcome is DeliveryStatus.RATE_LIMITED:
            wait = retry_after_seconds(response.headers)
            reason = f"PagerDuty HTTP 429 ({said}): over {RATE_LIMITS[0].count} events a minute for this routing key"
        else:
            reason = f"PagerDuty HTTP {status} ({said})"
        if status == 400:
            reason += ": the event was refused as invalid; fix it, do not retry"
        return DeliveryResult(outcome, self._scrubbed(reason), status, wait)

    def pacing_key(self, message: Message) -> str:
        """The service: a fingerprint of its routing key."""
        return f"{TYPE}:{credential_fingerprint(self._settings.routing_key.get_secret_value())}"

    def auth(self) -> httpx.Auth | None:
        """None: the routing key travels in the event."""
        return None

    def _credentials(self) -> list[str]:
        return [self._settings.routing_key.get_secret_value()]

    def _scrubbed(self, text: str) -> str:
        return without_credentials(text, self._credentials())

    def _renderer(self, message: Message) -> Callable[[str], bytes]:
        """The event around a given body: trigger with payload and links, or acknowledge/resolve alone."""
        settings = self._settings
        dedup_key = pagerduty_dedup_key(message.incident_id, message.step_id, message.recipient_id)
        event: dict[str, Any] = {
            "routing_key": settings.routing_key.get_secret_value(),
            "event_action": settings.event_action,
            "dedup_key": dedup_key,
        }
        if settings.event_action != "trigger":
            content = compact_json(event)
            return lambda body: content
        title = drill_title(message)
        summary = f"{title} — {' '.join(message.body.split())}" if message.body.strip() else title
        if len(summary) > MAX_SUMMARY_CHARS:
            summary = summary[: MAX_SUMMARY_CHARS - len(SUMMARY_CUT)] + SUMMARY_CUT
        payload: dict[str, Any] = {
            "summary": summary,
            "source": settings.source,
            "severity": pagerduty_severity(message.severity),
        }
        for name, value in (("component", settings.component), ("group", settings.group)):
            if value:
                payload[name] = value
        if settings.event_class:
            payload["class"] = settings.event_class
        if message.occurred_at is not None:
            if message.occurred_at.utcoffset() is None:
                raise ChannelError(
                    f"channel {self.config.name!r}: message {message.delivery_key} has an occurred_at without a "
                    "time zone; give the incident's time in UTC"
                )
            payload["timestamp"] = message.occurred_at.astimezone(UTC).isoformat()
        event["client"] = CLIENT
        if message.ack_url:
            event["links"] = [{"href": message.ack_url, "text": ACK_LABELS[message.language]}]

        def render(body: str) -> bytes:
            details = {
                "incident_id": message.incident_id,
                "step_id": message.step_id,
                "recipient_id": message.recipient_id,
                "recipient": message.recipient_name,
                "role": message.role,
                "grade": message.severity,
                "drill": message.drill,
                "ack_url": message.ack_url,
                "subject": title,
                "body": body,
            }
            return compact_json(event | {"payload": payload | {"custom_details": details}})

        return render


def _event_request(url: str, content: bytes) -> httpx.Request:
    headers = {"content-type": "application/json", "accept": "application/json", "user-agent": USER_AGENT}
    return httpx.Request("POST", url, content=content, headers=headers)


def _what_pagerduty_said(answer: Mapping[str, Any]) -> str:
    """``status: message errors`` from PagerDuty's answer, or "" when it has none."""
    parts = [str(answer[k]) for k in ("status", "message") if isinstance(answer.get(k), str)]
    errors = answer.get("errors")
    if isinstance(errors, list) and errors:
        parts.append("; ".join(str(e) for e in errors[:5]))
    return ": ".join(parts)
