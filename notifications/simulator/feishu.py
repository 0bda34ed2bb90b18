"""Twin of the Feishu custom bot: ``POST /feishu/open-apis/bot/v2/hook/{id}``.

Bots are ``state.credentials["feishu"]``: webhook id -> signature secret ("" for an unsigned
bot). Checked as Feishu checks, answered as Feishu answers, ``{"code", "msg", "data": {}}``:

    unknown webhook id                              19001 param invalid: incoming webhook access token invalid
    sign missing, wrong, or timestamp > 1 h off     19021 sign match fail or timestamp is not within one hour …
    body not JSON, unknown msg_type, over 20 KB     9499  Bad Request
    over 5 a second or 100 a minute for the bot     11232 frequency limited  (``state.limits["feishu"]`` replaces both)
    else                                            0     success

Records are named ``bot-<fingerprint of the id>`` and their path ends in ``…`` instead of the id; the
recorded body holds the sign, nothing else secret.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any, Final

from aiohttp import web

from notifications.channels.feishu import MAX_BODY_BYTES, SIGNATURE_WINDOW_S, feishu_sign
from notifications.credentials import credential_fingerprint
from notifications.simulator.state import SimState

__all__ = ["PATH", "VENDOR", "register"]

VENDOR: Final = "feishu"
PATH: Final = "/feishu/open-apis/bot/v2/hook/{hook_id}"
LIMITS: Final = ((5, 1.0), (100, 60.0))  # (count, per seconds) per bot
MSG_TYPES: Final = frozenset({"text", "post", "interactive", "image", "share_chat"})
SIGN_REFUSED: Final = "sign match fail or timestamp is not within one hour from current time"


class _FeishuTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def send(self, request: web.Request) -> web.Response:
        body = await request.read()
        hook_id = request.match_info["hook_id"]
        name, masked = f"bot-{credential_fingerprint(hook_id)}", PATH.format(hook_id="…")
        record = self._state.open_record(request, name=name, body=body, path=masked)
        document = record["body"]
        secret = self._state.credential(VENDOR, hook_id)
        if secret:
            record["signature_valid"] = _signature_valid(secret, document, now=time.time())
        return await self._state.answer(
            request, record, lambda: self._verdict(hook_id, secret, record["signature_valid"], body, document)
        )

    def _verdict(
        self, hook_id: str, secret: str | None, signature_valid: bool | None, body: bytes, document: Any
    ) -> web.Response:
        if secret is None:
            return _code(19001, "param invalid: incoming webhook access token invalid")
        if signature_valid is False:
            return _code(19021, SIGN_REFUSED)
        if len(body) > MAX_BODY_BYTES or not isinstance(document, dict) or document.get("msg_type") not in MSG_TYPES:
            return _code(9499, "Bad Request")
        limits = [self._state.limits[VENDOR]] if VENDOR in self._state.limits else LIMITS
        for count, per_s in limits:
            if not self._state.within_rate(f"{VENDOR}:{hook_id}:{per_s:g}", count, per_s):
                return _code(11232, "frequency limited psm[lark.oapi.app.platform.runtime]appID[muster-sim]")
        return _code(0, "success")


def _signature_valid(secret: str, document: Any, *, now: float) -> bool:
    """Whether the body carries a fresh timestamp (string or number of seconds) and its sign."""
    if not isinstance(document, dict):
        return False
    timestamp, sign = str(document.get("timestamp", "")), document.get("sign")
    if not timestamp.isdigit() or not isinstance(sign, str) or abs(now - int(timestamp)) > SIGNATURE_WINDOW_S:
        return False
    return hmac.compare_digest(feishu_sign(secret, int(timestamp)).encode(), sign.encode())


def _code(code: int, msg: str) -> web.Response:
    return web.Response(text=json.dumps({"code": code, "msg": msg, "data": {}}), content_type="application/json")


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /feishu/open-apis/bot/v2/hook/{hook_id}``."""
    app.router.add_post(PATH, _FeishuTwin(state).send)
