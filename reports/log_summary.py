"""What the action log says about a run, read into the rows the report prints.

Every detail key is optional: a log written by an older or newer Muster, or by hand, still
yields a report, with "not recorded" where a fact is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from incidents import Entry, EntryKind, Grade, Incident, verify_chain
from muster.errors import ChainBroken

__all__ = [
    "AccountabilityRow",
    "ChainCheck",
    "DeadlineRow",
    "LogSummary",
    "RecipientRow",
    "RunFacts",
    "StepRow",
    "parse_time",
    "summarize_log",
]

_STEP_STATUS: dict[str, str] = {
    EntryKind.STEP_STARTED: "started",
    EntryKind.STEP_SKIPPED: "skipped",
    EntryKind.STEP_FINISHED: "finished",
    EntryKind.STEP_FAILED: "failed",
}
_MESSAGE_OUTCOME: dict[str, str] = {
    EntryKind.MESSAGE_DELIVERED: "delivered",
    EntryKind.MESSAGE_FAILED: "failed",
    EntryKind.MESSAGE_UNREACHABLE: "unreachable",
}


@dataclass(frozen=True, slots=True)
class RunFacts:
    """The run as the log records it: playbook, response level, grade, drill."""

    playbook: str | None
    playbook_title: str | None
    version: str | None
    run_id: str | None
    level: str | None
    level_name: str | None
    grade: Grade
    drill: bool


@dataclass(slots=True)
class StepRow:
    """One step seen in the log, with its last status."""

    step: str
    title: str = ""
    kind: str = ""
    status: str = "started"
    note: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    """A deadline.met or deadline.missed entry."""

    step: str
    report_to: str
    met: bool
    deadline: datetime | None
    happened: datetime | None


@dataclass(frozen=True, slots=True)
class AccountabilityRow:
    """Someone who did not answer in time, an escalation, a task done late, a report deadline missed.

    ``what`` is one of ``ack_missed``, ``escalation_missed``, ``escalated``, ``task_late`` and
    ``deadline_missed``; ``facts`` holds the numbers the sentence needs (rounds, level, names).
    """

    at: datetime
    step: str
    person: str
    role: str
    what: str
    facts: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RecipientRow:
    """The outcome for one (step, recipient) pair, across channels and rounds."""

    step: str
    name: str
    role: str
    channels: list[str] = field(default_factory=list)
    outcome: str = ""
    attempts: int = 0
    reasons: list[str] = field(default_factory=list)
    acked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of verifying the hash chain: passed, or the first entry that broke it."""

    entries: int
    head_hash: str | None
    broken_seq: int | None = None
    reason: str = ""

    @property
    def passed(self) -> bool:
        """Whether every entry matched its hash and link."""
        return self.broken_seq is None


@dataclass(frozen=True, slots=True)
class LogSummary:
    """Everything the report prints that is read from the log rather than the incident."""

    run: RunFacts
    steps: list[StepRow]
    deadlines: list[DeadlineRow]
    recipients: list[RecipientRow]
    chain: ChainCheck
    accountability: list[AccountabilityRow] = field(default_factory=list)


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time from a detail value, or None when absent or unreadable or zone-less."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _text(detail: Mapping[str, Any], key: str) -> str:
    value = detail.get(key)
    return "" if value is None or isinstance(value, dict | list) else str(value)


def _count(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def _run_facts(incident: Incident, entries: Sequence[Entry]) -> RunFacts:
    run: dict[str, Any] = {}
    level: dict[str, Any] = {}
    grade = incident.grade
    for entry in entries:
        if entry.kind == EntryKind.RUN_STARTED:
            run = entry.detail
        elif entry.kind == EntryKind.LEVEL_SET:
            level = entry.detail
        elif entry.kind == EntryKind.INCIDENT_GRADED:
            # An unreadable grade in the log leaves the one computed from the incident.
            with suppress(ValueError):
                grade = Grade.parse(_text(entry.detail, "grade"))
    return RunFacts(
        playbook=_text(run, "playbook") or None,
        playbook_title=_text(run, "playbook_title") or None,
        version=_text(run, "version") or None,
        run_id=_text(run, "run_id") or None,
        level=_text(level, "level") or None,
        level_name=_text(level, "name") or None,
        grade=grade,
        drill=incident.drill or run.get("drill") is True,
    )


def _steps(entries: Sequence[Entry]) -> list[StepRow]:
    rows: dict[str, StepRow] = {}
    for entry in entries:
        status = _STEP_STATUS.get(entry.kind)
        if status is None or entry.step is None:
            continue
        row = rows.setdefault(entry.step, StepRow(step=entry.step))
        row.status = status
        detail = entry.detail
        if status == "started":
            row.title = _text(detail, "title") or row.title
            row.kind = _text(detail, "kind") or row.kind
            row.started_at = row.started_at or entry.at
        else:
            row.ended_at = entry.at
        if status == "skipped":
            row.note = _text(detail, "reason")
        elif status == "failed":
            row.note = _text(detail, "error")
        elif status == "finished" and ("delivered" in detail or "failed" in detail):
            row.note = f"delivered={_count(detail.get('delivered'))} failed={_count(detail.get('failed'))}"
    return list(rows.values())


def _deadlines(entries: Sequence[Entry]) -> list[DeadlineRow]:
    return [
        DeadlineRow(
            step=entry.step or "",
            report_to=_text(entry.detail, "report_to"),
            met=entry.kind == EntryKind.DEADLINE_MET,
            deadline=parse_time(entry.detail.get("deadline")),
            happened=parse_time(entry.detail.get("at")) or entry.at,
        )
        for entry in entries
        if entry.kind in (EntryKind.DEADLINE_MET, EntryKind.DEADLINE_MISSED)
    ]


def _recipients(entries: Sequence[Entry]) -> list[RecipientRow]:
    rows: dict[tuple[str, str], RecipientRow] = {}
    acks: dict[tuple[str, str], datetime] = {}
    attempted: dict[tuple[str, str, str], int] = {}
    for entry in entries:
        step, who = entry.step or "", entry.recipient or ""
        detail = entry.detail
        if entry.kind == EntryKind.ACK_RECEIVED:
            acks.setdefault((step, who), entry.at)
            continue
        if entry.kind == EntryKind.MESSAGE_ATTEMPTED:
            channel_key = (step, who, entry.channel or "")
            attempted[channel_key] = attempted.get(channel_key, 0) + 1
            continue
        outcome = _MESSAGE_OUTCOME.get(entry.kind)
        if outcome is None:
            continue
        role = _text(detail, "role")
        key = (step, who or f"role:{role}")
        row = rows.setdefault(key, RecipientRow(step=step, name=_text(detail, "recipient_name") or who, role=role))
        row.role = row.role or role
        if entry.channel and entry.channel not in row.channels:
            row.channels.append(entry.channel)
        row.outcome = outcome
        counted = attempted.pop((step, who, entry.channel or ""), 0)
        row.attempts += _count(detail.get("attempts")) or counted
        reason = _text(detail, "reason")
        if reason:
            row.reasons.append(f"{entry.channel}: {reason}" if entry.channel else reason)
    for (step, who), row in rows.items():
        row.acked_at = acks.get((step, who))
    return list(rows.values())


def _accountability(entries: Sequence[Entry]) -> list[AccountabilityRow]:
    """Who was held to account (一级抓一级, 失职追责): misses by name and role, climbs, lateness."""
    rows: list[AccountabilityRow] = []
    for entry in entries:
        detail, step = entry.detail, entry.step or ""
        name = _text(detail, "recipient_name") or (entry.recipient or "")
        role = _text(detail, "role_name") or _text(detail, "role")
        if entry.kind == EntryKind.ACK_MISSED and "escalation_level" in detail:
            level = str(_count(detail.get("escalation_level")))
            rows.append(AccountabilityRow(entry.at, step, name, role, "escalation_missed", {"level": level}))
        elif entry.kind == EntryKind.ACK_MISSED:
            facts = {"rounds": str(_count(detail.get("rounds"))), "waited": _text(detail, "waited_s")}
            rows.append(AccountabilityRow(entry.at, step, name, role, "ack_missed", facts))
        elif entry.kind == EntryKind.ESCALATED:
            names = detail.get("names") or detail.get("to") or []
            silent = detail.get("silent_names") or detail.get("silent") or []
            facts = {
                "level": str(_count(detail.get("level"))),
                "names": "、".join(map(str, names)),
                "silent": "、".join(map(str, silent)),
            }
            rows.append(AccountabilityRow(entry.at, step, facts["names"], "", "escalated", facts))
        elif entry.kind == EntryKind.TASK_COMPLETED and detail.get("late") is True:
            who = _text(detail, "recipient_name") or (entry.recipient or "")
            rows.append(AccountabilityRow(entry.at, step, who, "", "task_late", {"note": _text(detail, "note")}))
        elif entry.kind == EntryKind.DEADLINE_MISSED:
            facts = {"report_to": _text(detail, "report_to"), "reason": _text(detail, "reason")}
            rows.append(AccountabilityRow(entry.at, step, "", "", "deadline_missed", facts))
    return rows


def _chain(incident_id: str, entries: Sequence[Entry]) -> ChainCheck:
    head = entries[-1].hash if entries else None
    try:
        count = verify_chain(incident_id, entries)
    except ChainBroken as broken:
        return ChainCheck(entries=len(entries), head_hash=head, broken_seq=broken.seq, reason=broken.reason)
    return ChainCheck(entries=count, head_hash=head)


def summarize_log(incident: Incident, entries: Sequence[Entry], language: str = "zh") -> LogSummary:
    """Read the run, steps, deadlines, recipients and chain check out of an incident's log.

    The flow writes Chinese titles and reasons under ``title``/``name``/``reason`` and
    English ones under ``title_en``/``name_en``/``reason_en``; ``language`` picks.
    """
    shown = [_in_language(entry, language) for entry in entries]
    return LogSummary(
        run=_run_facts(incident, shown),
        steps=_steps(shown),
        deadlines=_deadlines(shown),
        recipients=_recipients(shown),
        chain=_chain(incident.id, entries),
        accountability=_accountability(shown),
    )


def _in_language(entry: Entry, language: str) -> Entry:
    """The entry with its ``*_en`` texts in place of the Chinese ones for an English report."""
    if language != "en" or not any(key.endswith("_en") for key in entry.detail):
        return entry
    detail = {key: entry.detail.get(f"{key}_en", value) for key, value in entry.detail.items()}
    return replace(entry, detail=detail)
