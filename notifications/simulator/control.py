"""The simulator's own routes under ``/_sim``: script misbehaviour, read and clear what was received."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from notifications.simulator.responders import SimResponder
from notifications.simulator.state import SimScript, SimState

__all__ = ["register"]


class _Limit(BaseModel):
    """A vendor twin's limit: at most ``count`` requests per ``per_s`` seconds per endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=1)
    per_s: float = Field(gt=0)


_Model = TypeVar("_Model", bound=BaseModel)


async def _read(request: web.Request, model: type[_Model], what: str) -> _Model | web.Response:
    """The request's JSON body as ``model``, or the 400 answer naming each problem."""
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
        return web.json_response({"error": f"invalid {what}", "problems": problems}, status=400)


class _Control:
    def __init__(self, state: SimState) -> None:
        self._state = state

    async def set_script(self, request: web.Request) -> web.Response:
        script = await _read(request, SimScript, "script")
        if isinstance(script, web.Response):
            return script
        self._state.set_script(script)
        return web.json_response({"ok": True, "script": script.model_dump()})

    async def clear_script(self, request: web.Request) -> web.Response:
        self._state.clear_scripts(request.query.get("path"))
        return web.json_response({"ok": True})

    async def add_responder(self, request: web.Request) -> web.Response:
        """Script a person answering ack links: ``{"match", "after_ms", "skip", "note", "via"}``."""
        responder = await _read(request, SimResponder, "responder")
        if isinstance(responder, web.Response):
            return responder
        self._state.responders.add(responder)
        return web.json_response({"ok": True, "responder": responder.model_dump()})

    async def clear_responders(self, request: web.Request) -> web.Response:
        self._state.responders.clear()
        return web.json_response({"ok": True})

    async def answers(self, request: web.Request) -> web.Response:
        return web.json_response(self._state.responders.answers)

    async def received(self, request: web.Request) -> web.Response:
        path = request.query.get("path")
        return web.json_response([r for r in self._state.records if path is None or r["path"] == path])

    async def clear_received(self, request: web.Request) -> web.Response:
        self._state.records.clear()
        return web.json_response({"ok": True})

    async def set_credentials(self, request: web.Request) -> web.Response:
        """Tell a vendor twin its credentials: ``{credential id: secret}`` (replaces that vendor's)."""
        body = await request.json()
        if not isinstance(body, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in body.items()):
            return web.json_response({"error": "send a JSON object of credential id to secret"}, status=400)
        self._state.credentials[request.match_info["vendor"]] = dict(body)
        return web.json_response({"ok": True, "vendor": request.match_info["vendor"], "count": len(body)})

    async def set_limit(self, request: web.Request) -> web.Response:
        """Replace the limit a vendor twin enforces: ``{"count": 20, "per_s": 3}``."""
        limit = await _read(request, _Limit, "limit")
        if isinstance(limit, web.Response):
            return limit
        vendor = request.match_info["vendor"]
        self._state.limits[vendor] = (limit.count, limit.per_s)
        return web.json_response({"ok": True, "vendor": vendor, **limit.model_dump()})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})


def register(app: web.Application, state: SimState) -> None:
    """Add the ``/_sim`` routes."""
    control = _Control(state)
    app.router.add_post("/_sim/script", control.set_script)
    app.router.add_delete("/_sim/script", control.clear_script)
    app.router.add_post("/_sim/responders", control.add_responder)
    app.router.add_delete("/_sim/responders", control.clear_responders)
    app.router.add_get("/_sim/answers", control.answers)
    app.router.add_get("/_sim/received", control.received)
    app.router.add_delete("/_sim/received", control.clear_received)
    app.router.add_get("/_sim/healthz", control.healthz)
    app.router.add_put("/_sim/credentials/{vendor}", control.set_credentials)
    app.router.add_put("/_sim/limits/{vendor}", control.set_limit)
