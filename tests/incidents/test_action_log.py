"""The hash-chained action log in a real SQLite file: order, time, tamper evidence and concurrency."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

import incidents
from incidents import (
    GENESIS_HASH,
    EntryKind,
    NewEntry,
    Outcome,
    SQLiteActionLog,
    format_time,
    open_action_log,
    verify_chain,
)
from muster.errors import ActionLogError, ChainBroken

INCIDENT = "INC-20261129-0815-abc123"
COLUMNS = ["incident_id", "seq", "at", "kind", "step", "recipient", "channel", "outcome", "key", "detail",
           "prev_hash", "hash"]
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The action-log file of one test."""
    return tmp_path / "data" / "actions.sqlite"


@pytest.fixture
def log(db_path: Path) -> Iterator[SQLiteActionLog]:
    """An action log on a fresh SQLite file, closed after the test."""
    store = SQLiteActionLog(db_path)
    yield store
    store.close()


def _fill(log: SQLiteActionLog, incident_id: str = INCIDENT, count: int = 4) -> None:
    """Append ``count`` entries with every column filled."""
    for n in range(1, count + 1):
        log.record(
            incident_id,
            EntryKind.MESSAGE_DELIVERED,
            step="rescue",
            recipient=f"responder-{n}",
            channel="dingtalk",
            outcome=Outcome.DELIVERED,
            key=f"{incident_id}/rescue/responder-{n}/0",
            detail={"n": n, "text": "已送达", "nested": {"ok": True}},
        )


def _raw(db_path: Path) -> sqlite3.Connection:
    """A raw connection to the file, as an attacker with file access would open it."""
    return sqlite3.connect(db_path, isolation_level=None)


def _drop_triggers(db: sqlite3.Connection) -> None:
    """Remove the append-only triggers, the first thing an attacker would do."""
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("DROP TRIGGER entries_no_delete")


def test_entries_get_consecutive_sequence_numbers_from_one(log: SQLiteActionLog) -> None:
    """Each incident's entries are numbered 1, 2, 3... in the order they were recorded."""
    _fill(log, count=3)
    _fill(log, "INC-other", count=2)
    assert [e.seq for e in log.entries(INCIDENT)] == [1, 2, 3]
    assert [e.seq for e in log.entries("INC-other")] == [1, 2]
    assert [e.recipient for e in log.entries(INCIDENT)] == ["responder-1", "responder-2", "responder-3"]


def test_entry_times_are_utc_to_the_millisecond(log: SQLiteActionLog) -> None:
    """Entry times are timezone-aware UTC, rounded to whole milliseconds, and print as ISO 8601 with Z."""
    stored = log.record(INCIDENT, EntryKind.NOTE, detail={"text": "值班员记录"})
    (read,) = log.entries(INCIDENT)
    for entry in (stored, read):
        assert entry.at.tzinfo is not None
        assert entry.at.utcoffset() == UTC.utcoffset(None)
        assert entry.at.microsecond % 1000 == 0
        assert TIME.match(entry.as_dict()["at"])
    assert read.at == stored.at
    assert format_time(read.at) == read.at_text


def test_first_entry_links_to_the_genesis_hash_and_each_next_to_the_previous(log: SQLiteActionLog) -> None:
    """The chain starts at the all-zero hash and each entry names its predecessor's hash."""
    _fill(log, count=3)
    entries = log.entries(INCIDENT)
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert all(re.fullmatch(r"[0-9a-f]{64}", e.hash) for e in entries)


def test_stored_entries_read_back_as_recorded(log: SQLiteActionLog) -> None:
    """What record returns is what entries reads back, detail included."""
    stored = log.record(
        INCIDENT, EntryKind.ACK_RECEIVED, step="rescue", recipient="zhang", channel="wecom",
        outcome=Outcome.OK, key="ack-1", detail={"by": "张三", "after_s": 42.5, "list": [1, "二"]},
    )
    (read,) = log.entries(INCIDENT)
    assert read == stored
    assert read.detail == {"by": "张三", "after_s": 42.5, "list": [1, "二"]}
    assert read.kind == "ack.received"
    assert read.outcome == "ok"


def test_record_many_appends_in_order_in_one_transaction(log: SQLiteActionLog) -> None:
    """A batch gets consecutive numbers after the existing entries and one shared time."""
    log.record(INCIDENT, EntryKind.INCIDENT_REPORTED, detail={"incident": {"title": "t"}})
    batch = log.record_many(
        INCIDENT,
        [NewEntry(EntryKind.STEP_STARTED, step="rescue"), NewEntry(EntryKind.STEP_FINISHED, step="rescue")],
    )
    assert [e.seq for e in batch] == [2, 3]
    assert batch[0].at == batch[1].at
    assert log.record_many(INCIDENT, []) == []
    assert verify_chain(INCIDENT, log.entries(INCIDENT)) == 3


def test_an_untouched_chain_verifies_and_returns_its_length(log: SQLiteActionLog) -> None:
    """verify_chain returns the number of entries of an intact chain."""
    _fill(log, count=5)
    assert verify_chain(INCIDENT, log.entries(INCIDENT)) == 5
    assert verify_chain("INC-empty", log.entries("INC-empty")) == 0


def _tamper_value(column: str, seq: int) -> object:
    return {
        "incident_id": "INC-elsewhere",
        "seq": 99,
        "at": "2020-01-01T00:00:00.000Z",
        "kind": EntryKind.NOTE.value,
        "step": "aftermath",
        "recipient": "mallory",
        "channel": "sms",
        "outcome": Outcome.FAILED.value,
        "key": f"forged-{seq}",
        "detail": '{"n":0,"text":"未送达"}',
        "prev_hash": "f" * 64,
        "hash": "e" * 64,
    }[column]


def _tamper_cases() -> Iterator[object]:
    for column in COLUMNS:
        for seq in (1, 2, 4):
            yield pytest.param(column, seq, id=f"{column}-of-entry-{seq}")


@pytest.mark.parametrize(("column", "seq"), list(_tamper_cases()))
def test_tampering_with_any_column_of_any_entry_breaks_the_chain_at_that_entry(
    log: SQLiteActionLog, db_path: Path, column: str, seq: int
) -> None:
    """Changing any stored column of any entry makes verify_chain raise ChainBroken naming that entry."""
    _fill(log, count=4)
    with _raw(db_path) as db:
        _drop_triggers(db)
        db.execute(
            f"UPDATE entries SET {column} = ? WHERE incident_id = ? AND seq = ?",
            (_tamper_value(column, seq), INCIDENT, seq),
        )
    db.close()
    with pytest.raises(ChainBroken) as caught:
        log.verify(INCIDENT)  # the chain checked against the head the store recorded
    assert caught.value.seq == seq
    assert caught.value.incident_id == INCIDENT
    assert f"#{seq}" in str(caught.value)


def test_equivalent_but_reformatted_detail_json_still_breaks_the_chain(log: SQLiteActionLog, db_path: Path) -> None:
    """Even re-serialising the same detail with other spacing is detected: the stored text is hashed."""
    _fill(log, count=2)
    with _raw(db_path) as db:
        _drop_triggers(db)
        reformatted = '{"n": 2, "nested": {"ok": true}, "text": "已送达"}'
        db.execute("UPDATE entries SET detail = ? WHERE seq = 2", (reformatted,))
    db.close()
    with pytest.raises(ChainBroken) as caught:
        verify_chain(INCIDENT, log.entries(INCIDENT))
    assert caught.value.seq == 2


def test_deleting_an_entry_in_the_middle_breaks_the_chain(log: SQLiteActionLog, db_path: Path) -> None:
    """A deleted entry leaves a gap in the sequence, reported at the missing number."""
    _fill(log, count=4)
    with _raw(db_path) as db:
        _drop_triggers(db)
        db.execute("DELETE FROM entries WHERE seq = 2")
    db.close()
    with pytest.raises(ChainBroken) as caught:
        verify_chain(INCIDENT, log.entries(INCIDENT))
    assert caught.value.seq == 2
    assert "sequence" in caught.value.reason


def test_rewriting_an_entry_and_rehashing_the_rest_is_caught_by_the_old_hashes(
    log: SQLiteActionLog, db_path: Path
) -> None:
    """Forging entry 2 with a freshly computed hash still breaks the link from entry 3."""
    from incidents.log import entry_hash

    _fill(log, count=3)
    second = log.entries(INCIDENT)[1]
    forged = entry_hash(
        prev_hash=second.prev_hash, incident_id=INCIDENT, seq=2, at=second.at_text, kind=second.kind,
        step=second.step, recipient="mallory", channel=second.channel, outcome=second.outcome, key=second.key,
        detail_json=second.detail_json,
    )
    with _raw(db_path) as db:
        _drop_triggers(db)
        db.execute("UPDATE entries SET recipient = 'mallory', hash = ? WHERE seq = 2", (forged,))
    db.close()
    with pytest.raises(ChainBroken) as caught:
        verify_chain(INCIDENT, log.entries(INCIDENT))
    assert caught.value.seq == 3
    assert "previous-hash" in caught.value.reason


def test_update_is_refused_by_the_append_only_trigger(log: SQLiteActionLog, db_path: Path) -> None:
    """An UPDATE on the entries table aborts while the triggers are in place."""
    _fill(log, count=2)
    db = _raw(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE entries SET recipient = 'mallory' WHERE seq = 1")
    finally:
        db.close()
    assert verify_chain(INCIDENT, log.entries(INCIDENT)) == 2


def test_delete_is_refused_by_the_append_only_trigger(log: SQLiteActionLog, db_path: Path) -> None:
    """A DELETE on the entries table aborts while the triggers are in place."""
    _fill(log, count=2)
    db = _raw(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM entries")
    finally:
        db.close()
    assert len(log.entries(INCIDENT)) == 2


def test_two_threads_appending_to_one_incident_keep_the_chain_intact(log: SQLiteActionLog) -> None:
    """Concurrent appends from two threads on one log object give 1..N with no gap or fork."""
    per_thread = 100
    errors: list[BaseException] = []

    def append(name: str) -> None:
        try:
            for n in range(per_thread):
                log.record(INCIDENT, EntryKind.MESSAGE_ATTEMPTED, recipient=name, detail={"n": n})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = log.entries(INCIDENT)
    assert [e.seq for e in entries] == list(range(1, 2 * per_thread + 1))
    assert verify_chain(INCIDENT, entries) == 2 * per_thread


def test_two_connections_appending_concurrently_keep_the_chain_intact(db_path: Path) -> None:
    """Two SQLiteActionLog objects on one file (stand-ins for two processes) append without forking."""
    per_writer = 60
    stores = [SQLiteActionLog(db_path), SQLiteActionLog(db_path)]
    errors: list[BaseException] = []

    def append(store: SQLiteActionLog, name: str) -> None:
        try:
            for n in range(per_writer):
                store.record(INCIDENT, EntryKind.MESSAGE_ATTEMPTED, recipient=name, detail={"n": n})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(s, str(i))) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert verify_chain(INCIDENT, stores[0].entries(INCIDENT)) == 2 * per_writer
    finally:
        for store in stores:
            store.close()


def test_a_second_log_on_the_same_file_continues_the_same_chain(log: SQLiteActionLog, db_path: Path) -> None:
    """Another SQLiteActionLog on the file numbers on from the last entry and links to its hash."""
    _fill(log, count=2)
    last = log.entries(INCIDENT)[-1]
    other = SQLiteActionLog(db_path)
    try:
        continued = other.record(INCIDENT, EntryKind.NOTE, detail={"from": "process 2"})
        assert continued.seq == 3
        assert continued.prev_hash == last.hash
        log.record(INCIDENT, EntryKind.NOTE, detail={"from": "process 1"})
        assert [e.seq for e in other.entries(INCIDENT)] == [1, 2, 3, 4]
        assert verify_chain(INCIDENT, other.entries(INCIDENT)) == 4
    finally:
        other.close()


def test_reopening_the_file_keeps_the_chain(db_path: Path) -> None:
    """Closing and reopening the store keeps every entry and the chain verifies."""
    first = SQLiteActionLog(db_path)
    _fill(first, count=3)
    first.close()
    again = SQLiteActionLog(db_path)
    try:
        again.record(INCIDENT, EntryKind.RUN_FINISHED)
        assert verify_chain(INCIDENT, again.entries(INCIDENT)) == 4
    finally:
        again.close()


def test_has_key_answers_for_that_incident_kind_and_key_only(log: SQLiteActionLog) -> None:
    """The delivery ledger finds a key only under its own incident and entry kind."""
    log.record(INCIDENT, EntryKind.MESSAGE_DELIVERED, key="INC/rescue/zhang/0")
    assert log.has_key(INCIDENT, EntryKind.MESSAGE_DELIVERED, "INC/rescue/zhang/0")
    assert not log.has_key(INCIDENT, EntryKind.MESSAGE_ATTEMPTED, "INC/rescue/zhang/0")
    assert not log.has_key(INCIDENT, EntryKind.MESSAGE_DELIVERED, "INC/rescue/zhang/1")
    assert not log.has_key("INC-other", EntryKind.MESSAGE_DELIVERED, "INC/rescue/zhang/0")


def test_incidents_lists_newest_first_with_counts(log: SQLiteActionLog) -> None:
    """incidents() lists each incident once, the most recently started first, with its entry count."""
    log.record("INC-old", EntryKind.INCIDENT_REPORTED)
    log.record("INC-old", EntryKind.RUN_STARTED)
    time.sleep(0.01)
    log.record("INC-new", EntryKind.INCIDENT_REPORTED)
    time.sleep(0.01)
    log.record("INC-old", EntryKind.RUN_FINISHED)
    summaries = log.incidents()
    assert [s.incident_id for s in summaries] == ["INC-new", "INC-old"]
    old = summaries[1]
    assert old.entries == 3
    assert old.first_at < old.last_at
    assert old.last_at.tzinfo is not None


def test_verify_chain_rejects_entries_of_another_incident(log: SQLiteActionLog) -> None:
    """An intact chain checked under another incident's id does not verify."""
    _fill(log, count=2)
    with pytest.raises(ChainBroken) as caught:
        verify_chain("INC-other", log.entries(INCIDENT))
    assert caught.value.seq == 1


def test_open_action_log_accepts_a_path_or_a_sqlite_url(tmp_path: Path) -> None:
    """A plain path and a sqlite:/// URL both open the SQLite store."""
    for url in (tmp_path / "a.sqlite", f"sqlite:///{tmp_path / 'b.sqlite'}"):
        store = open_action_log(url)
        try:
            assert isinstance(store, incidents.SQLiteActionLog)
            store.record(INCIDENT, EntryKind.NOTE)
            assert len(store.entries(INCIDENT)) == 1
        finally:
            store.close()


def test_open_action_log_rejects_an_unknown_scheme(tmp_path: Path) -> None:
    """An unsupported URL scheme is an ActionLogError that names the scheme."""
    with pytest.raises(ActionLogError, match="'mysql'"):
        open_action_log("mysql://localhost/muster")


def _append_in_another_process(path: str, name: str, count: int) -> None:
    store = SQLiteActionLog(path)
    try:
        for n in range(count):
            store.record(INCIDENT, EntryKind.MESSAGE_ATTEMPTED, recipient=name, detail={"n": n})
    finally:
        store.close()


def test_two_processes_appending_concurrently_keep_the_chain_intact(db_path: Path) -> None:
    """Two real processes appending to one incident in one file leave one unbroken chain."""
    import multiprocessing

    SQLiteActionLog(db_path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_in_another_process, args=(str(db_path), f"p{i}", 40)) for i in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    store = SQLiteActionLog(db_path)
    try:
        entries = store.entries(INCIDENT)
        assert verify_chain(INCIDENT, entries) == 80
        assert {e.recipient for e in entries} == {"p1", "p2"}
    finally:
        store.close()


def test_removing_the_last_entry_is_caught_by_the_recorded_head(log: SQLiteActionLog, db_path: Path) -> None:
    """Deleting the newest entry leaves a chain that verifies alone, but not against the head the store kept."""
    _fill(log, count=4)
    with _raw(db_path) as db:
        _drop_triggers(db)
        db.execute("DELETE FROM entries WHERE incident_id = ? AND seq = 4", (INCIDENT,))
    db.close()
    assert verify_chain(INCIDENT, log.entries(INCIDENT)) == 3
    with pytest.raises(ChainBroken, match="#4"):
        log.verify(INCIDENT)
