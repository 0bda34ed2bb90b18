"""The integrity section: a tampered log still renders, naming the entry that broke the chain; long logs render."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pypdf import PdfReader
from report_samples import GENERATED_AT, gas_explosion_run, squeeze

from incidents import Entry, EntryKind, Incident, NewEntry, Outcome, SQLiteActionLog
from reports import extract_text, render_incident_report


def _tamper(database: Path, incident_id: str, seq: int) -> None:
    """Edit one stored entry behind the log's back, as someone with the file could."""
    with sqlite3.connect(database) as db:
        db.execute("DROP TRIGGER entries_no_update")
        db.execute(
            "UPDATE entries SET detail = ? WHERE incident_id = ? AND seq = ?",
            ('{"recipient_name":"张伟","role":"现场指挥","attempts":1}', incident_id, seq),
        )
    db.close()


def test_tampered_log_still_renders_and_names_the_broken_entry(
    tmp_path: Path, action_log: SQLiteActionLog, incident: Incident
) -> None:
    """Rule: verify_chain failing is reported in the PDF (entry #8), never a reason not to render."""
    action_log.record_many(incident.id, gas_explosion_run(incident))
    _tamper(action_log.path, incident.id, seq=8)
    path = tmp_path / "report.pdf"
    render_incident_report(
        incident=incident,
        entries=action_log.entries(incident.id),
        output=path,
        language="en",
        generated_at=GENERATED_AT,
    )
    text = squeeze(extract_text(path))
    assert "FAILED:entry#8doesnotverify(contentdoesnotmatchitshash)" in text
    assert "Passed" not in text


def test_intact_log_reports_count_and_head_hash(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: the integrity section gives the entry count, the head hash and that the chain verified."""
    path = tmp_path / "report.pdf"
    render_incident_report(incident=incident, entries=entries, output=path, generated_at=GENERATED_AT)
    text = squeeze(extract_text(path))
    assert f"通过：哈希链完整，{len(entries)}条记录均与其哈希一致。" in text
    assert entries[-1].hash in text


def test_ten_thousand_entry_log_renders(tmp_path: Path, action_log: SQLiteActionLog, incident: Incident) -> None:
    """Rule: DESIGN.md — a 10,000-entry log renders, its timeline in 200-row tables (about 4 s here)."""
    attempts = [
        NewEntry(
            EntryKind.MESSAGE_ATTEMPTED,
            step="rescue",
            recipient=f"p-{n % 300:03d}",
            channel="wecom",
            outcome=Outcome.DELIVERED,
            detail={"attempt": 1, "status": 200, "latency_ms": 80 + n % 40, "recipient_name": f"救援队员{n % 300}"},
        )
        for n in range(9_999)
    ]
    action_log.record_many(incident.id, [NewEntry(EntryKind.INCIDENT_REPORTED, detail={"source": "cli"}), *attempts])
    entries = action_log.entries(incident.id)
    assert len(entries) == 10_000
    report = render_incident_report(
        incident=incident, entries=entries, output=tmp_path / "report.pdf", generated_at=GENERATED_AT
    )
    reader = PdfReader(report.path)
    assert report.pages == len(reader.pages) > 150
    tail = squeeze(reader.pages[-1].extract_text() + reader.pages[-2].extract_text())
    assert "10000" in tail and "通过：哈希链完整，10000条记录均与其哈希一致。" in tail
