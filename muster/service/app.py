"""The HTTP service: intake in four formats, health, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from incidents import (
    ActionLog,
    SourceEvent,
    parse_alertmanager,
    parse_cap,
    parse_muster,
    parse_pagerduty,
)
from muster import __version__
from muster.errors import IntakeError, MusterError
from muster.service.answers import add_answer_routes
from muster.service.config import IntakeSource, ServiceConfig
from muster.service.guard import authenticate, parse_json, read_body, require_content_type
from muster.service.intake import Intake, IntakeResult
from muster.service.runs import RunLauncher, unfinished_runs

__all__ = ["ServiceState", "create_app"]

_JSON = ("application/json",)
_XML = ("application/cap+xml", "application/xml", "text/xml")


@dataclass
class ServiceState:
    """What the routes share: config, the log, the intake and the runs."""

    config: ServiceConfig
    log: ActionLog
    launcher: RunLauncher
    sources: list[IntakeSource]
    prefect_api: str
    ack_keys: list[bytes] = field(default_factory=list)  # the current key first; older ones still verify
    shutdown_grace_s: float = 30.0
    on_ready: list[Callable[[], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    @property
    def intake(self) -> Intake:
        """The intake over this state's log, config and launcher."""
        return Intake(log=self.log, config=self.config, launcher=self.launcher)


def _invalid(error: IntakeError) -> HTTPException:
    problems = [{"path": path, "message": message} for path, message in error.problems]
    return HTTPException(422, detail={"error": "the event is not valid", "problems": problems})


def _accept(state: ServiceState, events: list[SourceEvent], source: IntakeSource) -> list[IntakeResult]:
    try:
        return [state.intake.accept(event, source=source.name, playbook=event.playbook) for event in events]
    except IntakeError as exc:
        raise _invalid(exc) from None


def create_app(state: ServiceState) -> FastAPI:
    """The FastAPI app of `muster serve`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for incident, playbook in unfinished_runs(state.log):  # stopped mid-run last time: go on
            state.launcher.start(incident, playbook)
        for ready in state.on_ready:
            ready()
        yield
        await state.launcher.shutdown(state.shutdown_grace_s)
        for stop in state.on_stop:
            stop()

    app = FastAPI(
        title="Muster",
        version=__version__,
        description="Incident intake for runnable emergency plans (应急预案).",
        lifespan=lifespan,
    )

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        body = exc.detail if isinstance(exc.detail, dict) else {"error": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, Any]:
        """Liveness and what the service is doing."""
        return {
            "status": "ok",
            "version": __version__,
            "runs": state.launcher.count(),
            "prefect_api": state.prefect_api,
        }

    @app.post("/v1/incidents", status_code=202, tags=["intake"])
    async def muster_incident(request: Request) -> dict[str, Any]:
        """Report an incident in Muster's own JSON: `{"playbook": id, "incident": {...}, "action": "trigger"}`."""
        source = authenticate(request, state.sources, "muster")
        require_content_type(request, _JSON)
        body = parse_json(await read_body(request, state.config.max_body_bytes))
        try:
            events = parse_muster(body)
        except IntakeError as exc:
            raise _invalid(exc) from None
        results = _accept(state, events, source)
        return _result_body(results[0]) if len(results) == 1 else {"results": [_result_body(r) for r in results]}

    @app.post("/v2/enqueue", status_code=202, tags=["intake"])
    async def pagerduty_event(request: Request) -> dict[str, Any]:
        """PagerDuty Events API v2: trigger, acknowledge, resolve (anything that pages PagerDuty can start a plan)."""
        require_content_type(request, _JSON)
        body = parse_json(await read_body(request, min(state.config.max_body_bytes, 512 * 1024)))
        routing_key = body.get("routing_key") if isinstance(body, dict) else None
        source = authenticate(
            request, state.sources, "pagerduty", body_token=routing_key if isinstance(routing_key, str) else None
        )
        try:
            events = parse_pagerduty(body)
            results = [state.intake.accept(e, source=source.name) for e in events]
        except IntakeError as exc:
            errors = [f"{path}: {message}" if path else message for path, message in exc.problems]
            raise HTTPException(
                400, detail={"status": "invalid event", "message": "Event object is invalid", "errors": errors}
            ) from None
        return {
            "status": "success",
            "message": "Event processed",
            "dedup_key": results[0].dedup_key,
            "incident_id": results[0].incident_id,
        }

    @app.post("/v1/alertmanager", status_code=202, tags=["intake"])
    async def alertmanager_webhook(request: Request) -> dict[str, Any]:
        """Prometheus Alertmanager webhook v4: one incident per alert group; resolved closes it."""
        source = authenticate(request, state.sources, "alertmanager")
        require_content_type(request, _JSON)
        body = parse_json(await read_body(request, state.config.max_body_bytes))
        try:
            events = parse_alertmanager(body)
        except IntakeError as exc:
            raise _invalid(exc) from None
        return {"results": [_result_body(r) for r in _accept(state, events, source)]}

    @app.post("/v1/cap", status_code=202, tags=["intake"])
    async def cap_alert(request: Request) -> dict[str, Any]:
        """OASIS CAP 1.2 XML (parsed safely): status Exercise is a drill; Update and Cancel act on earlier alerts."""
        source = authenticate(request, state.sources, "cap")
        require_content_type(request, _XML)
        body = await read_body(request, state.config.max_body_bytes)
        try:
            events = parse_cap(body)
        except IntakeError as exc:
            raise _invalid(exc) from None
        return {"results": [_result_body(r) for r in _accept(state, events, source)]}

    add_answer_routes(app, log=state.log, keys=state.ack_keys)

    @app.exception_handler(MusterError)
    async def _muster_error(request: Request, exc: MusterError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    return app


def _result_body(result: IntakeResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "incident_id": result.incident_id,
        "dedup_key": result.dedup_key,
        "playbook": result.playbook,
        "grade": result.grade,
    }
