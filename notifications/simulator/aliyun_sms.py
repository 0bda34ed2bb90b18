"""Twin of Aliyun SMS SendSms (Dysmsapi 2017-05-25): ``GET /aliyun/?Action=SendSms&…&Signature=…``.

AccessKeys are ``state.credentials["aliyun"]``: AccessKeyId -> AccessKeySecret. Checked as
Aliyun's RPC gateway checks, answered as it answers (``{"RequestId", "Code", "Message", …}``):

    AccessKeyId missing or unknown             404 InvalidAccessKeyId.NotFound
    Signature wrong                            400 SignatureDoesNotMatch (quoting the string to sign)
    Timestamp over 15 minutes off              400 InvalidTimeStamp.Expired
    SignatureNonce seen in the last 15 minutes 400 SignatureNonceUsed
    SignName / TemplateCode missing            200 isv.SMS_SIGNATURE_ILLEGAL / isv.SMS_TEMPLATE_ILLEGAL
    PhoneNumbers invalid or over 1,000         200 isv.MOBILE_NUMBER_ILLEGAL / isv.MOBILE_COUNT_OVER_LIMIT
    TemplateParam not a JSON object of text    200 isv.INVALID_JSON_PARAM / isv.PARAM_LENGTH_LIMIT
    over 50 a day per sign, template, number   200 isv.BUSINESS_LIMIT_CONTROL 触发天级流控Permits:50
                                               (``state.limits["aliyun"]`` overrides)
    else                                       200 OK with a BizId

The parameters travel in the query, so the record's ``body`` is the business parameters
(PhoneNumbers, SignName, TemplateCode, TemplateParam); the AccessKeyId and Signature are not recorded.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from aiohttp import web

from notifications.channels.aliyun_sms import (
    API_VERSION,
    MAX_BATCH,
    PER_NUMBER_DAILY_LIMIT,
    PHONE,
    TIMESTAMP_FORMAT,
    TIMESTAMP_WINDOW_S,
    aliyun_signature,
    canonical_query,
    percent_encode,
)
from notifications.simulator.state import SimState

__all__ = ["PATH", "VENDOR", "register"]

VENDOR: Final = "aliyun"
PATH: Final = "/aliyun/"
MAX_TEMPLATE_CHARS: Final = 500  # a whole template with its variables
RECORDED: Final = ("PhoneNumbers", "SignName", "TemplateCode", "TemplateParam")


class _AliyunSmsTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self._nonces: dict[str, float] = {}  # SignatureNonce -> when it was used, for 15 minutes
        state.on_reset(self._forget_nonces)

    async def send(self, request: web.Request) -> web.Response:
        params = {name: request.query[name] for name in request.query}
        shown = json.dumps({k: params[k] for k in RECORDED if k in params}, ensure_ascii=False).encode()
        record = self._state.open_record(request, name=params.get("TemplateCode", ""), body=shown)
        secret = self._state.credential(VENDOR, params.get("AccessKeyId", ""))
        refusal = None
        if secret is None:
            refusal = _answer("InvalidAccessKeyId.NotFound", "Specified access key is not found.", status=404)
        else:
            refusal = _signature_refusal(secret, params)
            record["signature_valid"] = refusal is None
            refusal = refusal or self._request_refusal(params)
        return await self._state.answer(request, record, lambda: refusal or self._verdict(params))

    def _forget_nonces(self) -> None:
        self._nonces = {}

    def _request_refusal(self, params: Mapping[str, str]) -> web.Response | None:
        """What the RPC gateway answers for a signed request before SendSms runs (time, nonce, action)."""
        try:
            sent_at = datetime.strptime(params.get("Timestamp", ""), TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return _answer("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if abs(time.time() - sent_at.timestamp()) > TIMESTAMP_WINDOW_S:
            return _answer("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        now = time.monotonic()
        self._nonces = {n: at for n, at in self._nonces.items() if now - at < TIMESTAMP_WINDOW_S}
        nonce = params.get("SignatureNonce", "")
        if not nonce or nonce in self._nonces:
            return _answer("SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces[nonce] = now
        if params.get("Action") != "SendSms" or params.get("Version") != API_VERSION:
            return _answer("InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        return None

    def _verdict(self, params: Mapping[str, str]) -> web.Response:
        sign, template = params.get("SignName", ""), params.get("TemplateCode", "")
        if not sign:
            return _answer("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名", status=200)
        if not template:
            return _answer("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", status=200)
        numbers = params.get("PhoneNumbers", "").split(",")
        if len(numbers) > MAX_BATCH:
            return _answer("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制", status=200)
        if not all(PHONE.fullmatch(n) for n in numbers):
            return _answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", status=200)
        try:
            values = json.loads(params.get("TemplateParam", "{}"))
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return _answer("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", status=200)
        if any(not v or len(v) > MAX_TEMPLATE_CHARS for v in values.values()):
            return _answer("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制", status=200)
        count, per_s = self._state.limit(VENDOR, (PER_NUMBER_DAILY_LIMIT, 86400.0))
        for number in numbers:
            if not self._state.within_rate(f"{VENDOR}:{sign}:{template}:{number}", count, per_s):
                return _answer("isv.BUSINESS_LIMIT_CONTROL", f"触发天级流控Permits:{count}", status=200)
        return _answer("OK", "OK", status=200, biz_id=f"{uuid.uuid4().int % 10**18}^0")


def _signature_refusal(secret: str, params: Mapping[str, str]) -> web.Response | None:
    """SignatureDoesNotMatch, quoting the string to sign as Aliyun does, or None when the signature holds."""
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    if hmac.compare_digest(aliyun_signature("GET", unsigned, secret).encode(), params.get("Signature", "").encode()):
        return None
    string_to_sign = f"GET&{percent_encode('/')}&{percent_encode(canonical_query(unsigned))}"
    message = f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
    return _answer("SignatureDoesNotMatch", message)


def _answer(code: str, message: str, *, status: int = 400, biz_id: str | None = None) -> web.Response:
    document = {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message}
    if biz_id is not None:
        document["BizId"] = biz_id
    elif code != "OK":
        document |= {"HostId": "dysmsapi.aliyuncs.com", "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}"}
    return web.Response(text=json.dumps(document, ensure_ascii=False), status=status, content_type="application/json")


def register(app: web.Application, state: SimState) -> None:
    """Add ``GET /aliyun/``."""
    app.router.add_get(PATH, _AliyunSmsTwin(state).send)
