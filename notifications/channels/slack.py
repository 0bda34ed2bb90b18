"""Slack incoming webhook: mrkdwn text plus Block Kit blocks; the webhook url is the credential.

    POST https://hooks.slack.com/services/T…/B…/X…
    {"text": <framed text, then @-mentions>,
     "blocks": [section(s) "*<title>*\\n<body>", section "<@U…> <@U…>", actions [button → ack link]],
     "unfurl_links": false, "unfurl_media": false}

Slack answers 200 ``ok``; its errors are plain strings (``invalid_payload``, ``channel_not_found``,
``channel_is_archived``…) with 400/403/404/410/500, and 429 with Retry-After. Text is escaped
(``&``, ``<``, ``>``) so an incident's free text cannot ping the whole channel (``<!channel>``) or
hide a link, and links are not unfurled: an unfurler would open the ack link itself.

A webhook posts to one channel, so a recipient is reached by @-mentioning their member id
(``U…``/``W…``); several recipients of the same text share one message (``build_batch_request``).
The url is never shown: the config hides it in reprs and reasons are cut free of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

import httpx
from pydantic import Field

from notifications.answers import answer_excerpt, answer_text
from notifications.channel import RateLimit
from notifications.config import ChannelConfig, channel_settings, channel_url
from notifications.credentials import credential_fingerprint, without_credentials
from notifications.fitting import batch_text, fitted_body
from notifications.framing import ACK_LABELS, checked_language, drill_title, framed_text
from notifications.http_status import retry_after_phrase, retry_after_seconds, status_outcome
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.outbound import compact_json, json_post

__all__ = ["SlackChannel", "SlackConfig", "escape_mrkdwn", "slack_sections"]

# The facts of this API (docs.slack.dev: chat.postMessage "text", Block Kit "section", "Rate limits").
TYPE: Final = "slack"
MAX_TEXT_CHARS: Final = 40_000  # "text": Slack truncates beyond 40,000 characters
MAX_SECTION_CHARS: Final = 3_000  # a section block's text
MAX_BLOCKS: Final = 50  # blocks in one message
MAX_BUTTON_URL_CHARS: Final = 3_000  # a button's url
RATE_LIMITS: Final = (RateLimit(1, 1),)  # per webhook: about 1 message a second (short bursts tolerated); 429 beyond
MAX_BATCH: Final = 50  # people @-mentioned in one message (no published cap; a screenful of names)
USER_AGENT: Final = "Muster-Slack/1"
EXPECTED_URL: Final = (
    "a Slack incoming webhook address, https://hooks.slack.com/services/T…/B…/X… "
    "(the url is not shown: it is the credential)"
)
MEMBER_ID: Final = re.compile(r"[UW][A-Z0-9]{2,20}")  # a Slack member id; only these can be @-mentioned
WEBHOOK_PATH: Final = re.compile(r"/services/([A-Za-z0-9]+)/([A-Za-z0-9]+)/([A-Za-z0-9]+)/?$")
ERROR_TOKEN: Final = re.compile(r"[a-z][a-z_]{2,63}")
# Slack's error string -> what it means, and what to do. All are final unless the status says otherwise.
ERRORS: Final[Mapping[str, str]] = {
    "invalid_payload": "Slack could not read the message (malformed JSON or blocks)",
    "invalid_blocks": "Slack refused the blocks (a block over its limits)",
    "invalid_blocks_format": "Slack refused the blocks' format",
    "no_text": "the message had no text",
    "msg_too_long": "the message is too long",
    "too_many_attachments": "too many attachments",
    "invalid_token": "the webhook's token is wrong or revoked: configure the webhook's current url",
    "action_prohibited": "a workspace admin restricted posting to this channel",
    "posting_to_general_channel_denied": "only admins may post in this channel",
    "no_service": "the webhook no longer exists (revoked, or its app uninstalled): configure a new webhook",
    "no_service_id": "the url lacks the webhook's id: configure the full webhook url",
    "no_team": "the workspace no longer exists",
    "team_disabled": "the workspace is disabled",
    "channel_not_found": "the webhook's channel was deleted: configure a webhook for another channel",
    "channel_is_archived": "the webhook's channel is archived: unarchive it or configure another webhook",
    "user_not_found": "the webhook's user no longer exists",
    "rollup_error": "Slack had an internal error",
}


class SlackConfig(ChannelConfig):
    """A Slack incoming webhook: its url is the credential (hidden in reprs); no signing secret."""

    type: Literal["slack"] = "slack"
    url: str = Field(min_length=1, repr=False, description="https://hooks.slack.com/services/T…/B…/X…")
    secret: None = Field(default=None, description="Slack webhooks are not signed: the url is the credential")
    format: Literal["text", "rich"] = "rich"


def escape_mrkdwn(text: str) -> str:
    """``text`` with Slack's three control characters escaped, so it reads as written and mentions nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_sections(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at a line break when one is near, never in an entity."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", limit // 2, limit + 1)
        if cut == -1:
            cut = limit
            entity = text.rfind("&", cut - 4, cut)  # &amp; &lt; &gt; are at most 5 characters
            if entity != -1 and ";" not in text[entity:cut]:
                cut = entity
        pieces.append(text[:cut])
        text = text[cut:].removeprefix("\n")
    if text or not pieces:
        pieces.append(text)
    return pieces


class SlackChannel:
    """POST to a Slack incoming webhook, @-mentioning the recipients by member id."""

    type_name: ClassVar[str] = TYPE
    config_model: ClassVar[type[ChannelConfig]] = SlackConfig
    rate_limits: ClassVar[tuple[RateLimit, ...]] = RATE_LIMITS
    max_batch: ClassVar[int] = MAX_BATCH

    def __init__(self, config: ChannelConfig) -> None:
        settings = channel_settings(config, SlackConfig, kind="a Slack webhook")
        url = channel_url(settings, expected=EXPECTED_URL, accept=lambda url: bool(_token(url)) and not url.query)
        self.config: ChannelConfig = settings
        self._settings = settings
        self._token = _token(url)

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.config.name!r}, format={self._settings.format!r})"

    def build_request(self, message: Message) -> httpx.Request:
        """The message to the webhook's channel, @-mentioning its recipient when the address is a member id."""
        return self._request(message, [message.address])

    def build_batch_request(self, messages: Sequence[Message]) -> httpx.Request:
        """One message @-mentioning every recipient of the batch (same text, same ack link)."""
        first = batch_text(messages, channel=self.config.name, max_batch=MAX_BATCH)
        return self._request(first, [m.address for m in messages])

    def parse_response(self, response: httpx.Response) -> DeliveryResult:
        """200 ``ok`` delivered; 429 rate limited; 5xx retry; Slack's error strings failed for good, named."""
        status = response.status_code
        text = answer_text(response).strip()
        if status == 200 and text == "ok":
            return DeliveryResult(DeliveryStatus.DELIVERED, "Slack ok", status)
        error = text if ERROR_TOKEN.fullmatch(text) else None
        said = error or answer_excerpt(text, self._credentials()) or "an empty body"
        outcome, wait = status_outcome(status), None
        if outcome is DeliveryStatus.RATE_LIMITED:
            wait = retry_after_seconds(response.headers)
            asked = retry_after_phrase(wait)
            reason = f"Slack HTTP 429 {error or 'rate_limited'}: over about 1 message a second ({asked})"
        elif outcome is DeliveryStatus.DELIVERED:
            outcome = DeliveryStatus.FAILED
            reason = f"Slack HTTP {status} but not Slack's answer ({said}); check that the url is the webhook's"
        elif 300 <= status < 400:
            reason = f"Slack HTTP {status} redirect not followed; set the url to the webhook's own address"
        else:
            meaning = ERRORS.get(error or "", "")
            reason = f"Slack HTTP {status} {said}" + (f": {meaning}" if meaning else "")
        return DeliveryResult(outcome, self._scrubbed(reason), status, wait)

    def pacing_key(self, message: Message) -> str:
        """The webhook: a fingerprint of its url."""
        return f"{TYPE}:{credential_fingerprint(self._settings.url)}"

    def auth(self) -> httpx.Auth | None:
        """None: the url is the credential."""
        return None

    def _credentials(self) -> list[str]:
        return [self._settings.url, self._token]

    def _scrubbed(self, text: str) -> str:
        return without_credentials(text, self._credentials())

    def _request(self, message: Message, addresses: Sequence[str]) -> httpx.Request:
        checked_language(message)
        mentions = " ".join(f"<@{a}>" for a in dict.fromkeys(addresses) if MEMBER_ID.fullmatch(a))
        render = self._renderer(message, mentions)
        body = fitted_body(
            message,
            lambda b: _within_limits(render(b)),
            channel=self.config.name,
            limit=f"Slack's limits ({MAX_TEXT_CHARS} characters of text, {MAX_BLOCKS} blocks)",
            remedy="shorten its subject or ack link, or mention fewer people",
        )
        return json_post(self._settings.url, compact_json(render(body)), user_agent=USER_AGENT)

    def _renderer(self, message: Message, mentions: str) -> Callable[[str], dict[str, Any]]:
        """How the message renders around a given body: text only, or text with blocks."""
        title = escape_mrkdwn(drill_title(message))
        rich = self._settings.format == "rich"

        def render(body: str) -> dict[str, Any]:
            framed = framed_text(message, body)
            document: dict[str, Any] = {"text": escape_mrkdwn(framed) + (f"\n{mentions}" if mentions else "")}
            if rich:
                document["blocks"] = _blocks(f"*{title}*\n{escape_mrkdwn(body)}", mentions, message)
            return document | {"unfurl_links": False, "unfurl_media": False}

        return render


def _token(url: httpx.URL) -> str:
    """The webhook's token, the X of ``/services/T/B/X``, or "" when the path is not a webhook's."""
    path = WEBHOOK_PATH.search(url.path)
    return path.group(3) if path else ""


def _blocks(mrkdwn: str, mentions: str, message: Message) -> list[dict[str, Any]]:
    """Sections of the title and body, a section of mentions, and the ack button."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in slack_sections(mrkdwn)
    ]
    if mentions:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mentions}})
    if message.ack_url and len(message.ack_url) <= MAX_BUTTON_URL_CHARS:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": ACK_LABELS[message.language]},
            "url": message.ack_url,
            "style": "primary",
            "action_id": "muster_ack",
        }
        blocks.append({"type": "actions", "elements": [button]})
    return blocks


def _within_limits(document: Mapping[str, Any]) -> bool:
    blocks = document.get("blocks", [])
    return len(document["text"]) <= MAX_TEXT_CHARS and len(blocks) <= MAX_BLOCKS
