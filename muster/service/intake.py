"""What an accepted intake event does: a new incident and its run, a repeat, an update, an ack, a close.

Everything is recorded in the action log before the caller gets an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flows import find_playbook, playbook_of_run
from incidents import (
    ActionLog,
    EntryKind,
    EventAction,
    Incident,
    SourceEvent,
    choose_playbook,
    close_incident,
    incident_from_log,
    report_incident,
    update_incident,
)
from muster.errors import IntakeError, PlaybookError
from muster.service.config import ServiceConfig
from muster.service.runs import RunLauncher

__all__ = ["Intake", "IntakeResult"]


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What became of one event: ``status`` is new, attached, updated, acknowledged, closed or unknown."""

    status: str
    incident_id: str | None
    dedup_key: str | None
    playbook: str | None = None
    grade: str | None = None


class Intake:
    """Turns intake events into action-log entries and runs."""

    def __init__(self, *, log: ActionLog, config: ServiceConfig, launcher: RunLauncher) -> None:
        self.log = log
        self.config = config
        self.launcher = launcher

    def accept(self, event: SourceEvent, *, source: str, playbook: str | None = None) -> IntakeResult:
        """Apply one event; the log holds it before this returns.

        It runs without awaiting anything, so on the service's event loop two events
        with the same dedup key can never interleave between lookup and record.
        """
        return self._apply(event, source=source, playbook=playbook)

    def _apply(self, event: SourceEvent, *, source: str, playbook: str | None) -> IntakeResult:
        origin = f"{event.format}:{source}"
        keys = [k for k in (event.dedup_key, *event.references) if k]
        open_id = next((i for i in (self._open_incident(k) for k in keys) if i is not None), None)
        if event.action in (EventAction.RESOLVE, EventAction.CANCEL):
            if open_id is None:
                return IntakeResult("unknown", None, event.dedup_key)
            close_incident(
                self.log,
                open_id,
                source=origin,
                reason=event.action.value + (f": {event.raw_summary}" if event.raw_summary else ""),
            )
            return IntakeResult("closed", open_id, event.dedup_key)
        if event.action is EventAction.ACKNOWLEDGE:
            if open_id is None:
                return IntakeResult("unknown", None, event.dedup_key)
            self.log.record(open_id, EntryKind.ACK_RECEIVED, detail={"source": origin, "by": source})
            return IntakeResult("acknowledged", open_id, event.dedup_key)
        if open_id is not None:
            return self._update(open_id, event, origin)
        if event.action is EventAction.UPDATE and event.format == "muster":
            return IntakeResult("unknown", None, event.dedup_key)  # an update names an open incident, or nothing
        return self._trigger(event, origin, playbook)

    def _trigger(self, event: SourceEvent, origin: str, playbook: str | None) -> IntakeResult:
        rule = None if playbook else choose_playbook(event, self.config.mappings)
        chosen = playbook or (rule.playbook if rule else None)
        plan = None
        if chosen is not None:
            try:
                plan = find_playbook(chosen, [Path(d) for d in self.launcher.options.playbook_dirs])
            except PlaybookError as exc:
                raise IntakeError([("playbook", str(exc).split(": ", 1)[-1])]) from None
        # The type decides the supplementary-report window (7 days for fires): the rule's, else the plan's own.
        default_type = rule.incident_type if rule else (plan.incident_types[0] if plan else "unknown")
        fields: dict[str, Any] = {"type": default_type} | dict(event.fields)
        fields.update(dedup_key=event.dedup_key, drill=event.drill or bool(fields.get("drill")))
        fields.setdefault("title", event.raw_summary or chosen or "incident")
        try:
            incident = Incident.model_validate(fields)
        except ValidationError as exc:
            raise IntakeError(
                [(".".join(str(p) for p in ("incident", *e["loc"])), e["msg"]) for e in exc.errors(include_url=False)]
            ) from None
        if chosen is None:
            raise IntakeError([("playbook", "no playbook given and no mapping rule matches")])
        report_incident(self.log, incident, source=origin)
        self.launcher.start(incident, chosen)
        return IntakeResult("new", incident.id, event.dedup_key, chosen, incident.grade.value)

    def _update(self, incident_id: str, event: SourceEvent, origin: str) -> IntakeResult:
        entries = self.log.entries(incident_id)
        current = incident_from_log(entries)
        # A repeated trigger may carry its own timestamp; the incident still happened when first reported.
        kept = {"id", "occurred_at"} if event.action is EventAction.TRIGGER else {"id"}
        changes = {k: v for k, v in event.fields.items() if k in Incident.model_fields and k not in kept}
        changed = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if event.action is EventAction.TRIGGER and not changed:
            self.log.record(
                incident_id,
                EntryKind.INCIDENT_REPEATED,
                detail={"source": origin, "summary": event.raw_summary, "dedup_key": event.dedup_key},
            )
            return IntakeResult("attached", incident_id, event.dedup_key, grade=current.grade.value)
        try:
            updated = update_incident(self.log, current, changed, source=origin)
        except ValidationError as exc:
            raise IntakeError(
                [(".".join(str(p) for p in ("incident", *e["loc"])), e["msg"]) for e in exc.errors(include_url=False)]
            ) from None
        started = [e for e in entries if e.kind == EntryKind.RUN_STARTED]
        if started and not self.launcher.active(incident_id):
            self.launcher.start(updated, playbook_of_run(started[-1]))
        return IntakeResult("updated", incident_id, event.dedup_key, grade=updated.grade.value)

    def _open_incident(self, key: str) -> str | None:
        """The newest incident reported with ``key`` inside the dedup window and not closed."""
        since = datetime.now(UTC) - self.config.dedup_window
        for entry in self.log.find_key(EntryKind.INCIDENT_REPORTED, key):
            if entry.at < since:
                return None
            if self.log.latest(entry.incident_id, [EntryKind.INCIDENT_CLOSED]) is None:
                return entry.incident_id
        return None
