"""Twin of Twilio's Messages resource: ``POST /twilio/2010-04-01/Accounts/{Sid}/Messages.json``.

Accounts are ``state.credentials["twilio"]``: account SID -> auth token, checked as HTTP Basic.
Answered as Twilio answers, ``{"code", "message", "more_info", "status"}`` on errors:

    Basic auth missing, wrong, or for another account   401 20003 Authenticate
    To missing / not E.164                              400 21604 / 21211
    neither From nor MessagingServiceSid                400 21603
    Body missing / over 1,600 characters                400 21602 / 21617
    over ``state.limits["twilio"]`` for the account     429 20429 Too Many Requests  (no limit by default:
                                                            Twilio queues messages rather than refusing them)
    else                                                201 the message resource, status "queued"

Records are named ``account-<fingerprint of the SID>`` and their path holds ``…`` instead of the SID.
The record's body is the form (To, From, MessagingServiceSid, Body, StatusCallback); the token is not recorded.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

from notifications.channels.twilio_sms import API_VERSION, E164, MAX_BODY_CHARS, sms_segments, utf16_length
from notifications.credentials import credential_fingerprint
from notifications.simulator.state import SimState

__all__ = ["PATH", "VENDOR", "register"]

VENDOR: Final = "twilio"
PATH: Final = f"/twilio/{API_VERSION}/Accounts/{{sid}}/Messages.json"
RECORDED: Final = ("To", "From", "MessagingServiceSid", "Body", "StatusCallback")


class _TwilioTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def send(self, request: web.Request) -> web.Response:
        body = await request.read()
        sid = request.match_info["sid"]
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        name, masked = f"account-{credential_fingerprint(sid)}", PATH.format(sid="…")
        record = self._state.open_record(request, name=name, body=b"", path=masked, message=body)
        record["body"] = {k: form[k] for k in RECORDED if k in form}
        record["signature_valid"] = self._authenticated(sid, request.headers.get("Authorization", ""))
        return await self._state.answer(request, record, lambda: self._verdict(sid, record["signature_valid"], form))

    def _authenticated(self, sid: str, authorization: str) -> bool:
        token = self._state.credential(VENDOR, sid)
        scheme, _, encoded = authorization.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if token is None or scheme.lower() != "basic" or not hmac.compare_digest(user.encode(), sid.encode()):
            return False
        return hmac.compare_digest(password.encode(), token.encode())

    def _verdict(self, sid: str, authenticated: bool | None, form: Mapping[str, str]) -> web.Response:
        if not authenticated:
            return _error(401, 20003, "Authenticate")
        to, text = form.get("To", ""), form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not E164.fullmatch(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to[:20]}")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if not text:
            return _error(400, 21602, "Message body is required.")
        if utf16_length(text) > MAX_BODY_CHARS:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        limit = self._state.limits.get(VENDOR)
        if limit is not None and not self._state.within_rate(f"{VENDOR}:{sid}", *limit):
            return _error(429, 20429, "Too Many Requests")
        return web.Response(status=201, text=json.dumps(_resource(sid, form)), content_type="application/json")


def _resource(sid: str, form: Mapping[str, str]) -> dict[str, object]:
    """The message resource as Twilio answers a create: queued, not yet sent."""
    message_sid = "SM" + uuid.uuid4().hex
    now = format_datetime(datetime.now(UTC), usegmt=True)
    return {
        "account_sid": sid,
        "api_version": API_VERSION,
        "body": form.get("Body", ""),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": str(sms_segments(form.get("Body", ""))),
        "price": None,
        "price_unit": "USD",
        "sid": message_sid,
        "status": "queued" if form.get("From") or not form.get("MessagingServiceSid") else "accepted",
        "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{sid}/Messages/{message_sid}/Media.json"},
        "to": form.get("To"),
        "uri": f"/{API_VERSION}/Accounts/{sid}/Messages/{message_sid}.json",
    }


def _error(status: int, code: int, message: str) -> web.Response:
    document = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.Response(status=status, text=json.dumps(document), content_type="application/json")


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /twilio/2010-04-01/Accounts/{sid}/Messages.json``."""
    app.router.add_post(PATH, _TwilioTwin(state).send)
