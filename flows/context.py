"""What every step of a run can see: the incident, its plan, the roster, the channels and the log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from flows.config import RunConfig
from incidents import ActionLog, EntryKind, Incident, Outcome
from notifications import Channel, DeliveryResult, Message
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
    client: httpx.AsyncClient
    run_id: str
    facts: dict[str, Any] = field(default_factory=dict)

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
    """The delivery ledger over the action log: a message delivered once is never sent again."""

    def __init__(self, log: ActionLog) -> None:
        self._log = log

    def already_delivered(self, message: Message) -> bool:
        """Whether the log already shows this delivery key delivered."""
        return self._log.has_key(message.incident_id, EntryKind.MESSAGE_DELIVERED, message.delivery_key)

    def record_attempt(self, message: Message, attempt: int, result: DeliveryResult, latency_ms: float) -> None:
        """Log one attempt with its outcome and latency."""
        self._log.record(
            message.incident_id,
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
        )

    def record_outcome(self, message: Message, result: DeliveryResult, attempts: int) -> None:
        """Log the final outcome of a message: delivered, or failed with the last reason."""
        delivered = result.status.value == Outcome.DELIVERED
        self._log.record(
            message.incident_id,
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
        )
