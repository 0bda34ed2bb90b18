"""What is sent and what came of it: the message, and the outcome of one delivery attempt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["DeliveryResult", "DeliveryStatus", "Message"]


class DeliveryStatus(StrEnum):
    """How an attempt ended, and so what delivery does next."""

    DELIVERED = "delivered"  # the channel accepted the message
    RETRY = "retry"  # a transient failure: try again after a backoff
    RATE_LIMITED = "rate_limited"  # the channel asked us to slow down (see retry_after)
    FAILED = "failed"  # permanent: retrying the same request cannot succeed


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one attempt (or of a whole delivery), with the reason in words."""

    status: DeliveryStatus
    reason: str
    http_status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one recipient on one channel, its body already rendered."""

    delivery_key: str  # deterministic: f"{incident_id}/{step_id}/{recipient_id}/{round}"
    incident_id: str
    step_id: str
    recipient_id: str
    recipient_name: str
    channel: str  # name of a configured channel, e.g. "sim-webhook"
    address: str  # the recipient's address on that channel
    language: str  # "zh" | "en"
    subject: str
    body: str
    drill: bool = False
    ack_url: str | None = None
    role: str = ""
    severity: str = ""  # e.g. the incident's grade
    # The recipient's next contact points, in order: (channel, address); tried when this one fails for good.
    fallbacks: tuple[tuple[str, str], ...] = ()
    occurred_at: datetime | None = None  # when the incident happened (timezone-aware), for channels that show it
