"""Twin of PagerDuty's Events API v2: ``POST /pagerduty/v2/enqueue``, with alerts kept by dedup_key.

Services are the keys of ``state.credentials["pagerduty"]`` (routing keys; the values are unused).
Checked as PagerDuty checks, answered as it answers:

    body not JSON                                   400 {"status": "invalid request", "message": "Invalid JSON"}
    routing_key missing, not 32 characters, unknown;
    event_action not trigger|acknowledge|resolve;
    dedup_key over 255 (or missing to acknowledge);
    a trigger without payload summary ≤ 1024,
    source, severity; event over 512 KB             400 {"status": "invalid event", "message": "Event object is
                                                         invalid", "errors": [every problem found]}
    over 120 events a minute for the routing key    429 throttle exceeded  (``state.limits["pagerduty"]``)
    else                                            202 {"status": "success", "message": "Event processed",
                                                         "dedup_key": <the event's, or a new one>}

Alerts: a trigger opens an alert for its dedup_key unless one is open (triggered or acknowledged);
then the alert only counts the trigger and the record is marked ``duplicate``. acknowledge and
resolve change an open alert and are ignored otherwise, as PagerDuty does. A record's ``details``
hold its alert as the event left it (``{"alert": {…}}``). ``GET /_sim/pagerduty/alerts`` shows every
alert; ``DELETE`` forgets them, and so does the simulator's reset. Records are named
``service-<fingerprint of the routing key>``, and the routing key in the recorded body is replaced by
that fingerprint.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any, Final

from aiohttp import web

from notifications.channels.pagerduty import (
    EVENT_ACTIONS,
    MAX_BODY_BYTES,
    MAX_DEDUP_KEY_CHARS,
    MAX_SUMMARY_CHARS,
    RATE_LIMITS,
    ROUTING_KEY_CHARS,
    SEVERITIES,
)
from notifications.credentials import credential_fingerprint
from notifications.simulator.state import SimRecord, SimState

__all__ = ["ALERTS_PATH", "PATH", "VENDOR", "register"]

VENDOR: Final = "pagerduty"
PATH: Final = "/pagerduty/v2/enqueue"
ALERTS_PATH: Final = "/_sim/pagerduty/alerts"
LIMIT: Final = (RATE_LIMITS[0].count, RATE_LIMITS[0].per_s)
THROTTLED: Final = "Requests for this service are arriving too quickly.  Please retry later."


@dataclass
class _Alert:
    """One alert of a service, by dedup_key."""

    service: str  # the fingerprint of its routing key
    dedup_key: str
    status: str = "triggered"  # triggered | acknowledged | resolved
    opened: int = 1  # how many times an alert was opened for this dedup_key (after being resolved)
    triggers: int = 1
    acknowledgements: int = 0
    resolves: int = 0


class _PagerDutyTwin:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self._alerts: dict[tuple[str, str], _Alert] = {}
        state.on_reset(self._alerts.clear)

    async def enqueue(self, request: web.Request) -> web.Response:
        body = await request.read()
        record = self._state.open_record(request, name="service-unknown", body=body)
        event = record["body"]
        key = event.get("routing_key") if isinstance(event, dict) else None
        service = credential_fingerprint(key) if isinstance(key, str) else "unknown"
        if isinstance(event, dict) and "routing_key" in event:
            record["name"] = f"service-{service}"
            record["body"] = event | {"routing_key": f"fingerprint:{service}"}
            record["signature_valid"] = isinstance(key, str) and self._state.credential(VENDOR, key) is not None
        return await self._state.answer(request, record, lambda: self._verdict(event, len(body), service, record))

    def _verdict(self, event: Any, size: int, service: str, record: SimRecord) -> web.Response:
        if not isinstance(event, dict):
            return web.json_response({"status": "invalid request", "message": "Invalid JSON"}, status=400)
        errors = _event_errors(event, size, known=record["signature_valid"] is True)
        if errors:
            document = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
            return web.json_response(document, status=400)
        count, per_s = self._state.limit(VENDOR, LIMIT)
        if not self._state.within_rate(f"{VENDOR}:{service}", count, per_s):
            return web.json_response({"status": "throttle exceeded", "message": THROTTLED}, status=429)
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        record["duplicate"] = self._apply(service, event["event_action"], dedup_key)
        alert = self._alerts.get((service, dedup_key))
        if alert is not None:
            record["details"] = {"alert": asdict(alert)}
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202
        )

    def _apply(self, service: str, action: str, dedup_key: str) -> bool:
        """Change the alert as the event says; True when a trigger joined an alert already open."""
        alert = self._alerts.get((service, dedup_key))
        is_open = alert is not None and alert.status != "resolved"
        if action == "trigger":
            if alert is None:
                self._alerts[(service, dedup_key)] = _Alert(service, dedup_key)
                return False
            alert.triggers += 1
            if is_open:
                return True
            alert.status, alert.opened = "triggered", alert.opened + 1
            return False
        if alert is not None and is_open:
            if action == "acknowledge":
                alert.status, alert.acknowledgements = "acknowledged", alert.acknowledgements + 1
            else:
                alert.status, alert.resolves = "resolved", alert.resolves + 1
        return False

    async def alerts(self, request: web.Request) -> web.Response:
        return web.json_response([asdict(alert) for alert in self._alerts.values()])

    async def forget_alerts(self, request: web.Request) -> web.Response:
        self._alerts.clear()
        return web.json_response({"ok": True})


def _event_errors(event: dict[str, Any], size: int, *, known: bool) -> list[str]:
    """Every problem PagerDuty would name in the event, in its words."""
    errors: list[str] = []
    key, action, dedup_key = event.get("routing_key"), event.get("event_action"), event.get("dedup_key")
    if not isinstance(key, str) or not key:
        errors.append("'routing_key' is missing or blank")
    elif len(key) != ROUTING_KEY_CHARS:
        errors.append(f"Length of 'routing_key' is incorrect (should be {ROUTING_KEY_CHARS} characters)")
    elif not known:
        errors.append("Invalid routing key")
    if action not in EVENT_ACTIONS:
        errors.append(f"'event_action' is invalid (must be one of: {', '.join(EVENT_ACTIONS)})")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > MAX_DEDUP_KEY_CHARS):
        errors.append(f"'dedup_key' must be a string of at most {MAX_DEDUP_KEY_CHARS} characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors.extend(_payload_errors(event.get("payload")))
    if size > MAX_BODY_BYTES:
        errors.append(f"Event object is too large (maximum is {MAX_BODY_BYTES // 1024} KB)")
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > MAX_SUMMARY_CHARS:
        errors.append(f"'payload.summary' is too long (maximum is {MAX_SUMMARY_CHARS} characters)")
    if not isinstance(payload.get("source"), str) or not payload["source"].strip():
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append(f"'payload.severity' is invalid (must be one of: {', '.join(SEVERITIES)})")
    return errors


def register(app: web.Application, state: SimState) -> None:
    """Add ``POST /pagerduty/v2/enqueue`` and ``GET``/``DELETE /_sim/pagerduty/alerts``."""
    twin = _PagerDutyTwin(state)
    app.router.add_post(PATH, twin.enqueue)
    app.router.add_get(ALERTS_PATH, twin.alerts)
    app.router.add_delete(ALERTS_PATH, twin.forget_alerts)
