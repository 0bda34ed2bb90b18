"""Twin of a generic webhook receiver: checks Standard Webhooks signatures and drops repeats, as careful ones do.

A message id (``webhook-id``) accepted once is answered 200 again but not processed
again: its record says ``duplicate: True``. It publishes no rate limit; a test can set
one with ``limits={"webhook": (count, per_s)}`` (or ``PUT /_sim/limits/webhook``),
counted per endpoint name and answered 429 with ``Retry-After`` beyond it.
"""

from __future__ import annotations

import math
import time

from aiohttp import web

from notifications.signing import verify_standard_webhook
from notifications.simulator.state import SimRecord, SimState

__all__ = ["TOLERANCE_S", "VENDOR", "register"]

VENDOR = "webhook"
TOLERANCE_S = 300  # Standard Webhooks: receivers allow ±5 minutes


class _WebhookTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        name = request.match_info["name"]
        record = self._state.open_record(request, name=name, body=body)
        secret = self._state.webhook_secret
        if secret is not None:
            record["signature_valid"] = verify_standard_webhook(
                secret, request.headers, body, now=time.time(), tolerance_s=TOLERANCE_S
            )
        limited = self._over_limit(name)
        return await self._state.answer(request, record, lambda: self._verdict(record), before_script=limited)

    def _over_limit(self, name: str) -> web.Response | None:
        limit = self._state.limits.get(VENDOR)
        if limit is None or self._state.within_rate(f"{VENDOR}:{name}", *limit):
            return None
        count, per_s = limit
        return web.json_response(
            {"error": f"more than {count} requests in {per_s:g} s"},
            status=429,
            headers={"Retry-After": str(math.ceil(per_s))},
        )

    def _verdict(self, record: SimRecord) -> web.Response:
        if record["signature_valid"] is False:
            return web.json_response({"error": "invalid signature"}, status=401)
        if not isinstance(record["body"], dict):
            return web.json_response({"error": "body is not a JSON object"}, status=400)
        message_id = record["headers"].get("webhook-id")
        if message_id and not self._state.accept_once(record["path"], message_id):
            record["duplicate"] = True
        return web.json_response({"ok": True})


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /webhook/{name}``."""
    app.router.add_post("/webhook/{name}", _WebhookTwin(state).receive)
