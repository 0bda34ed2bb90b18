"""A run's outcome read back from the action log (for a run handed to the service)."""

from __future__ import annotations

from collections.abc import Sequence

from flows.respond import RunSummary
from incidents import Entry, EntryKind

__all__ = ["playbook_of_run", "run_finished", "summary_from_log"]


def playbook_of_run(started: Entry) -> str:
    """How to find a run's plan again: its file when it was run from one, else its id."""
    return str(started.detail.get("playbook_file") or started.detail.get("playbook"))


def run_finished(entries: Sequence[Entry]) -> bool:
    """Whether the latest run has finished and its report is out."""
    kinds = [e.kind for e in entries]
    if EntryKind.RUN_STARTED not in kinds:
        return False
    last_start = len(kinds) - 1 - kinds[::-1].index(EntryKind.RUN_STARTED)
    tail = kinds[last_start:]
    return EntryKind.RUN_FINISHED in tail and (
        EntryKind.REPORT_GENERATED in tail or (tail[-1] == EntryKind.RUN_FINISHED and _crashed(entries[-1]))
    )


def _crashed(entry: Entry) -> bool:
    return entry.detail.get("status") == "crashed"


def summary_from_log(entries: Sequence[Entry]) -> RunSummary:
    """The summary of the latest run, as the log records it."""

    def last(kind: EntryKind) -> Entry | None:
        return next((e for e in reversed(entries) if e.kind == kind), None)

    started, finished, report = (
        last(EntryKind.RUN_STARTED),
        last(EntryKind.RUN_FINISHED),
        last(EntryKind.REPORT_GENERATED),
    )
    graded, level = last(EntryKind.INCIDENT_GRADED), last(EntryKind.LEVEL_SET)
    since = started.seq if started else 0
    ran = {e.step for e in entries if e.seq > since and e.kind == EntryKind.STEP_STARTED}
    skipped = sorted({e.step for e in entries if e.seq > since and e.kind == EntryKind.STEP_SKIPPED and e.step} - ran)
    totals = finished.detail if finished else {}
    return RunSummary(
        incident_id=entries[0].incident_id,
        run_id=str(started.detail.get("run_id", "")) if started else "",
        playbook=str(started.detail.get("playbook", "")) if started else "",
        grade=str(graded.detail.get("grade", "")) if graded else "",
        level=str(level.detail.get("level", "")) if level else "",
        report=str(report.detail["path"]) if report else None,
        report_sha256=str(report.detail["sha256"]) if report else None,
        sent=int(totals.get("sent", 0)),
        delivered=int(totals.get("delivered", 0)),
        failed=int(totals.get("failed", 0)),
        unreachable=int(totals.get("unreachable", 0)),
        skipped_steps=skipped,
        failed_steps=list(totals.get("failed_steps", [])),
        status=str(totals.get("status", "running")),
    )
