"""Opening the action log by URL, and reading an incident back from it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from incidents.log import ActionLog, Entry, EntryKind, NewEntry
from incidents.model import Incident
from incidents.sqlite_log import SQLiteActionLog
from muster.errors import ActionLogError

__all__ = ["incident_from_log", "open_action_log", "report_incident"]


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
