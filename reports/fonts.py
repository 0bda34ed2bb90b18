"""The one font of every report: WenQuanYi Micro Hei, embedded as TrueType subsets.

Measured (DESIGN.md): reportlab's built-in CID font STSong-Light is not embedded and renders
blank on machines without a CJK font; Droid Sans Fallback has no Latin glyphs; Noto and
Source Han CJK ship CFF outlines, which reportlab rejects. WenQuanYi Micro Hei (Apache-2.0)
covers Simplified and Traditional Chinese and Latin, at about 160 bytes per distinct character.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from muster.errors import ReportError

__all__ = ["FONT_NAME", "FONT_PATH", "report_font"]

FONT_NAME = "WenQuanYiMicroHei"
FONT_PATH = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"

_registration = threading.Lock()


def report_font() -> str:
    """Register the vendored font with reportlab (once per process) and return its name."""
    with _registration:
        if FONT_NAME in pdfmetrics.getRegisteredFontNames():
            return FONT_NAME
        try:
            font = TTFont(FONT_NAME, str(FONT_PATH), subfontIndex=0)
        except (OSError, TTFError) as exc:
            raise ReportError(
                f"cannot load the report font {FONT_PATH}: {exc}; "
                "reinstall Muster so that reports/fonts/wqy-microhei.ttc is present"
            ) from exc
        pdfmetrics.registerFont(font)
        # The font has one weight: bold and italic map to it, so <b> never falls back to Helvetica.
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(FONT_NAME, bold, italic, FONT_NAME)
    return FONT_NAME
