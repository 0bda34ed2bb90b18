"""The PDF incident report, rendered from an incident and its action log."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, NextPageTemplate, PageBreak, PageTemplate

from incidents import Entry, Incident
from muster.errors import ReportError
from reports.fonts import report_font
from reports.log_summary import summarize_log
from reports.markup import plain_text, shorten
from reports.pdf_file import attach_action_log, write_atomically
from reports.sections import (
    ReportParts,
    accountability_section,
    deadlines_section,
    decree_section,
    integrity_section,
    recipients_section,
    steps_section,
    timeline_section,
    title_section,
)
from reports.tables import report_styles
from reports.wording import Wording, wording_for

__all__ = ["RenderedReport", "render_incident_report"]

_MARGIN = 14 * mm
_PORTRAIT = A4
_LANDSCAPE = landscape(A4)
_LANGUAGE_TAGS = {"zh": "zh-CN", "en": "en"}


@dataclass(frozen=True)
class RenderedReport:
    """A report written to disk: where, its SHA-256, its page count and size."""

    path: Path
    sha256: str
    pages: int
    size_bytes: int

    def log_detail(self, entries: Sequence[Entry]) -> dict[str, object]:
        """The detail of the ``report.generated`` entry: the file, and the log it was made from."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "pages": self.pages,
            "entries": len(entries),
            "log_head": entries[-1].hash,
        }


def _generation_time(generated_at: datetime | None) -> datetime:
    if generated_at is not None:
        if generated_at.tzinfo is None:
            raise ReportError("generated_at needs a time zone, e.g. datetime.now(UTC)")
        return generated_at.astimezone(UTC)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise ReportError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds; unset or fix it") from exc
    return datetime.now(UTC).replace(microsecond=0)


def _action_log_json(entries: Sequence[Entry]) -> bytes:
    listing = [entry.as_dict() for entry in entries]
    return json.dumps(listing, ensure_ascii=False, indent=1, default=str).encode()


class _PageDecoration:
    """Draws the drill marker on top and the incident id and page number at the foot of every page."""

    def __init__(
        self, *, font: str, incident: Incident, words: Wording, drill: bool, page: tuple[float, float]
    ) -> None:
        self.font = font
        self.page = page
        self.footer = f"Muster · {incident.id} · {shorten(plain_text(incident.title), 48)}"
        self.words = words
        self.drill = drill

    def __call__(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        width, height = self.page
        canvas.saveState()
        canvas.setFont(self.font, 7.5)
        canvas.setFillColor(colors.Color(0.4, 0.42, 0.46))
        canvas.drawString(_MARGIN, _MARGIN / 2, self.footer)
        canvas.drawRightString(width - _MARGIN, _MARGIN / 2, self.words["page"].format(page=doc.page))
        if self.drill:
            canvas.setFont(self.font, 9)
            canvas.setFillColor(colors.Color(0.75, 0.05, 0.05))
            canvas.drawString(_MARGIN, height - _MARGIN / 2 - 3, self.words["drill_marker"])
        canvas.restoreState()


def _frame(page: tuple[float, float], name: str) -> Frame:
    width, height = page
    return Frame(_MARGIN, _MARGIN, width - 2 * _MARGIN, height - 2 * _MARGIN, id=name, leftPadding=0, rightPadding=0)


def _document(buffer: io.BytesIO, *, font: str, incident: Incident, words: Wording, drill: bool) -> BaseDocTemplate:
    doc = BaseDocTemplate(
        buffer,
        pagesize=_PORTRAIT,
        invariant=1,
        initialFontName=font,
        pageCompression=1,
        title=plain_text(incident.title),
        author="Muster",
        subject=words["report"],
        creator="Muster",
        lang=_LANGUAGE_TAGS[words.language],
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
    )
    for name, page in (("portrait", _PORTRAIT), ("landscape", _LANDSCAPE)):
        decoration = _PageDecoration(font=font, incident=incident, words=words, drill=drill, page=page)
        doc.addPageTemplates([PageTemplate(name, [_frame(page, name)], onPage=decoration, pagesize=page)])
    return doc


def _story(parts: ReportParts) -> list[Flowable]:
    return [
        *title_section(parts),
        *decree_section(parts),
        *steps_section(parts),
        *deadlines_section(parts),
        *recipients_section(parts),
        *accountability_section(parts),
        # The timeline is wide: it gets landscape pages of its own, and the integrity check follows it.
        NextPageTemplate("landscape"),
        PageBreak(),
        *timeline_section(parts),
        *integrity_section(parts),
    ]


def render_incident_report(
    *,
    incident: Incident,
    entries: Sequence[Entry],
    output: Path,
    language: str = "zh",
    generated_at: datetime | None = None,
) -> RenderedReport:
    """Render the incident report as a PDF at ``output``, the action log attached; same inputs, same bytes."""
    words = wording_for(language)
    generated = _generation_time(generated_at)
    font = report_font()
    summary = summarize_log(incident, entries, language)
    action_log = _action_log_json(entries)
    portrait_width = _PORTRAIT[0] - 2 * _MARGIN
    parts = ReportParts(
        incident=incident,
        entries=entries,
        summary=summary,
        words=words,
        styles=report_styles(font),
        width=portrait_width,
        wide_width=_LANDSCAPE[0] - 2 * _MARGIN,
        generated_at=generated,
        attachment_sha256=hashlib.sha256(action_log).hexdigest(),
    )
    buffer = io.BytesIO()
    doc = _document(buffer, font=font, incident=incident, words=words, drill=summary.run.drill)
    try:
        doc.build(_story(parts))
        info = {"/Title": plain_text(incident.title), "/Subject": words["report"]}
        data = attach_action_log(buffer.getvalue(), action_log=action_log, created_at=generated, info=info)
    except ReportError:
        raise
    except Exception as exc:  # reportlab and pypdf raise many types; this is the one place they are mapped
        raise ReportError(f"cannot render the report for incident {incident.id}: {type(exc).__name__}: {exc}") from exc
    try:
        sha256 = write_atomically(output, data)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {output}: {exc}; check the directory is writable") from exc
    return RenderedReport(path=output, sha256=sha256, pages=doc.page, size_bytes=len(data))
