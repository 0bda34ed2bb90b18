"""Twin of a Slack incoming webhook: ``POST /slack/services/{T}/{B}/{X}``.

Webhooks are ``state.credentials["slack"]``: ``"T/B"`` (workspace and webhook ids) -> the token X.
Checked as Slack checks, answered as Slack answers, a plain-text string:

    unknown T/B                                    404 no_service
    wrong token X                                  403 invalid_token
    body not a JSON object                         400 invalid_payload
    neither text nor blocks                        400 no_text
    text over 40,000 characters                    400 msg_too_long  (Slack itself truncates; the twin tells)
    over 50 blocks, a section over 3,000 chars,
    a button url over 3,000 or label over 75       400 invalid_blocks
    over 1 message a second for the webhook        429 rate_limited, Retry-After  (``state.limits["slack"]``)
    else                                           200 ok

Records are named ``webhook-T/B`` and their path ends in ``…`` instead of the token.
"""

from __future__ import annotations

import hmac
import math
from typing import Any, Final

from aiohttp import web

from notifications.channels.slack import MAX_BLOCKS, MAX_BUTTON_URL_CHARS, MAX_SECTION_CHARS, MAX_TEXT_CHARS
from notifications.simulator.state import SimState

__all__ = ["PATH", "VENDOR", "register"]

VENDOR: Final = "slack"
PATH: Final = "/slack/services/{team}/{hook}/{token}"
LIMIT: Final = (1, 1.0)  # messages per second per webhook
MAX_BUTTON_LABEL_CHARS: Final = 75


class _SlackTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def send(self, request: web.Request) -> web.Response:
        body = await request.read()
        team, hook, token = (request.match_info[k] for k in ("team", "hook", "token"))
        webhook = f"{team}/{hook}"
        masked = PATH.format(team=team, hook=hook, token="…")
        record = self._state.open_record(request, name=f"webhook-{webhook}", body=body, path=masked)
        known = self._state.credential(VENDOR, webhook)
        if known is not None:
            record["signature_valid"] = hmac.compare_digest(known.encode(), token.encode())
        return await self._state.answer(
            request, record, lambda: self._verdict(webhook, known, record["signature_valid"], record["body"])
        )

    def _verdict(self, webhook: str, known: str | None, token_valid: bool | None, document: Any) -> web.Response:
        if known is None:
            return _answer(404, "no_service")
        if not token_valid:
            return _answer(403, "invalid_token")
        if not isinstance(document, dict):
            return _answer(400, "invalid_payload")
        text, blocks = document.get("text"), document.get("blocks")
        if not (isinstance(text, str) and text) and not blocks:
            return _answer(400, "no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
            return _answer(400, "msg_too_long")
        if blocks is not None and not _blocks_valid(blocks):
            return _answer(400, "invalid_blocks")
        count, per_s = self._state.limit(VENDOR, LIMIT)
        if not self._state.within_rate(f"{VENDOR}:{webhook}", count, per_s):
            return _answer(429, "rate_limited", retry_after=math.ceil(per_s))
        return _answer(200, "ok")


def _blocks_valid(blocks: Any) -> bool:
    """Whether ``blocks`` keeps Block Kit's limits for the sections and buttons Muster sends."""
    if not isinstance(blocks, list) or not 0 < len(blocks) <= MAX_BLOCKS:
        return False
    for block in blocks:
        if not isinstance(block, dict):
            return False
        if block.get("type") == "section":
            section = block.get("text")
            text = section.get("text") if isinstance(section, dict) else None
            if not isinstance(text, str) or not 0 < len(text) <= MAX_SECTION_CHARS:
                return False
        elif block.get("type") == "actions":
            for element in block.get("elements") or []:
                if not isinstance(element, dict) or not isinstance(element.get("text"), dict):
                    return False
                label, url = str(element["text"].get("text", "")), str(element.get("url", ""))
                if not 0 < len(label) <= MAX_BUTTON_LABEL_CHARS or len(url) > MAX_BUTTON_URL_CHARS:
                    return False
    return True


def _answer(status: int, text: str, *, retry_after: int | None = None) -> web.Response:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return web.Response(status=status, text=text, content_type="text/html", headers=headers)


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /slack/services/{team}/{hook}/{token}``."""
    app.router.add_post(PATH, _SlackTwin(state).send)
