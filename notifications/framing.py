"""Message framing: the drill marker, subject, body and ack link, per language, from .j2 files.

Also the words every channel shows around a message in its own format: the drill-marked
title, the ack button's label, and the marker that ends a body cut to fit a vendor's limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from muster.errors import TemplateError
from notifications.message import Message

__all__ = [
    "ACK_LABELS",
    "DRILL_MARKERS",
    "LANGUAGES",
    "TRUNCATED_MARKERS",
    "checked_language",
    "drill_title",
    "frame_message",
    "framed_text",
]

LANGUAGES = ("en", "zh")
# What frame_message puts first in a drill message, per language (DESIGN.md).
DRILL_MARKERS = {"zh": "【演练】", "en": "[DRILL]"}
# The label of the ack button or link, where a channel shows one apart from the text.
ACK_LABELS = {"zh": "确认收到", "en": "Acknowledge"}
# What ends a body cut to fit a vendor's limit.
TRUNCATED_MARKERS = {"zh": "…（正文过长，已截断）", "en": "…(truncated)"}

_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(_TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # plain text; each channel escapes for its own format
        keep_trailing_newline=False,
        auto_reload=False,  # packaged files: compiled once, never checked on disk again
    )


@lru_cache(maxsize=len(LANGUAGES))
def _frame(name: str) -> Template:
    """The compiled frame template ``name``: loaded and compiled on first use, then held."""
    return _environment().get_template(name)


def frame_message(*, body: str, subject: str, language: str, drill: bool, ack_url: str | None) -> str:
    """The text a responder reads: drill marker first, subject, body, then the ack link when given.

    ``body`` and ``subject`` are data, never templates: braces in them are sent as written.
    A fan-out frames the same text for many people: the last few thousand frames are held.
    """
    return _framed(body, subject, language, drill, ack_url)


@lru_cache(maxsize=4096)
def _framed(body: str, subject: str, language: str, drill: bool, ack_url: str | None) -> str:
    if language not in LANGUAGES:
        raise TemplateError(f"no message frame for language {language!r}; use one of {', '.join(LANGUAGES)}")
    name = f"message.{language}.j2"
    try:
        template = _frame(name)
        return template.render(body=body, subject=subject, drill=drill, ack_url=ack_url)
    except JinjaTemplateError as exc:
        raise TemplateError(f"notifications/templates/{name}: {exc}; the packaged frame is broken") from exc


def framed_text(message: Message, body: str) -> str:
    """The text a responder reads for ``message``, with ``body`` (its own, or cut to fit) as the body."""
    return frame_message(
        body=body, subject=message.subject, language=message.language, drill=message.drill, ack_url=message.ack_url
    )


def checked_language(message: Message) -> str:
    """The message's language, or TemplateError when Muster has no frame for it."""
    if message.language not in LANGUAGES:
        raise TemplateError(f"no message frame for language {message.language!r}; use one of {', '.join(LANGUAGES)}")
    return message.language


def drill_title(message: Message, markers: Mapping[str, str] = DRILL_MARKERS) -> str:
    """The subject led by the drill marker when it is a drill: "【演练】火灾", "[DRILL] Fire"."""
    if not message.drill:
        return message.subject
    marker = markers[message.language]
    return f"{marker} {message.subject}" if marker[-1].isascii() else marker + message.subject
