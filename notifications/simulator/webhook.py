"""Twin of a generic webhook receiver: checks Standard Webhooks signatures as a careful receiver does."""

from __future__ import annotations

import time

from aiohttp import web

from notifications.signing import verify_standard_webhook
from notifications.simulator.state import SimState

__all__ = ["TOLERANCE_S", "register"]

TOLERANCE_S = 300  # Standard Webhooks: receivers allow ±5 minutes


class _WebhookTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        record = self._state.open_record(request, name=request.match_info["name"], body=body)
        secret = self._state.webhook_secret
        if secret is not None:
            record["signature_valid"] = verify_standard_webhook(
                secret, request.headers, body, now=time.time(), tolerance_s=TOLERANCE_S
            )
        answer = await self._state.scripted_answer(request.path)
        if answer is None:
            answer = _verdict(record["signature_valid"], record["body"])
        record["status"] = answer.status
        return answer


def _verdict(signature_valid: bool | None, body: object) -> web.Response:
    if signature_valid is False:
        return web.json_response({"error": "invalid signature"}, status=401)
    if not isinstance(body, dict):
        return web.json_response({"error": "body is not a JSON object"}, status=400)
    return web.json_response({"ok": True})


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /webhook/{name}``."""
    app.router.add_post("/webhook/{name}", _WebhookTwin(state).receive)
