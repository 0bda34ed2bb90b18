"""The action log: an append-only, hash-chained record per incident.

Every view (CLI, report, console) reads only this log, and everything is
written through one method, :meth:`ActionLog.record` (or its batch form
:meth:`ActionLog.record_many`). Each entry's hash is SHA-256 over the previous
entry's hash and the entry's canonical JSON, so changing any stored field of
any entry breaks the chain from that entry on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from muster.errors import ChainBroken

__all__ = [
    "GENESIS_HASH",
    "ActionLog",
    "Entry",
    "EntryKind",
    "IncidentSummary",
    "NewEntry",
    "Outcome",
    "entry_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64


class EntryKind(StrEnum):
    """What an action-log entry records."""

    INCIDENT_REPORTED = "incident.reported"
    INCIDENT_UPDATED = "incident.updated"
    INCIDENT_GRADED = "incident.graded"
    INCIDENT_REPEATED = "incident.repeated"
    INCIDENT_CLOSED = "incident.closed"
    SUPPLEMENTARY_REPORT = "report.supplementary"
    RUN_STARTED = "run.started"
    RUN_FINISHED = "run.finished"
    LEVEL_SET = "level.set"
    STEP_STARTED = "step.started"
    STEP_SKIPPED = "step.skipped"
    STEP_FINISHED = "step.finished"
    STEP_FAILED = "step.failed"
    MESSAGE_ATTEMPTED = "message.attempted"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_UNREACHABLE = "message.unreachable"
    TASK_ASSIGNED = "task.assigned"
    HTTP_CALLED = "http.called"
    WAITED = "wait.finished"
    ACK_RECEIVED = "ack.received"
    ACK_MISSED = "ack.missed"
    ESCALATED = "escalated"
    TASK_COMPLETED = "task.completed"
    REMINDER_SENT = "reminder.sent"
    DEADLINE_WARNED = "deadline.warned"
    DEADLINE_MET = "deadline.met"
    DEADLINE_MISSED = "deadline.missed"
    REPORT_GENERATED = "report.generated"
    NOTE = "note"


class Outcome(StrEnum):
    """The result an entry records, where it has one."""

    OK = "ok"
    SKIPPED = "skipped"
    DELIVERED = "delivered"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"
    MET = "met"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry before the log gives it a sequence number, a time and a hash."""

    kind: EntryKind
    step: str | None = None
    recipient: str | None = None
    channel: str | None = None
    outcome: Outcome | None = None
    key: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored entry of an incident's action log."""

    incident_id: str
    seq: int
    at: datetime
    kind: str
    step: str | None
    recipient: str | None
    channel: str | None
    outcome: str | None
    key: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str
    at_text: str = field(default="", repr=False, compare=False)
    detail_json: str = field(default="", repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready values, times in ISO 8601 UTC to the millisecond."""
        return {
            "incident_id": self.incident_id,
            "seq": self.seq,
            "at": format_time(self.at),
            "kind": self.kind,
            "step": self.step,
            "recipient": self.recipient,
            "channel": self.channel,
            "outcome": self.outcome,
            "key": self.key,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """An incident as the log knows it: id, first and last entry, entry count."""

    incident_id: str
    first_at: datetime
    last_at: datetime
    entries: int


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds: ``2026-11-29T02:24:31.123Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the form that is hashed and stored."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(
    *,
    prev_hash: str,
    incident_id: str,
    seq: int,
    at: str,
    kind: str,
    step: str | None,
    recipient: str | None,
    channel: str | None,
    outcome: str | None,
    key: str | None,
    detail_json: str,
) -> str:
    """SHA-256 of the previous hash and every stored field of the entry."""
    body = canonical_json([incident_id, seq, at, kind, step, recipient, channel, outcome, key, detail_json])
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def verify_chain(incident_id: str, entries: Sequence[Entry], head: tuple[int, str] | None = None) -> int:
    """Check an incident's chain; return its length or raise ChainBroken at the first bad entry.

    ``head`` is the (seq, hash) the store recorded for its last append: a chain that
    ends early (its last entries removed) then breaks at the first missing entry.
    """
    prev = GENESIS_HASH
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            raise ChainBroken(incident_id, expected_seq, f"sequence jumps to #{entry.seq}")
        if entry.prev_hash != prev:
            raise ChainBroken(incident_id, entry.seq, "previous-hash link does not match")
        recomputed = entry_hash(
            prev_hash=entry.prev_hash,
            incident_id=entry.incident_id,
            seq=entry.seq,
            at=entry.at_text or format_time(entry.at),
            kind=entry.kind,
            step=entry.step,
            recipient=entry.recipient,
            channel=entry.channel,
            outcome=entry.outcome,
            key=entry.key,
            detail_json=entry.detail_json or canonical_json(entry.detail),
        )
        if entry.incident_id != incident_id or recomputed != entry.hash:
            raise ChainBroken(incident_id, entry.seq, "content does not match its hash")
        prev = entry.hash
    if head is not None and (len(entries), prev) != head:
        if head[0] > len(entries):
            raise ChainBroken(incident_id, len(entries) + 1, f"missing: the log's head is entry #{head[0]}")
        raise ChainBroken(incident_id, head[0], "does not match the head the log recorded")
    return len(entries)


class ActionLog(Protocol):
    """The store interface; SQLite is the embedded default."""

    def record(
        self,
        incident_id: str,
        kind: EntryKind,
        *,
        step: str | None = None,
        recipient: str | None = None,
        channel: str | None = None,
        outcome: Outcome | None = None,
        key: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Append one entry to an incident's chain and return it as stored."""
        ...

    def record_many(self, incident_id: str, entries: Iterable[NewEntry]) -> list[Entry]:
        """Append several entries in one transaction, in order."""
        ...

    def entries(self, incident_id: str) -> list[Entry]:
        """Every entry of an incident, in sequence order."""
        ...

    def has_key(self, incident_id: str, kind: EntryKind, key: str) -> bool:
        """Whether an entry of ``kind`` with ``key`` exists (the delivery ledger's question)."""
        ...

    def verify(self, incident_id: str) -> int:
        """Verify an incident's chain against the head the store recorded; raise ChainBroken if broken."""
        ...

    def latest(self, incident_id: str, kinds: Iterable[EntryKind]) -> Entry | None:
        """The newest entry of one of ``kinds`` (how a running plan notices updates), or None."""
        ...

    def find_key(self, kind: EntryKind, key: str) -> list[Entry]:
        """Every entry of ``kind`` with ``key``, across incidents, newest first (dedup keys at intake)."""
        ...

    def of_kind(self, incident_id: str, kind: EntryKind, step: str | None = None) -> list[Entry]:
        """An incident's entries of one kind (and step), in order: who acked a step, without reading the rest."""
        ...

    def incidents(self) -> list[IncidentSummary]:
        """Every incident in the log, newest first."""
        ...

    def close(self) -> None:
        """Release the store's connections."""
        ...
