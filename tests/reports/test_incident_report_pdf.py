"""The PDF file itself: embedded font, determinism, the attached log, atomic writes, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from report_samples import GENERATED_AT, pdf_objects

import reports
from incidents import Entry, Incident
from muster.errors import ReportError
from reports import RenderedReport, extract_text, render_incident_report


def _render(
    incident: Incident,
    entries: list[Entry],
    path: Path,
    *,
    language: str = "zh",
    generated_at: datetime | None = None,
) -> RenderedReport:
    return render_incident_report(
        incident=incident, entries=entries, output=path, language=language, generated_at=generated_at
    )


def test_public_surface_is_pinned() -> None:
    """Rule: the package's public surface is its sorted ``__all__`` and nothing else."""
    assert reports.__all__ == ["RenderedReport", "extract_text", "render_incident_report"]


def test_every_font_is_embedded_truetype_and_no_helvetica(
    tmp_path: Path, incident: Incident, entries: list[Entry]
) -> None:
    """Rule: DESIGN.md PDFs — every font carries its FontFile2; no unembedded Helvetica sneaks in."""
    for language in ("zh", "en"):
        path = tmp_path / f"report-{language}.pdf"
        _render(incident, entries, path, language=language, generated_at=GENERATED_AT)
        fonts = [obj for obj in pdf_objects(PdfReader(path)) if obj.get("/Type") == "/Font"]
        assert fonts
        for font in fonts:
            assert "Helvetica" not in str(font.get("/BaseFont"))
            assert "WenQuanYiMicroHei" in str(font["/BaseFont"])
            descriptor = font["/FontDescriptor"]
            assert isinstance(descriptor, DictionaryObject)
            assert "/FontFile2" in descriptor


def test_same_inputs_give_byte_identical_pdfs(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: invariant=1 and a fixed creation date make the report reproducible byte for byte."""
    first = _render(incident, entries, tmp_path / "a.pdf", generated_at=GENERATED_AT)
    second = _render(incident, entries, tmp_path / "b.pdf", generated_at=GENERATED_AT)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert first.sha256 == second.sha256
    assert first.size_bytes == (tmp_path / "a.pdf").stat().st_size
    assert first.pages == len(PdfReader(first.path).pages) >= 2


def test_source_date_epoch_fixes_the_generated_time(
    tmp_path: Path, incident: Incident, entries: list[Entry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule: without generated_at, SOURCE_DATE_EPOCH sets the generated time and keeps renders identical."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(GENERATED_AT.timestamp())))
    first = _render(incident, entries, tmp_path / "a.pdf")
    second = _render(incident, entries, tmp_path / "b.pdf")
    assert first.sha256 == second.sha256
    metadata = PdfReader(first.path).metadata
    assert metadata is not None and metadata.creation_date == GENERATED_AT
    assert "2026-11-29 06:00:00 UTC" in extract_text(first.path)


def test_action_log_is_attached_as_json(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: the PDF carries the whole action log as the embedded file action-log.json."""
    report = _render(incident, entries, tmp_path / "report.pdf", generated_at=GENERATED_AT)
    attachments = PdfReader(report.path).attachments
    assert list(attachments) == ["action-log.json"]
    attached = json.loads(attachments["action-log.json"][0])
    assert attached == json.loads(json.dumps([entry.as_dict() for entry in entries]))


def test_failed_write_leaves_no_partial_file(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: the report is written through a temporary file and os.replace, so a failure leaves nothing behind."""
    blocked = tmp_path / "report.pdf"
    blocked.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(ReportError, match="cannot write the report"):
        _render(incident, entries, blocked, generated_at=GENERATED_AT)
    assert blocked.is_dir() and not any(blocked.iterdir())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp") or "report" in p.name] == ["report.pdf"]


def test_rerender_replaces_the_previous_report(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: rendering again over an existing report replaces it whole."""
    path = tmp_path / "reports" / "report.pdf"
    _render(incident, entries, path, generated_at=GENERATED_AT)
    later = _render(incident, entries, path, language="en", generated_at=GENERATED_AT)
    assert "Work-safety incident report" in extract_text(path)
    assert later.size_bytes == path.stat().st_size
    assert [p.name for p in path.parent.iterdir()] == ["report.pdf"]


def test_unknown_language_is_a_report_error(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: a language the report does not speak is refused with the ones it does."""
    with pytest.raises(ReportError, match="use one of zh, en"):
        _render(incident, entries, tmp_path / "report.pdf", language="fr")
    assert not (tmp_path / "report.pdf").exists()


def test_naive_generated_time_is_a_report_error(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: times are timezone-aware; a generated_at without a zone is refused."""
    with pytest.raises(ReportError, match="needs a time zone"):
        _render(incident, entries, tmp_path / "report.pdf", generated_at=datetime(2026, 11, 29, 6, 0))
    assert GENERATED_AT.tzinfo is UTC


def test_extract_text_of_a_broken_file_is_a_report_error(tmp_path: Path) -> None:
    """Rule: reading back something that is not a complete PDF says so as a ReportError."""
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n% half-written")
    with pytest.raises(ReportError, match="cannot read the text"):
        extract_text(broken)
