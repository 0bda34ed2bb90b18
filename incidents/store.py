"""Opening the action log by URL, and reading an incident back from it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from incidents.log import ActionLog, Entry, EntryKind, NewEntry, Outcome
from incidents.model import Incident
from incidents.sqlite_log import SQLiteActionLog
from muster.errors import ActionLogError

__all__ = [
    "CASUALTY_FIELDS",
    "close_incident",
    "incident_from_log",
    "open_action_log",
    "report_incident",
    "supplementary_window",
    "update_incident",
]


def open_action_log(url: str | Path) -> ActionLog:
    """Open the store named by a path or a ``sqlite:///path`` URL."""
    text = str(url)
    if text.startswith("sqlite:///"):
        return SQLiteActionLog(text.removeprefix("sqlite:///"))
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ActionLogError(f"unsupported action-log URL scheme {scheme!r}; use a file path or sqlite:///PATH")
    return SQLiteActionLog(text)


def incident_from_log(entries: Sequence[Entry]) -> Incident:
    """The incident as last reported or updated in its log."""
    snapshots = [
        e.detail["incident"]
        for e in entries
        if e.kind in (EntryKind.INCIDENT_REPORTED, EntryKind.INCIDENT_UPDATED) and "incident" in e.detail
    ]
    if not snapshots:
        raise ActionLogError("the log holds no incident.reported entry; is the incident id right?")
    return Incident.model_validate(snapshots[-1])


def report_incident(log: ActionLog, incident: Incident, *, source: str) -> list[Entry]:
    """Write a new incident and its grade to the log (the first two entries of its chain)."""
    grade = incident.grade
    return log.record_many(
        incident.id,
        [
            NewEntry(
                EntryKind.INCIDENT_REPORTED,
                key=incident.dedup_key,
                detail={"incident": incident.model_dump(mode="json"), "source": source},
            ),
            NewEntry(
                EntryKind.INCIDENT_GRADED,
                detail={
                    "grade": grade.value,
                    "grade_zh": grade.zh,
                    "deaths": incident.deaths,
                    "serious_injuries": incident.serious_injuries,
                    "direct_loss_cny": incident.direct_loss_cny,
                    "rule": "Decree 493 art. 3",
                },
            ),
        ],
    )


CASUALTY_FIELDS = ("deaths", "missing", "serious_injuries", "injuries")


def supplementary_window(incident: Incident) -> timedelta:
    """How long casualty changes must be reported (补报): 30 days, 7 for road-traffic and fire (Decree 493 art. 13)."""
    kind = incident.type.lower()
    short = any(word in kind for word in ("fire", "traffic", "road")) or any(w in kind for w in ("火灾", "交通"))
    return timedelta(days=7 if short else 30)


def update_incident(log: ActionLog, current: Incident, changes: Mapping[str, Any], *, source: str) -> Incident:
    """Record new facts about an open incident; re-grade it and log the supplementary report it calls for.

    Returns the updated incident. Casualty changes inside the art. 13 window are
    logged as a supplementary report (补报) that is due; the grade is recorded again
    when it changes.
    """
    updated = Incident.model_validate(current.model_dump() | dict(changes) | {"id": current.id})
    changed = {
        name: {"from": getattr(current, name), "to": getattr(updated, name)}
        for name in Incident.model_fields
        if getattr(current, name) != getattr(updated, name)
    }
    entries = [
        NewEntry(
            EntryKind.INCIDENT_UPDATED,
            detail={"incident": updated.model_dump(mode="json"), "changes": _jsonable(changed), "source": source},
        )
    ]
    old_grade, new_grade = current.grade, updated.grade
    if new_grade != old_grade:
        entries.append(
            NewEntry(
                EntryKind.INCIDENT_GRADED,
                detail={
                    "grade": new_grade.value,
                    "grade_zh": new_grade.zh,
                    "previous": old_grade.value,
                    "rose": new_grade > old_grade,
                    "deaths": updated.deaths,
                    "serious_injuries": updated.serious_injuries,
                    "direct_loss_cny": updated.direct_loss_cny,
                    "rule": "Decree 493 art. 3",
                },
            )
        )
    casualty_changes = {k: v for k, v in changed.items() if k in CASUALTY_FIELDS}
    if casualty_changes:
        window = supplementary_window(updated)
        now = datetime.now(UTC)
        entries.append(
            NewEntry(
                EntryKind.SUPPLEMENTARY_REPORT,
                outcome=Outcome.OK,
                detail={
                    "required": now <= updated.occurred_at + window,
                    "within_days": window.days,
                    "due_by": (updated.occurred_at + window).isoformat(),
                    "changes": casualty_changes,
                    "rule": "Decree 493 art. 13",
                },
            )
        )
    log.record_many(current.id, entries)
    return updated


def close_incident(log: ActionLog, incident_id: str, *, source: str, reason: str) -> Entry:
    """Record that the incident is closed (resolved or cancelled at its source)."""
    return log.record(
        incident_id, EntryKind.INCIDENT_CLOSED, outcome=Outcome.OK, detail={"source": source, "reason": reason}
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
