"""The timeline: every action-log entry as one row, its detail cut to what a reader needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from incidents import Entry, EntryKind, Grade
from reports.log_summary import parse_time
from reports.markup import shorten
from reports.wording import Wording, local_time

__all__ = ["DETAIL_LIMIT", "short_detail", "timeline_rows"]

DETAIL_LIMIT: Final = 160

# The detail keys worth a timeline cell, per entry kind, in the order they are shown.
_SHOWN: Final[dict[str, tuple[str, ...]]] = {
    EntryKind.INCIDENT_REPORTED: ("source",),
    EntryKind.INCIDENT_UPDATED: ("source",),
    EntryKind.INCIDENT_GRADED: ("grade",),
    EntryKind.RUN_STARTED: ("playbook", "version", "run_id", "drill"),
    EntryKind.LEVEL_SET: ("level", "name"),
    EntryKind.STEP_STARTED: ("title", "kind"),
    EntryKind.STEP_SKIPPED: ("reason",),
    EntryKind.STEP_FINISHED: ("delivered", "failed"),
    EntryKind.STEP_FAILED: ("error",),
    EntryKind.MESSAGE_ATTEMPTED: ("recipient_name", "attempt", "status", "latency_ms", "reason"),
    EntryKind.MESSAGE_DELIVERED: ("recipient_name", "role", "attempts", "reason"),
    EntryKind.MESSAGE_FAILED: ("recipient_name", "role", "attempts", "reason"),
    EntryKind.MESSAGE_UNREACHABLE: ("role", "reason"),
    EntryKind.DEADLINE_MET: ("report_to", "deadline", "at"),
    EntryKind.DEADLINE_MISSED: ("report_to", "deadline", "at"),
    EntryKind.REPORT_GENERATED: ("path", "sha256"),
    EntryKind.RUN_FINISHED: ("status", "sent", "delivered", "failed"),
}
# Keys whose value speaks for itself; the others print as key=value.
_BARE: Final = frozenset({"source", "grade", "playbook", "name", "title", "reason", "error", "recipient_name", "role"})
_TIMES: Final = frozenset({"deadline", "at"})


def _scalar(value: object) -> bool:
    return value is not None and not isinstance(value, Mapping | list | tuple)


def _shown_value(key: str, value: object, words: Wording) -> str:
    if key in _TIMES and (moment := parse_time(value)) is not None:
        return local_time(moment, seconds=False)
    if key == "grade" and isinstance(value, str):
        try:
            return Grade.parse(value).label(words.language)
        except ValueError:
            return value
    if key == "sha256" and isinstance(value, str):
        return value[:16]
    return str(value)


def short_detail(entry: Entry, words: Wording) -> str:
    """The entry's detail in one short line: the keys its kind is known for, else every plain value."""
    detail: Mapping[str, Any] = entry.detail
    keys = _SHOWN.get(entry.kind) or tuple(sorted(k for k, v in detail.items() if _scalar(v)))
    parts = []
    if entry.kind in (EntryKind.INCIDENT_REPORTED, EntryKind.INCIDENT_UPDATED):
        snapshot = detail.get("incident")
        if isinstance(snapshot, Mapping) and _scalar(snapshot.get("title")):
            parts.append(str(snapshot["title"]))
    for key in keys:
        value = detail.get(key)
        if not _scalar(value) or value == "":
            continue
        shown = _shown_value(key, value, words)
        parts.append(shown if key in _BARE else f"{key}={shown}")
    return shorten(" · ".join(parts), DETAIL_LIMIT)


def timeline_rows(entries: Sequence[Entry], words: Wording) -> list[list[str]]:
    """One row per entry: seq, local time, kind, step, recipient, channel, outcome, short detail."""
    return [
        [
            str(entry.seq),
            local_time(entry.at),
            entry.kind,
            entry.step or "",
            entry.recipient or "",
            entry.channel or "",
            words.outcome(entry.outcome),
            short_detail(entry, words),
        ]
        for entry in entries
    ]
