"""Message framing: the drill marker, subject, body and ack link, per language, from .j2 files."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from muster.errors import TemplateError

__all__ = ["DRILL_MARKERS", "LANGUAGES", "frame_message"]

LANGUAGES = ("en", "zh")
# What frame_message puts first in a drill message, per language (DESIGN.md).
DRILL_MARKERS = {"zh": "【演练】", "en": "[DRILL]"}

_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(_TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # plain text; each channel escapes for its own format
        keep_trailing_newline=False,
    )


def frame_message(*, body: str, subject: str, language: str, drill: bool, ack_url: str | None) -> str:
    """The text a responder reads: drill marker first, subject, body, then the ack link when given.

    ``body`` and ``subject`` are data, never templates: braces in them are sent as written.
    """
    if language not in LANGUAGES:
        raise TemplateError(f"no message frame for language {language!r}; use one of {', '.join(LANGUAGES)}")
    name = f"message.{language}.j2"
    try:
        template = _environment().get_template(name)
        return template.render(body=body, subject=subject, drill=drill, ack_url=ack_url)
    except JinjaTemplateError as exc:
        raise TemplateError(f"notifications/templates/{name}: {exc}; the packaged frame is broken") from exc
