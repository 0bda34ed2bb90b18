"""Untrusted text made safe for the PDF.

Text in a reportlab ``Paragraph`` is markup: raw, ``<a href="javascript:…">`` becomes a live
link and ``<img src="/local/file">`` embeds a file from the disk (DESIGN.md). Every value that
comes from an incident or the action log goes through :func:`paragraph_markup` before it meets a
``Paragraph``, and through :func:`plain_text` before it is drawn as a plain table cell.
"""

from __future__ import annotations

import re
from typing import NewType
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics

__all__ = ["ELLIPSIS", "Markup", "fit_cell", "paragraph_markup", "plain_text", "shorten"]

ELLIPSIS = "…"

Markup = NewType("Markup", str)
"""Paragraph markup that draws exactly the characters it was made from; only this module makes it."""

# C0 and C1 controls except tab and newline, DEL, bidirectional overrides and isolates
# (they can make a report read differently from what it stores), lone surrogates, noncharacters.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")


def plain_text(value: object) -> str:
    """``value`` as one printable string: control characters stripped, line breaks as ``\\n``."""
    text = "" if value is None else str(value)
    text = _LINE_BREAKS.sub("\n", text)
    return _UNPRINTABLE.sub("", text).replace("\t", " ")


def paragraph_markup(value: object) -> Markup:
    """``value`` as Paragraph markup that draws exactly its characters, line breaks kept."""
    escaped = escape(plain_text(value), {'"': "&quot;", "'": "&#39;"})
    return Markup(escaped.replace("\n", "<br/>"))


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to at most ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: max(limit - 1, 0)] + ELLIPSIS


def fit_cell(value: object, *, width: float, font: str, size: float, max_lines: int = 2) -> str:
    """Plain ``value`` wrapped to ``width`` points in at most ``max_lines`` lines, cut with an ellipsis.

    Plain table cells do not wrap; Paragraph cells do but cost twice the time on a
    10,000-entry timeline, so the timeline wraps its cells here by glyph widths.
    """
    text = " ".join(plain_text(value).split())
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    measure = pdfmetrics.getFont(font).stringWidth
    lines: list[str] = []
    start, used = 0, 0.0
    for index, char in enumerate(text):
        advance = measure(char, size)
        if used + advance > width and index > start:
            lines.append(text[start:index])
            start, used = index, 0.0
            if len(lines) == max_lines:
                break
        used += advance
    else:
        lines.append(text[start:])
        return "\n".join(lines)
    last = lines[-1]
    while last and measure(last + ELLIPSIS, size) > width:
        last = last[:-1]
    lines[-1] = last.rstrip() + ELLIPSIS
    return "\n".join(lines)
