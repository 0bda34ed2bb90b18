"""Twin of the DingTalk custom robot: ``POST /dingtalk/robot/send?access_token=T[&timestamp=…&sign=…]``.

Robots are ``state.credentials["dingtalk"]``: access token -> 加签 secret ("" for a robot
secured by keywords or IP only). Checked as DingTalk checks, answered as DingTalk answers,
always HTTP 200 with an errcode:

    unknown token                               300001 token is not exist
    sign missing, wrong, or timestamp > 1 h off 310000 sign not match / invalid timestamp
    body not a JSON message                     40035  / 400105 unsupported msgtype
    body over 20,000 bytes                      460101 message too long
    over 20 messages a minute for the robot     130101 send too fast  (``state.limits["dingtalk"]`` overrides)
    else                                        0      ok

Records are named ``robot-<fingerprint of the token>``; the token and the sign are never recorded.
Unlike DingTalk, a robot over its limit is not also held for 10 minutes: it recovers with the window.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from notifications.channels.dingtalk import MAX_MESSAGE_BYTES, SIGNATURE_WINDOW_S, dingtalk_sign
from notifications.credentials import credential_fingerprint
from notifications.simulator.state import SimState

__all__ = ["PATH", "VENDOR", "register"]

VENDOR: Final = "dingtalk"
PATH: Final = "/dingtalk/robot/send"
PER_MINUTE: Final = 20
MSGTYPES: Final = frozenset({"text", "markdown", "actionCard", "link", "feedCard"})


class _DingTalkTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def send(self, request: web.Request) -> web.Response:
        body = await request.read()
        token = request.query.get("access_token", "")
        record = self._state.open_record(request, name=f"robot-{credential_fingerprint(token)}", body=body)
        secret = self._state.credential(VENDOR, token)
        refusal = None
        if secret:
            refusal = _signature_refusal(secret, request.query, now_ms=int(time.time() * 1000))
            record["signature_valid"] = refusal is None
        return await self._state.answer(
            request, record, lambda: self._verdict(token, secret, refusal, body, record["body"])
        )

    def _verdict(self, token: str, secret: str | None, refusal: str | None, body: bytes, document: Any) -> web.Response:
        if secret is None:
            return _errcode(300001, "token is not exist")
        if refusal is not None:
            return _errcode(310000, refusal)
        if not isinstance(document, dict) or "msgtype" not in document:
            return _errcode(40035, "缺少参数 json")
        if document["msgtype"] not in MSGTYPES:
            return _errcode(400105, "不支持的消息类型")
        if len(body) > MAX_MESSAGE_BYTES:
            return _errcode(460101, f"message too long, exceed {MAX_MESSAGE_BYTES} bytes")
        count, per_s = self._state.limit(VENDOR, (PER_MINUTE, 60.0))
        if not self._state.within_rate(f"{VENDOR}:{token}", count, per_s):
            return _errcode(130101, f"send too fast, exceed {PER_MINUTE} times per minute")
        return _errcode(0, "ok")


def _signature_refusal(secret: str, query: Mapping[str, str], *, now_ms: int) -> str | None:
    """Why the request's signature is refused, or None when it is valid and fresh."""
    timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
    if not timestamp.isdigit() or not sign:
        return "sign not match, more: timestamp and sign are required"
    if abs(now_ms - int(timestamp)) > SIGNATURE_WINDOW_S * 1000:
        return "invalid timestamp"
    if not hmac.compare_digest(dingtalk_sign(secret, int(timestamp)).encode(), sign.encode()):
        return "sign not match"
    return None


def _errcode(code: int, errmsg: str) -> web.Response:
    return web.Response(
        text=json.dumps({"errcode": code, "errmsg": errmsg}, ensure_ascii=False), content_type="application/json"
    )


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /dingtalk/robot/send``."""
    app.router.add_post(PATH, _DingTalkTwin(state).send)
