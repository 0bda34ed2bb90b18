"""Scripted responders: simulated people who answer the ack links in the messages they receive.

A message a twin accepts (2xx, not a dropped repeat) is searched for Muster's answer links
(``…/ack/<token>``, in JSON, markdown, cards or form-encoded SMS alike). The first
responder whose ``match`` occurs in the message (an address, a name, a phone number; ``*``
for anyone) decides what happens to each link: answered ``after_ms`` later, or never
(``after_ms`` None). ``skip`` ignores the first few links that person receives, so a test can
have someone answer only the repeat. A link is answered at most once, as a person clicks it
once; every answer made is kept in ``answers`` with the service's reply.

Answers go the way people send them: ``via="link"`` posts the confirmation page's form
(``POST /ack/<token>``, field ``note``), ``via="api"`` posts ``{"token", "note"}`` to the
service's ``/v1/acks``.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal, TypedDict

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ACK_LINK", "Responders", "SimAnswer", "SimResponder"]

# An answer link as Muster builds it: <public url>/ack/<token> (the token is base64url with dots).
ACK_LINK: Final = re.compile(r"https?://[^\s\"'<>()\[\]{}\\|]+?/ack/[A-Za-z0-9_.~-]+")
_ANSWER_TIMEOUT_S: Final = 10.0


class SimResponder(BaseModel):
    """One scripted person (or everyone, with ``match="*"``) and how they answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str = Field(default="*", min_length=1)  # a text in the message that says it is theirs; * for anyone
    after_ms: int | None = Field(default=0, ge=0)  # answer this long after the message arrived; None: never
    skip: int = Field(default=0, ge=0)  # ignore this many of their links first (answer only a repeat)
    note: str = Field(default="", max_length=2000)
    via: Literal["link", "api"] = "link"


class SimAnswer(TypedDict):
    """One answer a scripted responder sent, and what the service replied (``status`` None: no reply)."""

    record_seq: int  # the message it answers
    match: str
    link_id: str  # the token's last 12 characters: enough to tell links apart, not enough to replay one
    via: str
    answered_at: str  # ISO 8601, UTC, when the answer was sent
    status: int | None
    error: str | None


@dataclass
class Responders:
    """The scripted responders of one simulator, the answers they are waiting to send, and those they sent."""

    scripted: list[SimResponder] = field(default_factory=list)
    answers: list[SimAnswer] = field(default_factory=list)
    _received: dict[str, int] = field(default_factory=dict)  # responder match -> links received so far
    _seen: set[str] = field(default_factory=set)  # links already taken (answered, skipped or ignored)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None

    def add(self, responder: SimResponder) -> None:
        """Script a person; a later one with the same ``match`` replaces the earlier."""
        self.scripted = [r for r in self.scripted if r.match != responder.match] + [responder]
        self._received.pop(responder.match, None)

    def clear(self) -> None:
        """Forget every scripted person, their counts and the answers not yet sent."""
        self.scripted.clear()
        self._received.clear()
        for task in self._pending:
            task.cancel()

    def reset(self) -> None:
        """``clear`` and forget the answers sent and the links seen."""
        self.clear()
        self.answers.clear()
        self._seen.clear()

    def on_message(self, seq: int, body: bytes) -> None:
        """A twin accepted message ``seq``: schedule the answers its links will get."""
        if not self.scripted:
            return
        text = body.decode("utf-8", "replace")
        if "/ack/" not in text and "%2Fack%2F" not in text:
            return
        text = f"{text}\n{urllib.parse.unquote_plus(text)}"  # form-encoded SMS bodies hold the link encoded
        responder = self._responder_for(text)
        for link in dict.fromkeys(ACK_LINK.findall(text)):
            if link in self._seen:
                continue
            self._seen.add(link)
            if responder is None:
                continue
            taken = self._received.get(responder.match, 0)
            self._received[responder.match] = taken + 1
            if taken < responder.skip or responder.after_ms is None:
                continue
            task = asyncio.get_running_loop().create_task(self._answer(seq, link, responder))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def close(self) -> None:
        """Cancel the answers not yet sent and close the HTTP session."""
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _responder_for(self, text: str) -> SimResponder | None:
        """The first scripted person the message names; anyone (``*``) only when nobody named matches."""
        named = [r for r in self.scripted if r.match != "*" and r.match in text]
        if named:
            return named[0]
        return next((r for r in self.scripted if r.match == "*"), None)

    async def _answer(self, seq: int, link: str, responder: SimResponder) -> None:
        if responder.after_ms:
            await asyncio.sleep(responder.after_ms / 1000)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_ANSWER_TIMEOUT_S))
        base, _, token = link.rpartition("/ack/")
        answer = SimAnswer(
            record_seq=seq,
            match=responder.match,
            link_id=token[-12:],
            via=responder.via,
            answered_at=datetime.now(UTC).isoformat(),
            status=None,
            error=None,
        )
        self.answers.append(answer)
        try:
            if responder.via == "api":
                request = self._session.post(f"{base}/v1/acks", json={"token": token, "note": responder.note})
            else:
                request = self._session.post(link, data={"note": responder.note})
            async with request as reply:
                await reply.read()
                answer["status"] = reply.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            answer["error"] = f"{type(exc).__name__}: {exc}".rstrip(": ")
