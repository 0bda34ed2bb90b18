"""Twin of a Teams Workflows webhook: ``POST /teams/workflows/{id}?sig=…``.

Workflows are ``state.credentials["teams"]``: workflow id -> its ``sig``. Checked as the
Workflows trigger checks, answered as Azure answers (``{"error": {"code", "message"}}``):

    unknown workflow id                           404 WorkflowNotFound
    sig missing                                   401 DirectApiAuthorizationRequired
    sig wrong                                     401 DirectApiInvalidAuthorizationSignature
    body over 28 KB                               413 RequestEntityTooLarge
    not a message with Adaptive Card attachments  400 TriggerInputSchemaMismatch  (stricter than Workflows,
                                                      which accepts it and fails later, unseen by the caller)
    over 4 requests a second for the workflow     429 TooManyRequests, Retry-After  (``state.limits["teams"]``)
    else                                          202 Accepted, no body

Records are named ``workflow-<fingerprint of the id>`` and their path ends in ``…`` instead of the id
(the channel holds the workflow's path secret too); the sig (in the query) is never recorded.
"""

from __future__ import annotations

import hmac
import json
import math
from typing import Any, Final

from aiohttp import web

from notifications.channels.teams import CARD_CONTENT_TYPE
from notifications.credentials import credential_fingerprint
from notifications.simulator.state import SimState

__all__ = ["PATH", "VENDOR", "register"]

VENDOR: Final = "teams"
PATH: Final = "/teams/workflows/{workflow_id}"
LIMIT: Final = (4, 1.0)  # requests per second per workflow
MAX_MESSAGE_BYTES: Final = 28 * 1024


class _TeamsTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def send(self, request: web.Request) -> web.Response:
        body = await request.read()
        workflow_id = request.match_info["workflow_id"]
        name, masked = f"workflow-{credential_fingerprint(workflow_id)}", PATH.format(workflow_id="…")
        record = self._state.open_record(request, name=name, body=body, path=masked)
        known = self._state.credential(VENDOR, workflow_id)
        sig = request.query.get("sig", "")
        if known is not None:
            record["signature_valid"] = bool(sig) and hmac.compare_digest(known.encode(), sig.encode())
        return await self._state.answer(
            request, record, lambda: self._verdict(workflow_id, known, sig, body, record["body"])
        )

    def _verdict(self, workflow_id: str, known: str | None, sig: str, body: bytes, document: Any) -> web.Response:
        if known is None:
            return _error(404, "WorkflowNotFound", f"The workflow '{workflow_id}' could not be found.")
        if not sig:
            return _error(401, "DirectApiAuthorizationRequired", "The request must be authenticated.")
        if not hmac.compare_digest(known.encode(), sig.encode()):
            return _error(
                401, "DirectApiInvalidAuthorizationSignature", "The provided authentication signature is not valid."
            )
        if len(body) > MAX_MESSAGE_BYTES:
            return _error(413, "RequestEntityTooLarge", f"The request is over {MAX_MESSAGE_BYTES} bytes.")
        problem = _schema_problem(document)
        if problem:
            return _error(400, "TriggerInputSchemaMismatch", f"The input body does not match the schema: {problem}.")
        count, per_s = self._state.limit(VENDOR, LIMIT)
        if not self._state.within_rate(f"{VENDOR}:{workflow_id}", count, per_s):
            headers = {"Retry-After": str(math.ceil(per_s))}
            return _error(429, "TooManyRequests", "Rate limit is exceeded. Try again later.", headers)
        return web.Response(status=202)


def _schema_problem(document: Any) -> str:
    """What keeps ``document`` from being a Workflows message of Adaptive Cards, or "" when it is one."""
    if not isinstance(document, dict) or document.get("type") != "message":
        return "'type' must be 'message'"
    attachments = document.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "'attachments' must be a non-empty array"
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_CONTENT_TYPE:
            return f"each attachment's 'contentType' must be '{CARD_CONTENT_TYPE}'"
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard" or not isinstance(card.get("body"), list):
            return "each attachment's 'content' must be an AdaptiveCard with a 'body' array"
    return ""


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    text = json.dumps({"error": {"code": code, "message": message}})
    return web.Response(status=status, text=text, content_type="application/json", headers=headers)


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /teams/workflows/{workflow_id}``."""
    app.router.add_post(PATH, _TeamsTwin(state).send)
