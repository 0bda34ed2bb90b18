"""The action log in a SQLite file (WAL, synchronous commits): the embedded default."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incidents.log import (
    GENESIS_HASH,
    Entry,
    EntryKind,
    IncidentSummary,
    NewEntry,
    Outcome,
    canonical_json,
    entry_hash,
    format_time,
    verify_chain,
)
from muster.errors import ActionLogError

__all__ = ["SQLiteActionLog"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    incident_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    step        TEXT,
    recipient   TEXT,
    channel     TEXT,
    outcome     TEXT,
    key         TEXT,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heads (
    incident_id TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_key ON entries (incident_id, kind, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_kind_key ON entries (kind, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_kind ON entries (incident_id, kind, seq);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END;
"""


_COLUMNS = "incident_id, seq, at, kind, step, recipient, channel, outcome, key, detail, prev_hash, hash"


def _now_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class SQLiteActionLog:
    """An append-only action log in one SQLite file, safe across threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ActionLogError(f"cannot open the action log at {self.path}: {exc}") from exc
        self._lock = threading.Lock()

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
        new = NewEntry(kind, step, recipient, channel, outcome, key, detail or {})
        return self.record_many(incident_id, [new])[0]

    def record_many(self, incident_id: str, entries: Iterable[NewEntry]) -> list[Entry]:
        """Append several entries in one transaction, in order."""
        pending = list(entries)
        if not pending:
            return []
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    stored = self._append(incident_id, pending)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise ActionLogError(f"cannot write to the action log at {self.path}: {exc}") from exc
        return stored

    def _append(self, incident_id: str, pending: list[NewEntry]) -> list[Entry]:
        row = self._db.execute(
            "SELECT seq, hash FROM entries WHERE incident_id = ? ORDER BY seq DESC LIMIT 1", (incident_id,)
        ).fetchone()
        seq, prev = (row[0], row[1]) if row else (0, GENESIS_HASH)
        at = _now_ms()
        at_text = format_time(at)
        stored: list[Entry] = []
        for new in pending:
            seq += 1
            detail_json = canonical_json(dict(new.detail))  # encoded once: what is hashed is what is stored
            detail = json.loads(detail_json)  # the entry returned holds exactly what a reader will get back
            outcome = new.outcome.value if new.outcome else None
            kind = EntryKind(new.kind).value
            digest = entry_hash(
                prev_hash=prev,
                incident_id=incident_id,
                seq=seq,
                at=at_text,
                kind=kind,
                step=new.step,
                recipient=new.recipient,
                channel=new.channel,
                outcome=outcome,
                key=new.key,
                detail_json=detail_json,
            )
            self._db.execute(
                "INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    incident_id,
                    seq,
                    at_text,
                    kind,
                    new.step,
                    new.recipient,
                    new.channel,
                    outcome,
                    new.key,
                    detail_json,
                    prev,
                    digest,
                ),
            )
            entry = Entry(
                incident_id,
                seq,
                at,
                kind,
                new.step,
                new.recipient,
                new.channel,
                outcome,
                new.key,
                detail,
                prev,
                digest,
                at_text,
                detail_json,
            )
            stored.append(entry)
            prev = digest
        self._db.execute(
            "INSERT INTO heads VALUES (?,?,?) ON CONFLICT (incident_id) DO UPDATE SET seq = excluded.seq, "
            "hash = excluded.hash",
            (incident_id, seq, prev),
        )
        return stored

    def entries(self, incident_id: str) -> list[Entry]:
        """Every entry of an incident, in sequence order."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE incident_id = ? ORDER BY seq",
                (incident_id,),
            ).fetchall()
        return [self._entry(row) for row in rows]

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> Entry:
        try:
            detail = json.loads(row[9])
        except json.JSONDecodeError:
            detail = {"unreadable": row[9]}
        if not isinstance(detail, dict):
            detail = {"unreadable": row[9]}
        try:
            at = _parse_time(row[2])
        except ValueError:
            at = datetime.fromtimestamp(0, UTC)
        return Entry(
            row[0], row[1], at, row[3], row[4], row[5], row[6], row[7], row[8], detail, row[10], row[11], row[2], row[9]
        )

    def has_key(self, incident_id: str, kind: EntryKind, key: str) -> bool:
        """Whether an entry of ``kind`` with ``key`` exists (the delivery ledger's question)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM entries WHERE incident_id = ? AND kind = ? AND key = ? LIMIT 1",
                (incident_id, EntryKind(kind).value, key),
            ).fetchone()
        return row is not None

    def latest(self, incident_id: str, kinds: Iterable[EntryKind]) -> Entry | None:
        """The newest entry of one of ``kinds``, or None."""
        wanted = [EntryKind(k).value for k in kinds]
        marks = ",".join("?" * len(wanted))
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE incident_id = ? AND kind IN ({marks}) ORDER BY seq DESC LIMIT 1",
                (incident_id, *wanted),
            ).fetchone()
        return self._entry(row) if row else None

    def of_kind(self, incident_id: str, kind: EntryKind, step: str | None = None) -> list[Entry]:
        """An incident's entries of one kind (and step), in order."""
        query = f"SELECT {_COLUMNS} FROM entries WHERE incident_id = ? AND kind = ?"
        args: tuple[str, ...] = (incident_id, EntryKind(kind).value)
        if step is not None:
            query, args = query + " AND step = ?", (*args, step)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [self._entry(row) for row in rows]

    def find_key(self, kind: EntryKind, key: str) -> list[Entry]:
        """Every entry of ``kind`` with ``key``, across incidents, newest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE kind = ? AND key = ? ORDER BY at DESC",
                (EntryKind(kind).value, key),
            ).fetchall()
        return [self._entry(row) for row in rows]

    def verify(self, incident_id: str) -> int:
        """Verify an incident's chain against the head recorded with its last append."""
        with self._lock:
            row = self._db.execute("SELECT seq, hash FROM heads WHERE incident_id = ?", (incident_id,)).fetchone()
        return verify_chain(incident_id, self.entries(incident_id), (row[0], row[1]) if row else None)

    def incidents(self) -> list[IncidentSummary]:
        """Every incident in the log, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT incident_id, MIN(at), MAX(at), COUNT(*) FROM entries GROUP BY incident_id ORDER BY MIN(at) DESC"
            ).fetchall()
        return [IncidentSummary(r[0], _parse_time(r[1]), _parse_time(r[2]), r[3]) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
