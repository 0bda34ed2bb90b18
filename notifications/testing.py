"""Test helpers that ship with the package: an in-memory delivery ledger."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifications.message import DeliveryResult, DeliveryStatus, Message

__all__ = ["LedgerAttempt", "LedgerOutcome", "MemoryLedger"]


@dataclass(frozen=True, slots=True)
class LedgerAttempt:
    """One ``record_attempt`` call."""

    message: Message
    attempt: int
    result: DeliveryResult
    latency_ms: float


@dataclass(frozen=True, slots=True)
class LedgerOutcome:
    """One ``record_outcome`` call."""

    message: Message
    result: DeliveryResult
    attempts: int


@dataclass
class MemoryLedger:
    """A ``DeliveryLedger`` in a list: delivered keys, and every call in order."""

    delivered_keys: set[str] = field(default_factory=set)
    attempts: list[LedgerAttempt] = field(default_factory=list)
    outcomes: list[LedgerOutcome] = field(default_factory=list)

    def already_delivered(self, message: Message) -> bool:
        """Whether an outcome DELIVERED was recorded for the message's delivery key."""
        return message.delivery_key in self.delivered_keys

    def record_attempt(self, message: Message, attempt: int, result: DeliveryResult, latency_ms: float) -> None:
        """Append the attempt."""
        self.attempts.append(LedgerAttempt(message, attempt, result, latency_ms))

    def record_outcome(self, message: Message, result: DeliveryResult, attempts: int) -> None:
        """Append the outcome; a delivered key counts as already delivered from now on."""
        self.outcomes.append(LedgerOutcome(message, result, attempts))
        if result.status is DeliveryStatus.DELIVERED:
            self.delivered_keys.add(message.delivery_key)

    def attempts_of(self, delivery_key: str) -> list[LedgerAttempt]:
        """The attempts recorded for one delivery key, in order."""
        return [a for a in self.attempts if a.message.delivery_key == delivery_key]
