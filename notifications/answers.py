"""Reading a vendor's answer: its JSON object, its text, and an excerpt fit for a reason.

An excerpt is scrubbed first and cut after: cutting first could split a token at
the cut, and the half left would no longer match the credential it must be cut as.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import httpx

from notifications.credentials import without_credentials

__all__ = ["EXCERPT_CHARS", "answer_excerpt", "answer_text", "json_answer"]

EXCERPT_CHARS: Final = 200  # how much of what a vendor said a reason quotes


def json_answer(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON object, or None when the body is not one."""
    try:
        document = json.loads(response.content)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def answer_text(response: httpx.Response) -> str:
    """The answer's body as text (undecodable bytes replaced)."""
    return response.content.decode("utf-8", errors="replace")


def answer_excerpt(text: str, credentials: Sequence[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """What a vendor said, on one line: every credential cut out first, then cut to ``limit`` characters."""
    said = " ".join(without_credentials(text, credentials).split())
    return said if len(said) <= limit else said[:limit] + "…"
