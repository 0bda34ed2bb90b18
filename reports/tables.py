"""The report's paragraph styles and tables, every one set in the embedded font.

Long tables are built in chunks of :data:`CHUNK_ROWS` rows: a 10,000-row action log took
3.9 s as one LongTable and 1.05 s in chunks of 200 (DESIGN.md); splitting one big table
grows faster than linearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from reports.markup import Markup, fit_cell, paragraph_markup

__all__ = ["CHUNK_ROWS", "ReportStyles", "field_table", "grid_tables", "report_styles"]

CHUNK_ROWS = 200

_RULE = colors.Color(0.62, 0.65, 0.7)
_HEADER_FILL = colors.Color(0.9, 0.92, 0.95)
_LABEL_FILL = colors.Color(0.96, 0.97, 0.98)
_CELL_PADDING = 3.0


@dataclass(frozen=True, slots=True)
class ReportStyles:
    """The paragraph styles of one report."""

    font: str
    title: ParagraphStyle
    subtitle: ParagraphStyle
    banner: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    note: ParagraphStyle
    cell: ParagraphStyle
    header_cell: ParagraphStyle
    line_size: float = 6.5
    line_leading: float = 8.0


def report_styles(font: str) -> ReportStyles:
    """Styles in ``font``; CJK line breaking, which also breaks over-long Latin words."""

    def style(name: str, size: float, leading: float, **extra: object) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, wordWrap="CJK", **extra)

    return ReportStyles(
        font=font,
        title=style("title", 17, 22, spaceAfter=4),
        subtitle=style("subtitle", 10, 13, textColor=colors.Color(0.3, 0.33, 0.38), spaceAfter=8),
        banner=style(
            "banner",
            11,
            15,
            textColor=colors.Color(0.75, 0.05, 0.05),
            borderColor=colors.Color(0.75, 0.05, 0.05),
            borderWidth=0.8,
            borderPadding=4,
            spaceAfter=10,
        ),
        heading=style(
            "heading", 12.5, 16, spaceBefore=12, spaceAfter=6, textColor=colors.Color(0.08, 0.2, 0.4), keepWithNext=1
        ),
        body=style("body", 9, 12.5),
        note=style("note", 8, 10.5, textColor=colors.Color(0.35, 0.37, 0.4), spaceAfter=4, keepWithNext=1),
        cell=style("cell", 7.5, 9.5),
        header_cell=style("header_cell", 7.5, 9.5, textColor=colors.Color(0.1, 0.15, 0.25)),
    )


def field_table(rows: Sequence[tuple[str, Markup]], styles: ReportStyles, *, width: float) -> Table:
    """A two-column table of labels and values; the value is markup already made safe."""
    label_width = min(120.0, width * 0.26)
    data = [[Paragraph(paragraph_markup(label), styles.body), Paragraph(value, styles.body)] for label, value in rows]
    table = Table(data, colWidths=[label_width, width - label_width], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), styles.font),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), _LABEL_FILL),
                ("GRID", (0, 0), (-1, -1), 0.4, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), _CELL_PADDING),
                ("BOTTOMPADDING", (0, 0), (-1, -1), _CELL_PADDING),
            ]
        )
    )
    return table


def _grid_style(font: str, size: float, leading: float) -> TableStyle:
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), size),
            ("LEADING", (0, 0), (-1, -1), leading),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), _HEADER_FILL),
            ("GRID", (0, 0), (-1, -1), 0.3, _RULE),
            ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.0),
        ]
    )


def grid_tables(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    widths: Sequence[float],
    styles: ReportStyles,
    wrap: bool,
) -> list[Flowable]:
    """Rows under a header, as tables of at most CHUNK_ROWS rows whose header repeats on each page.

    With ``wrap`` each cell is a Paragraph; without, each cell is plain text fitted to its
    column in at most two lines, which is twice as fast for the long timeline.
    """
    heading = [Paragraph(paragraph_markup(label), styles.header_cell) for label in header]
    size, leading = (styles.cell.fontSize, styles.cell.leading) if wrap else (styles.line_size, styles.line_leading)
    style = _grid_style(styles.font, size, leading)
    fitted = [max(w - 2 * _CELL_PADDING, 1.0) for w in widths]
    tables: list[Flowable] = []
    for start in range(0, len(rows), CHUNK_ROWS):
        body: list[list[object]] = []
        for row in rows[start : start + CHUNK_ROWS]:
            if wrap:
                body.append([Paragraph(paragraph_markup(value), styles.cell) for value in row])
            else:
                cells = zip(row, fitted, strict=True)
                body.append([fit_cell(value, width=w, font=styles.font, size=size) for value, w in cells])
        table = Table([heading, *body], colWidths=list(widths), repeatRows=1, hAlign="LEFT")
        table.setStyle(style)
        tables.append(table)
    return tables
