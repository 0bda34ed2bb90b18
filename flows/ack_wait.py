"""Waiting for people to answer: acknowledgements and task confirmations, cheaply and promptly.

A waiting step checks the action log for answers, then sleeps on an event that
the service sets when an answer arrives in this process (`answer_arrived`), or
at most ``POLL_S`` when it comes from elsewhere (`muster ack`, another replica).
No busy loops: hundreds of waiting runs cost one small query per second each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

from incidents import ActionLog, Entry, EntryKind

__all__ = ["POLL_S", "answer_arrived", "answers", "wait_for_answers"]

POLL_S = 1.0
_events: dict[str, set[asyncio.Event]] = {}


def answer_arrived(incident_id: str) -> None:
    """Wake every step of this process waiting on the incident (called by the ack endpoints)."""
    for event in list(_events.get(incident_id, ())):
        event.set()


def answers(log: ActionLog, incident_id: str, step_id: str, kind: EntryKind) -> dict[str, Entry]:
    """The first answer of each person to a step, by person id."""
    found: dict[str, Entry] = {}
    for entry in log.of_kind(incident_id, kind, step_id):
        if entry.recipient is not None:
            found.setdefault(entry.recipient, entry)
    return found


async def wait_for_answers(
    log: ActionLog,
    incident_id: str,
    step_id: str,
    kind: EntryKind,
    *,
    until: datetime,
    done: Callable[[dict[str, Entry]], bool],
    on_tick: Callable[[datetime], None] | None = None,
) -> dict[str, Entry]:
    """Wait until ``done(answers)`` holds or ``until`` passes; return the answers seen."""
    event = asyncio.Event()
    _events.setdefault(incident_id, set()).add(event)
    try:
        while True:
            event.clear()  # before looking: an answer landing after the look still wakes us
            seen = answers(log, incident_id, step_id, kind)
            now = datetime.now(UTC)
            if on_tick is not None:
                on_tick(now)
            if done(seen) or now >= until:
                return seen
            remaining = (until - now).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=min(POLL_S, remaining))
    finally:
        waiting = _events.get(incident_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del _events[incident_id]
