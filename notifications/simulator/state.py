"""What the simulator remembers and how it is told to misbehave; shared by every twin."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypedDict

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from notifications.simulator.responders import Responders

__all__ = ["HANG_S", "RECORDED_HEADERS", "SimRecord", "SimScript", "SimState"]

HANG_S: Final = 300.0  # how long a scripted hang lasts unless the client gives up or the simulator stops
RECORDED_HEADERS: Final = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")


class SimRecord(TypedDict):
    """One request a twin received, and what it answered (``status`` None: no answer yet, or never)."""

    seq: int
    path: str
    name: str
    received_at: str  # ISO 8601, UTC
    headers: dict[str, str | None]
    body: Any  # the parsed JSON, or None when the body was not JSON
    signature_valid: bool | None  # None when no secret is configured
    status: int | None
    duplicate: bool  # a repeat of a message id the twin had already accepted: answered 200, not processed again
    details: dict[str, Any]  # the twin's own state after this request (e.g. a PagerDuty alert); {} when none


class SimScript(BaseModel):
    """How requests to ``path`` (exact, or ``*`` for all) misbehave: delay or hang, then fail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = "*"
    fail_times: int = Field(default=0, ge=0)  # answer fail_status this many times, then behave
    fail_status: int = Field(default=503, ge=400, le=599)
    delay_ms: int = Field(default=0, ge=0)
    hang: bool = False  # wait HANG_S before answering
    permanent_status: int | None = Field(default=None, ge=400, le=599)  # answer this, always
    retry_after_s: float | None = Field(default=None, ge=0)  # sent as Retry-After with scripted failures
    fail_ratio: float = Field(default=0.0, ge=0, le=1)  # after fail_times: answer fail_status this share of requests
    seed: int = 0  # of the random draws behind fail_ratio, so a run can be repeated


@dataclass
class _ActiveScript:
    script: SimScript
    failures_left: int
    draws: random.Random


@dataclass
class SimState:
    """Records, scripts and the signing secret; used only from the simulator's event loop."""

    webhook_secret: SecretStr | None = None
    records: list[SimRecord] = field(default_factory=list)
    # vendor -> credential id (robot token, bot id, account sid, access key id, routing key) -> its secret.
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    # vendor -> (count, per_s): replaces the limit a twin enforces, e.g. to shrink DingTalk's 20/60 s for a test.
    limits: dict[str, tuple[int, float]] = field(default_factory=dict)
    responders: Responders = field(default_factory=Responders)  # scripted people answering ack links
    _scripts: dict[str, _ActiveScript] = field(default_factory=dict, init=False)
    _bodies: dict[int, bytes] = field(default_factory=dict, init=False)  # open records' raw bodies, until answered
    _windows: dict[str, deque[float]] = field(default_factory=dict, init=False)
    _accepted_ids: set[tuple[str, str]] = field(default_factory=set, init=False)
    _seq: int = field(default=0, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _twin_resets: list[Callable[[], None]] = field(default_factory=list, init=False)

    def open_record(
        self, request: web.Request, *, name: str, body: bytes, path: str | None = None, message: bytes | None = None
    ) -> SimRecord:
        """Keep a record of a request on arrival; the twin fills in its verdict and answer.

        ``path`` replaces the request's path in the record where the path holds a credential
        (a webhook id, a token), so the record shows a masked path from the start.
        ``message`` is what the person receives, where the twin records something else as ``body``:
        scripted responders look for their ack links there (default: ``body``).
        """
        self._seq += 1
        parsed: Any = None
        with contextlib.suppress(ValueError):
            parsed = json.loads(body)
        record = SimRecord(
            seq=self._seq,
            path=request.path if path is None else path,
            name=name,
            received_at=datetime.now(UTC).isoformat(),
            headers={header: request.headers.get(header) for header in RECORDED_HEADERS},
            body=parsed,
            signature_valid=None,
            status=None,
            duplicate=False,
            details={},
        )
        self.records.append(record)
        self._bodies[record["seq"]] = body if message is None else message
        return record

    async def answer(
        self,
        request: web.Request,
        record: SimRecord,
        verdict: Callable[[], web.Response],
        *,
        before_script: web.Response | None = None,
    ) -> web.Response:
        """The answer to a recorded request, kept in its record: the scripted failure for its path, else ``verdict()``.

        ``before_script`` is an answer that comes before any script (a twin's own rate limit);
        ``verdict`` runs only when nothing else answered, so it counts against limits only then.
        """
        answer = before_script if before_script is not None else await self.scripted_answer(request.path)
        if answer is None:
            answer = verdict()
        record["status"] = answer.status
        body = self._bodies.pop(record["seq"], b"")
        if 200 <= answer.status < 300 and not record["duplicate"]:
            self.responders.on_message(record["seq"], body)  # the person has it now: they may answer
        return answer

    def on_reset(self, forget: Callable[[], None]) -> None:
        """Have ``reset()`` also call ``forget``: how a twin forgets its own state (alerts, nonces)."""
        self._twin_resets.append(forget)

    def set_script(self, script: SimScript) -> None:
        """Replace the script for ``script.path``."""
        self._scripts[script.path] = _ActiveScript(script, script.fail_times, random.Random(script.seed))

    def clear_scripts(self, path: str | None = None) -> None:
        """Forget the script for ``path``, or every script."""
        if path is None:
            self._scripts.clear()
        else:
            self._scripts.pop(path, None)

    def reset(self) -> None:
        """Forget every record, script, rate-limit window and accepted message id, and each twin's own state."""
        self.records.clear()
        self._bodies.clear()
        self.responders.reset()
        self._scripts.clear()
        self._windows.clear()
        self._accepted_ids.clear()
        for forget in self._twin_resets:
            forget()

    def credential(self, vendor: str, credential_id: str) -> str | None:
        """The secret the twin of ``vendor`` knows for ``credential_id``, or None if unknown."""
        return self.credentials.get(vendor, {}).get(credential_id)

    def limit(self, vendor: str, default: tuple[int, float]) -> tuple[int, float]:
        """The (count, per_s) limit the twin of ``vendor`` enforces: the override in ``limits``, else ``default``."""
        return self.limits.get(vendor, default)

    def accept_once(self, scope: str, message_id: str) -> bool:
        """Remember ``message_id`` as processed under ``scope``; False when it already was (a repeat to drop)."""
        if (scope, message_id) in self._accepted_ids:
            return False
        self._accepted_ids.add((scope, message_id))
        return True

    def within_rate(self, key: str, limit: int, per_s: float) -> bool:
        """Count one request against ``key``: False when more than ``limit`` came within ``per_s`` seconds."""
        now = time.monotonic()
        window = self._windows.setdefault(key, deque())
        while window and now - window[0] >= per_s:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True

    def start(self) -> None:
        """Let delays and hangs run their course again (after a stop)."""
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """End every delay and hang now: the simulator is stopping."""
        self._stopping.set()

    async def scripted_answer(self, path: str) -> web.Response | None:
        """Wait and fail as the script for ``path`` says, or None to answer normally."""
        active = self._scripts.get(path) or self._scripts.get("*")
        if active is None:
            return None
        script = active.script
        if script.hang:
            await self._pause(HANG_S)
        if script.delay_ms:
            await self._pause(script.delay_ms / 1000)
        if self._stopping.is_set():
            return web.json_response({"error": "simulator stopping"}, status=503)
        if script.permanent_status is not None:
            return _failure(script.permanent_status, "scripted permanent failure", script.retry_after_s)
        if active.failures_left > 0:
            active.failures_left -= 1
            return _failure(script.fail_status, "scripted failure", script.retry_after_s)
        if script.fail_ratio and active.draws.random() < script.fail_ratio:
            return _failure(script.fail_status, "scripted random failure", script.retry_after_s)
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def _failure(status: int, error: str, retry_after_s: float | None) -> web.Response:
    headers = {} if retry_after_s is None else {"Retry-After": f"{retry_after_s:g}"}
    return web.json_response({"error": error}, status=status, headers=headers)
