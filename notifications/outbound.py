"""What a channel sends: a compact JSON body, the POST that carries it, and a copy of a request signed anew."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["compact_json", "json_post", "rebuilt_request"]

JSON_UTF8 = "application/json; charset=utf-8"


def compact_json(document: Mapping[str, Any]) -> bytes:
    """``document`` as UTF-8 JSON without spaces, non-ASCII kept: what a vendor's byte limit counts."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def json_post(
    url: str | httpx.URL, content: bytes, *, user_agent: str, headers: Mapping[str, str] | None = None
) -> httpx.Request:
    """A POST of a JSON body (UTF-8) to ``url``; ``headers`` add to or replace the content type and user agent.

    Pass the ``httpx.URL`` the channel parsed once, so no request parses its url again.
    """
    sent = {"content-type": JSON_UTF8, "user-agent": user_agent, **(headers or {})}
    return httpx.Request("POST", url, content=content, headers=sent)


def rebuilt_request(
    request: httpx.Request, *, url: httpx.URL | None = None, content: bytes | None = None
) -> httpx.Request:
    """A copy of ``request`` with another url or body; the original stays as built, for the next attempt."""
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
    return httpx.Request(
        request.method,
        request.url if url is None else url,
        headers=headers,
        content=request.content if content is None else content,
        extensions=request.extensions,
    )
