"""Untrusted text in the report is text, never markup: no live links, no images from the disk."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from report_samples import GENERATED_AT, gas_explosion, pdf_objects, squeeze

from incidents import EntryKind, NewEntry, Outcome, SQLiteActionLog
from reports import extract_text, render_incident_report
from reports.markup import fit_cell, paragraph_markup, plain_text

LINK = '<a href="javascript:alert(1)">x</a>'
IMAGE = '<img src="/etc/passwd"/>'


def test_markup_in_incident_and_log_text_comes_out_literal(tmp_path: Path, action_log: SQLiteActionLog) -> None:
    """Rule: DESIGN.md — escaped Paragraph text makes no link annotation and embeds no image."""
    hostile = gas_explosion(
        title=f"调压站爆炸 {LINK}",
        description=f"现场描述 {IMAGE}\n第二行 {LINK}",
        unit=IMAGE,
    )
    action_log.record_many(
        hostile.id,
        [
            NewEntry(EntryKind.STEP_STARTED, step="rescue", detail={"title": LINK, "kind": "notify"}),
            NewEntry(
                EntryKind.MESSAGE_FAILED,
                step="rescue",
                recipient="p-x",
                channel="sms",
                outcome=Outcome.FAILED,
                detail={"recipient_name": IMAGE, "role": LINK, "reason": IMAGE},
            ),
            NewEntry(EntryKind.STEP_SKIPPED, step="evacuate", outcome=Outcome.SKIPPED, detail={"reason": LINK}),
        ],
    )
    path = tmp_path / "report.pdf"
    for language in ("zh", "en"):
        render_incident_report(
            incident=hostile,
            entries=action_log.entries(hostile.id),
            output=path,
            language=language,
            generated_at=GENERATED_AT,
        )
        text = squeeze(extract_text(path))
        assert squeeze(LINK) in text and squeeze(IMAGE) in text
        reader = PdfReader(path)
        assert all("/Annots" not in page for page in reader.pages)
        objects = list(pdf_objects(reader))
        assert any(obj.get("/Type") == "/Font" for obj in objects)  # the walk does reach the page resources
        assert not [obj for obj in objects if obj.get("/Subtype") == "/Image"]
        assert not [obj for obj in objects if obj.get("/S") in ("/URI", "/JavaScript") or "/URI" in obj]


def test_control_characters_are_stripped(tmp_path: Path, action_log: SQLiteActionLog) -> None:
    """Rule: DESIGN.md — control characters and bidi overrides never reach the PDF."""
    sneaky = gas_explosion(title="燃气\x00爆炸\x1b[31m事故\u202egnp.exe", description="响铃\x07结束")
    path = tmp_path / "report.pdf"
    render_incident_report(incident=sneaky, entries=[], output=path, generated_at=GENERATED_AT)
    text = extract_text(path)
    assert "燃气爆炸[31m事故gnp.exe" in squeeze(text)
    assert not any(char in text for char in "\x00\x1b\x07\u202e")


def test_paragraph_markup_escapes_and_keeps_line_breaks() -> None:
    """Rule: escape first, then turn newlines into <br/>, so only our own tags exist."""
    assert (
        paragraph_markup("<b>\"甲\"</b> & '乙'\r\n丙") == "&lt;b&gt;&quot;甲&quot;&lt;/b&gt; &amp; &#39;乙&#39;<br/>丙"
    )
    assert paragraph_markup(None) == ""
    assert plain_text("a\tb\x7fc\u2028d") == "a bc\nd"


def test_fit_cell_cuts_long_text_to_two_lines() -> None:
    """Rule: plain timeline cells wrap to their column in at most two lines, ending in an ellipsis when cut."""
    from reports.fonts import report_font

    font = report_font()
    assert fit_cell("短", width=50, font=font, size=7) == "短"
    fitted = fit_cell("组织抢救和救治伤员" * 20, width=50, font=font, size=7)
    lines = fitted.split("\n")
    assert len(lines) == 2 and lines[1].endswith("…")
