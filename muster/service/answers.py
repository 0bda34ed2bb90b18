"""Answer links: `GET /ack/{token}` shows what is being confirmed, `POST` records it; and the JSON API.

A GET never records anything: link previews (chat apps, SMS) open links on their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, Field

from flows import AlreadyAnswered, check_unanswered, describe_claim, record_answer

if TYPE_CHECKING:
    from responders import AckClaim
from incidents import ActionLog
from muster.errors import AckTokenError, AckTokenExpired

__all__ = ["AnswerRequest", "add_answer_routes"]

_WORDS = {
    "ack": ("确认收到", "Acknowledge", "已确认收到", "Acknowledged"),
    "task": ("确认已完成", "Confirm done", "已确认完成", "Confirmed done"),
}


class AnswerRequest(BaseModel):
    """`POST /v1/acks`: the token from a message's link, and an optional note."""

    token: str = Field(min_length=10, max_length=2048)
    note: str = Field(default="", max_length=2000)


@lru_cache(maxsize=1)
def _pages() -> ImmutableSandboxedEnvironment:
    folder = Path(__file__).parent / "templates"
    return ImmutableSandboxedEnvironment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html", "j2"]))


def _page(status: int, **values: Any) -> HTMLResponse:
    html = _pages().get_template("answer.html.j2").render(**values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})


def _refusal(error: AckTokenError) -> tuple[int, str, str]:
    if isinstance(error, AlreadyAnswered):
        at = error.at.isoformat(timespec="seconds")
        return 410, f"此链接已于 {at} 使用过，不能重复确认。", f"This link was already used at {at}; it works once."
    if isinstance(error, AckTokenExpired):
        return 410, "此链接已过期。请联系值班室。", "This link has expired. Contact the duty office."
    return 403, "此链接无效（被改动或不属于本系统）。", "This link is not valid (altered, or not Muster's)."


def add_answer_routes(app: FastAPI, *, log: ActionLog, keys: list[bytes]) -> None:
    """Register the answer routes on the service's app."""

    def claim_of(token: str) -> AckClaim:
        from responders import read_ack_token

        return read_ack_token(token, keys, now=datetime.now(UTC))

    def refused(error: AckTokenError, wants_json: bool) -> Response:
        status, reason_zh, reason_en = _refusal(error)
        if wants_json:
            return JSONResponse({"error": reason_en, "error_zh": reason_zh}, status_code=status)
        return _page(
            status,
            heading_zh="无法确认",
            heading_en="Cannot confirm",
            reason_zh=reason_zh,
            reason_en=reason_en,
            tone="bad",
            form=False,
            facts=None,
        )

    @app.get("/ack/{token}", response_class=HTMLResponse, tags=["answers"])
    async def show_answer(token: str) -> Response:
        """The confirmation page of an ack or task link (records nothing)."""
        try:
            claim = claim_of(token)
            check_unanswered(log, claim)
        except AckTokenError as error:
            return refused(error, wants_json=False)
        zh, en, _, _ = _WORDS[claim.purpose]
        return _page(
            200,
            heading_zh=zh,
            heading_en=en,
            reason_zh="",
            reason_en="",
            tone="",
            form=True,
            facts=describe_claim(log, claim),
            button_zh=zh,
            button_en=en,
        )

    @app.post("/ack/{token}", response_class=HTMLResponse, tags=["answers"])
    async def answer_by_link(token: str, request: Request) -> Response:
        """Record the answer of a link (form post from the page), with an optional note."""
        form = parse_qs((await request.body())[:16384].decode("utf-8", "replace"))  # the page's one small field
        note = (form.get("note") or [""])[0][:2000]
        return _answer(token, note, via="link", wants_json=False)

    @app.post("/v1/acks", tags=["answers"])
    async def answer_by_api(body: AnswerRequest) -> Response:
        """Record an answer from the JSON API: `{"token": ..., "note": ...}`."""
        return _answer(body.token, body.note, via="api", wants_json=True)

    def _answer(token: str, note: str, *, via: str, wants_json: bool) -> Response:
        try:
            claim = claim_of(token)
            entry = record_answer(log, claim, note=note, via=via)
        except AckTokenError as error:
            return refused(error, wants_json)
        if wants_json:
            return JSONResponse(
                {
                    "status": entry.kind,
                    "incident_id": claim.incident_id,
                    "step_id": claim.step_id,
                    "responder_id": claim.responder_id,
                    "at": entry.at.isoformat(),
                }
            )
        _, _, zh, en = _WORDS[claim.purpose]
        return _page(
            200,
            heading_zh=zh,
            heading_en=en,
            reason_zh="谢谢，已记录。",
            reason_en="Thank you; recorded.",
            tone="ok",
            form=False,
            facts=describe_claim(log, claim),
        )

