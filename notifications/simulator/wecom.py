"""Twin of the WeCom group robot: ``POST /wecom/cgi-bin/webhook/send?key=KEY``.

Robots are the keys of ``state.credentials["wecom"]`` (their values are unused: WeCom does
not sign). Answered as WeCom answers, HTTP 200 with an errcode:

    unknown or missing key                      93000 invalid webhook url
    body not a JSON message                     40008 invalid message type
    text over 2,048 bytes, markdown over 4,096  40058 invalid parameter
    over 20 messages a minute for the robot     45009 api freq out of limit  (``state.limits["wecom"]`` overrides)
    else                                        0     ok

Records are named ``robot-<fingerprint of the key>``; the key is never recorded.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aiohttp import web

from notifications.channels.wecom import MAX_MARKDOWN_BYTES, MAX_TEXT_BYTES
from notifications.credentials import credential_fingerprint
from notifications.simulator.state import SimState

__all__ = ["PATH", "VENDOR", "register"]

VENDOR: Final = "wecom"
PATH: Final = "/wecom/cgi-bin/webhook/send"
PER_MINUTE: Final = 20
CONTENT_LIMITS: Final = {"text": MAX_TEXT_BYTES, "markdown": MAX_MARKDOWN_BYTES}
MSGTYPES: Final = frozenset({"text", "markdown", "template_card", "image", "news", "file"})


class _WeComTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def send(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.query.get("key", "")
        record = self._state.open_record(request, name=f"robot-{credential_fingerprint(key)}", body=body)
        return await self._state.answer(request, record, lambda: self._verdict(key, record["body"]))

    def _verdict(self, key: str, document: Any) -> web.Response:
        if not key or self._state.credential(VENDOR, key) is None:
            return _errcode(93000, "invalid webhook url, hint: [muster-sim]")
        if not isinstance(document, dict) or document.get("msgtype") not in MSGTYPES:
            return _errcode(40008, "invalid message type, hint: [muster-sim]")
        msgtype = document["msgtype"]
        section = document.get(msgtype)
        content = section.get("content") if isinstance(section, dict) else None
        if msgtype in CONTENT_LIMITS:
            if not isinstance(content, str) or not content:
                return _errcode(44004, "empty content, hint: [muster-sim]")
            if len(content.encode()) > CONTENT_LIMITS[msgtype]:
                return _errcode(40058, f"invalid parameter: content exceed max length {CONTENT_LIMITS[msgtype]}")
        count, per_s = self._state.limit(VENDOR, (PER_MINUTE, 60.0))
        if not self._state.within_rate(f"{VENDOR}:{key}", count, per_s):
            return _errcode(45009, "api freq out of limit, hint: [muster-sim]")
        return _errcode(0, "ok")


def _errcode(code: int, errmsg: str) -> web.Response:
    return web.Response(text=json.dumps({"errcode": code, "errmsg": errmsg}), content_type="application/json")


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /wecom/cgi-bin/webhook/send``."""
    app.router.add_post(PATH, _WeComTwin(state).send)
