"""Guarding the door: body size, content type, bearer tokens. A rejected request records nothing."""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import HTTPException, Request

from muster.service.config import IntakeSource

__all__ = ["authenticate", "parse_json", "read_body", "require_content_type"]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it passes ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, detail={"error": f"body of {declared} bytes is over the limit of {limit} bytes"})
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, detail={"error": f"body is over the limit of {limit} bytes"})
    return bytes(body)


def require_content_type(request: Request, allowed: tuple[str, ...]) -> None:
    """415 unless the request's media type is one of ``allowed``."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in allowed:
        shown = media_type or "none"
        raise HTTPException(
            415, detail={"error": f"content type {shown} is not accepted here; send {' or '.join(allowed)}"}
        )


def parse_json(body: bytes) -> Any:
    """The JSON document, or 400 saying where it is malformed."""
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise HTTPException(400, detail={"error": "body is not UTF-8"}) from None
    except json.JSONDecodeError as exc:
        raise HTTPException(
            400, detail={"error": f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"}
        ) from None


def authenticate(
    request: Request, sources: list[IntakeSource], fmt: str, *, body_token: str | None = None
) -> IntakeSource:
    """The source whose token the request carries (Bearer header, or PagerDuty's routing_key): 401/403 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    token = presented.strip() if scheme.lower() == "bearer" else None
    token = token or body_token
    if not token:
        raise HTTPException(
            401,
            detail={"error": "missing credentials: send Authorization: Bearer <token>"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    match = None
    for source in sources:  # compare with every token, in constant time each, and do not stop early
        if hmac.compare_digest(source.token.get_secret_value().encode(), token.encode()) and fmt in source.formats:
            match = source
    if match is None:
        raise HTTPException(403, detail={"error": f"this token may not report {fmt} events"})
    return match
