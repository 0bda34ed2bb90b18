"""Microsoft Teams through a Workflows webhook: an Adaptive Card; the url's ``sig`` is the credential.

    POST https://…logic.azure.com/workflows/{id}/triggers/manual/paths/invoke?api-version=…&sp=…&sv=1.0&sig=…
    {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
      "content": {"type": "AdaptiveCard", "version": "1.4", "body": [TextBlock…],
                  "actions": [{"type": "Action.OpenUrl", "title": "确认收到", "url": <ack link>}]}}]}

The Office 365 connector webhooks are retired; a Workflows ("Post to a channel when a webhook
request is received") url replaces them. It answers 202 Accepted with no body; errors are
Azure's ``{"error": {"code", "message"}}``: 401 for a wrong or missing ``sig``, 404 for a
workflow that is gone, 429 with Retry-After when throttled. A 202 means the flow started:
a flow that fails later (a card Teams refuses) is not reported back to the caller.
The url is never shown: the config hides it in reprs and reasons name the host only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

import httpx
from pydantic import Field

from muster.errors import ChannelError
from notifications.answers import answer_excerpt, answer_text, json_answer
from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_settings, channel_url
from notifications.credentials import credential_fingerprint, without_credentials
from notifications.fitting import fitted_content
from notifications.framing import ACK_LABELS, checked_language, drill_title, framed_text
from notifications.http_status import retry_after_phrase, retry_after_seconds, status_outcome
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.outbound import compact_json, json_post

__all__ = ["TeamsChannel", "TeamsConfig", "adaptive_card_message"]

# The facts of this API.
TYPE: Final = "teams"
CARD_CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
CARD_VERSION: Final = "1.4"
# Teams refuses a posted message over about 28 KB ("Request Entity too large"): learn.microsoft.com,
# microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook ("message size limit is
# 28 KB") and connectors/teams, known limitations. The flow wraps the card in its own envelope, so the
# request is kept to 27 KiB, leaving 1 KiB of the 28 KB for it.
MAX_BODY_BYTES: Final = 27 * 1024
# Microsoft publishes no limit per Workflows url. The incoming-webhook page above throttles more than
# four requests a second, and Teams allows an app about 4 requests a second per channel: 4/s it is.
RATE_LIMITS: Final = (RateLimit(4, 1),)
USER_AGENT: Final = "Muster-Teams/1"
TO_LABELS: Final = {"zh": "致：", "en": "To: "}
EXPECTED_URL: Final = (
    "the workflow's HTTP trigger address with its sig, copied from Teams > Workflows "
    "(the url is not shown: it is the credential)"
)
# Azure's error code -> what to do. The HTTP status decides the outcome.
HINTS: Final[Mapping[str, str]] = {
    "DirectApiAuthorizationRequired": "the url lacks its sig: configure the workflow's full url",
    "DirectApiInvalidAuthorizationSignature": "the url's sig is wrong or was regenerated: configure the current url",
    "WorkflowNotFound": "the workflow was deleted: configure a new one",
    "WorkflowTriggerNotFound": "the workflow's trigger was changed: configure its current url",
    "WorkflowDisabled": "the workflow is turned off: turn it on in Teams > Workflows",
    "TriggerInputSchemaMismatch": "the workflow expects another message shape",
    "RequestEntityTooLarge": "the message is over Teams' 28 KB",
}
STATUS_HINTS: Final[Mapping[int, str]] = {
    401: "the url's sig was refused: configure the workflow's current url",
    403: "the workflow refused the caller",
    404: "the workflow or its trigger no longer exists: configure a new one",
    413: "the message is over Teams' 28 KB",
}


class TeamsConfig(ChannelConfig):
    """A Teams Workflows webhook: its url, whose ``sig`` is the credential (hidden in reprs); no secret."""

    type: Literal["teams"] = "teams"
    url: str = Field(min_length=1, repr=False, description="The workflow's HTTP trigger url, with its sig")
    secret: None = Field(default=None, description="Workflows urls are not signed per request: sig is the credential")
    format: Literal["text", "rich"] = "rich"


def adaptive_card_message(
    body: Sequence[Mapping[str, Any]], actions: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The Workflows message carrying one Adaptive Card 1.4 with these body elements and actions."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": list(body),
    }
    if actions:
        card["actions"] = list(actions)
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}]}


class TeamsChannel:
    """POST an Adaptive Card to a Teams Workflows webhook."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = TeamsConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = 1

    def __init__(self, config: ChannelConfig) -> None:
        settings = channel_settings(config, TeamsConfig, kind="a Teams Workflows")
        url = channel_url(settings, expected=EXPECTED_URL, accept=lambda url: bool(url.params.get("sig")))
        sig = url.params["sig"]
        self.config: ChannelConfig = settings
        self._settings = settings
        self._origin = f"{url.scheme}://{url.host}"
        # What reasons must never show: the url in every spelling, its path (the workflow) and its sig.
        self._credentials = [settings.url, str(url), url.raw_path.decode("ascii", "replace"), url.path, sig]

    def __repr__(self) -> str:
        return f"TeamsChannel(name={self.config.name!r}, format={self._settings.format!r})"

    def build_request(self, message: Message) -> httpx.Request:
        """The card, its body cut with a marker so the request stays within Teams' message size."""
        checked_language(message)
        render = self._renderer(message)
        content = fitted_content(message, render, MAX_BODY_BYTES, channel=self.config.name)
        return json_post(self._settings.url, content, user_agent=USER_AGENT)

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """Not batched: a card cannot @-mention people by contact address."""
        raise ChannelError(f"{self.type_name} does not batch messages")

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """2xx delivered; 429 rate limited; 408/425/5xx retry; other 4xx failed for good, with Azure's code."""
        status = response.status_code
        outcome, wait = status_outcome(status), None
        if outcome is DeliveryStatus.DELIVERED:
            return DeliveryResult(outcome, f"Teams workflow accepted (HTTP {status})", status)
        code, said = _azure_error(response)
        said = answer_excerpt(said, self._credentials) or "an empty body"
        where = f"Teams workflow at {self._origin}"
        if outcome is DeliveryStatus.RATE_LIMITED:
            wait = retry_after_seconds(response.headers)
            reason = f"{where}: HTTP 429 {code or 'throttled'} ({retry_after_phrase(wait)})"
        elif 300 <= status < 400:
            reason = f"{where}: HTTP {status} redirect not followed; set the url to the workflow's own address"
        else:
            hint = HINTS.get(code, "") or STATUS_HINTS.get(status, "")
            reason = f"{where}: HTTP {status} {code + ' ' if code else ''}({said})" + (f": {hint}" if hint else "")
        return DeliveryResult(outcome, self._scrubbed(reason), status, wait)

    def pacing_key(self, message: Message) -> str:
        """The workflow: a fingerprint of its url."""
        return f"{TYPE}:{credential_fingerprint(self._settings.url)}"

    def auth(self) -> httpx.Auth | None:
        """None: the url's sig is the credential."""
        return None

    def _scrubbed(self, text: str) -> str:
        return without_credentials(text, self._credentials)

    def _renderer(self, message: Message) -> Callable[[str], bytes]:
        """How the card renders around a given body: the framed text alone, or title, body and ack button."""
        title = drill_title(message)
        language = message.language
        rich = self._settings.format == "rich"

        def card(body: str) -> dict[str, Any]:
            if not rich:
                return adaptive_card_message([_text_block(framed_text(message, body))])
            heading = _text_block(title) | {"size": "Medium", "weight": "Bolder"}
            if message.drill:
                heading["color"] = "Attention"
            elements = [heading, _text_block(body)]
            if message.recipient_name:
                recipient = f"{TO_LABELS[language]}{message.recipient_name}"
                elements.append(_text_block(recipient) | {"isSubtle": True, "spacing": "Small"})
            actions = []
            if message.ack_url:
                actions.append({"type": "Action.OpenUrl", "title": ACK_LABELS[language], "url": message.ack_url})
            return adaptive_card_message(elements, actions)

        return lambda body: compact_json(card(body))


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True}


def _azure_error(response: httpx.Response) -> tuple[str, str]:
    """Azure's error code and message from ``{"error": {"code", "message"}}``, else "" and the body."""
    document = json_answer(response) or {}
    error = document.get("error")
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return error["code"], str(error.get("message") or "no message")
    return "", answer_text(response)
