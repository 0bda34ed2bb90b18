"""What every step of a run can see: the incident, its plan, the roster, the channels and the log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from flows.config import RunConfig
from incidents import ActionLog, EntryKind, Incident, NewEntry, Outcome
from muster.errors import ActionLogError
from notifications import Channel, DeliveryClient, DeliveryResult, Message, Pacer
from playbooks import Level, Playbook, localize

__all__ = ["ActionLogLedger", "RunContext"]


@dataclass
class RunContext:
    """One run's state, shared by its steps; the action log is the only thing they write."""

    incident: Incident
    playbook: Playbook
    level: Level
    config: RunConfig
    log: ActionLog
    channels: dict[str, Channel]
    client: DeliveryClient | httpx.AsyncClient  # delivery_client() in a run; tests may pass an httpx client
    run_id: str
    facts: dict[str, Any] = field(default_factory=dict)
    pacer: Pacer = field(default_factory=Pacer)  # one per run: concurrent steps share each endpoint's budget
    ack_key: bytes | None = None  # signs ack and task links; None: no links (answers by CLI or API only)
    public_url: str | None = None  # base of those links, e.g. https://muster.example.org
    link_ttl: timedelta = timedelta(hours=24)
    await_answers: bool = False  # steps wait for acks and confirmations only when answers can reach them
    release: Callable[[str], None] = field(default=lambda step_id: None)  # dependents may start

    def record(self, kind: EntryKind, **fields: Any) -> None:
        """Append an entry to this incident's action log."""
        self.log.record(self.incident.id, kind, **fields)

    def local_time(self, moment: datetime) -> str:
        """A time in the plan's zone, with the zone named."""
        from zoneinfo import ZoneInfo

        zone = self.playbook.timezone
        return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"

    def language_for(self, preferred: str) -> str:
        """The person's language if the plan has it, else the plan's first language."""
        return preferred if preferred in self.playbook.languages else self.playbook.languages[0]

    def base_template_context(self, language: str) -> dict[str, Any]:
        """Names every plan template may use, apart from the step and recipient."""
        return {
            "incident": self.facts,
            "grade": self.incident.grade.label(language),
            "level": {"id": self.level.id, "name": localize(self.level.name, language)},
            "playbook": {
                "id": self.playbook.id,
                "title": localize(self.playbook.title, language),
                "version": self.playbook.version,
            },
            "drill": self.incident.drill,
            "language": language,
            "timezone": self.playbook.timezone,
            "deadline": None,
            "report_to": None,
            "ack_url": None,
        }


class ActionLogLedger:
    """The delivery ledger over the action log: a message delivered once is never sent again.

    Entries are written in batches (one transaction per ``batch_size`` entries or
    ``max_delay_s``), so a fan-out to thousands does not pay a commit per attempt;
    on an event loop a timer writes a batch ``max_delay_s`` after its first entry even
    when no further entry comes (delivery waiting for a pacing window or a backoff).
    On an event loop the batches are written by one writer thread, in order, so hashing
    and committing overlap the loop's waiting instead of holding up the answers in flight;
    ``already_delivered`` reads its own deliveries from memory, never from a batch in flight.
    ``flush`` waits for those writes, writes the rest, and must be called when the delivery
    is over. A crash can lose the unflushed tail: those messages are sent again on resume
    with the same delivery key (and so the same ``webhook-id`` or dedup key), which
    receivers use to drop the repeat.
    """

    def __init__(self, log: ActionLog, *, batch_size: int = 200, max_delay_s: float = 0.1) -> None:
        self._log = log
        self._batch_size = batch_size
        self._max_delay_s = max_delay_s
        self._pending: list[tuple[str, NewEntry]] = []
        self._oldest = 0.0
        self._delivered: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._writer: ThreadPoolExecutor | None = None  # started by the first batch handed off on a loop
        self._writes: list[Future[None]] = []  # batches handed to the writer, oldest first
        self._write_failed = False  # set by the writer thread; later batches are not written
        self._timer_error: BaseException | None = None  # a timed write that failed, raised by the next call

    def already_delivered(self, message: Message) -> bool:
        """Whether the log already shows this delivery key delivered."""
        return message.delivery_key in self._delivered or self._log.has_key(
            message.incident_id, EntryKind.MESSAGE_DELIVERED, message.delivery_key
        )

    def flush(self) -> None:
        """Write every pending entry, in order, and wait until all is written; the writer thread ends here."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        writes, self._writes = self._writes, []
        try:
            for write in writes:
                write.result()  # in order: the first failure is raised, and what followed it is not written
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None
        self._raise_timer_error()
        pending, self._pending = self._pending, []
        self._write(pending)

    def _write(self, pending: list[tuple[str, NewEntry]]) -> None:
        """One transaction per incident run of entries, in order."""
        start = 0
        while start < len(pending):
            incident = pending[start][0]
            end = start
            while end < len(pending) and pending[end][0] == incident:
                end += 1
            self._log.record_many(incident, [entry for _, entry in pending[start:end]])
            start = end

    def _hand_off(self) -> None:
        """Give the pending batch to the writer thread (on a loop), else write it here and now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._raise_timer_error()
        pending, self._pending = self._pending, []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._write(pending)
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="muster-ledger")
        self._writes = [write for write in self._writes if not write.done() or write.exception() is not None]
        self._writes.append(self._writer.submit(self._write_after_failures, pending))

    def _write_after_failures(self, pending: list[tuple[str, NewEntry]]) -> None:
        """On the writer thread: a batch after a failed one is held back, so the log keeps the order of events."""
        if self._write_failed:
            raise ActionLogError("an earlier batch of delivery entries could not be written; this one was held back")
        try:
            self._write(pending)
        except BaseException:
            self._write_failed = True
            raise

    def _add(self, incident_id: str, entry: NewEntry) -> None:
        self._raise_timer_error()
        now = time.monotonic()
        if not self._pending:
            self._oldest = now
            self._flush_later()
        self._pending.append((incident_id, entry))
        if len(self._pending) >= self._batch_size or now - self._oldest >= self._max_delay_s:
            self._hand_off()

    def _flush_later(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop: the next entry or flush() writes the batch
        self._timer = loop.call_later(self._max_delay_s, self._flush_on_time)

    def _flush_on_time(self) -> None:
        self._timer = None
        try:
            self._hand_off()
        except Exception as exc:  # nobody awaits a timer: the next record or flush raises it
            self._timer_error = exc

    def _raise_timer_error(self) -> None:
        """Raise a failed timed or handed-off write: nothing is swallowed."""
        error, self._timer_error = self._timer_error, None
        if error is None:
            for write in self._writes:
                if write.done() and write.exception() is not None:
                    error = write.exception()
                    self._writes.remove(write)
                    break
        if error is not None:
            raise error

    def record_attempt(self, message: Message, attempt: int, result: DeliveryResult, latency_ms: float) -> None:
        """Log one attempt with its outcome and latency."""
        self._add(
            message.incident_id,
            NewEntry(
                EntryKind.MESSAGE_ATTEMPTED,
                step=message.step_id,
                recipient=message.recipient_id,
                channel=message.channel,
                outcome=Outcome(result.status.value),
                key=message.delivery_key,
                detail={
                    "attempt": attempt,
                    "status": result.http_status,
                    "latency_ms": round(latency_ms, 1),
                    "reason": result.reason,
                    "recipient_name": message.recipient_name,
                    "role": message.role,
                },
            ),
        )

    def record_outcome(self, message: Message, result: DeliveryResult, attempts: int) -> None:
        """Log the final outcome of a message: delivered, or failed with the last reason."""
        delivered = result.status.value == Outcome.DELIVERED
        if delivered:
            self._delivered.add(message.delivery_key)
        self._add(
            message.incident_id,
            NewEntry(
                EntryKind.MESSAGE_DELIVERED if delivered else EntryKind.MESSAGE_FAILED,
                step=message.step_id,
                recipient=message.recipient_id,
                channel=message.channel,
                outcome=Outcome.DELIVERED if delivered else Outcome.FAILED,
                key=message.delivery_key,
                detail={
                    "attempts": attempts,
                    "reason": result.reason,
                    "recipient_name": message.recipient_name,
                    "role": message.role,
                },
            ),
        )
