"""Recording a person's answer (an acknowledgement or a task done) from a link, the API or the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flows.ack_wait import answer_arrived
from incidents import ActionLog, Entry, EntryKind, Outcome
from muster.errors import AckTokenError

if TYPE_CHECKING:
    from responders import AckClaim

__all__ = ["AlreadyAnswered", "check_unanswered", "describe_claim", "record_answer"]


class AlreadyAnswered(AckTokenError):
    """The link was used already (a replay); ``at`` is when it was first used."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        super().__init__(f"this link was already used at {at.isoformat(timespec='seconds')}")


def _kind(claim: AckClaim) -> EntryKind:
    return EntryKind.TASK_COMPLETED if claim.purpose == "task" else EntryKind.ACK_RECEIVED


def check_unanswered(log: ActionLog, claim: AckClaim) -> None:
    """Raise AlreadyAnswered (410) when this link was answered before: each link is answered once."""
    from responders import claim_key

    earlier = log.find_key(_kind(claim), claim_key(claim))
    if earlier:
        raise AlreadyAnswered(earlier[0].at)


def describe_claim(log: ActionLog, claim: AckClaim) -> dict[str, str]:
    """What a confirmation page shows: the incident's title, the step's title and the person's name."""
    reported = log.of_kind(claim.incident_id, EntryKind.INCIDENT_REPORTED)
    started = [e for e in log.of_kind(claim.incident_id, EntryKind.STEP_STARTED, claim.step_id)]
    sent = [
        e
        for e in log.of_kind(claim.incident_id, EntryKind.MESSAGE_DELIVERED, claim.step_id)
        if e.recipient == claim.responder_id
    ]
    return {
        "incident_title": str(reported[0].detail.get("incident", {}).get("title", "")) if reported else "",
        "step_title": str(started[-1].detail.get("title", claim.step_id)) if started else claim.step_id,
        "step_title_en": str(started[-1].detail.get("title_en", claim.step_id)) if started else claim.step_id,
        "name": str(sent[-1].detail.get("recipient_name", claim.responder_id)) if sent else claim.responder_id,
    }


def record_answer(log: ActionLog, claim: AckClaim, *, note: str, via: str) -> Entry:
    """Log the answer once per link, wake the waiting step, and say whether a task was done late."""
    from responders import claim_key

    check_unanswered(log, claim)
    kind, key = _kind(claim), claim_key(claim)
    detail: dict[str, object] = {
        "round": claim.round,
        "note": note[:2000],
        "via": via,
        "recipient_name": describe_claim(log, claim)["name"],
    }
    if claim.purpose == "task":
        assigned = log.of_kind(claim.incident_id, EntryKind.TASK_ASSIGNED, claim.step_id)
        due = assigned[-1].detail.get("deadline") if assigned else None
        if isinstance(due, str):
            detail |= {"deadline": due, "late": datetime.now(UTC) > datetime.fromisoformat(due)}
    entry = log.record(
        claim.incident_id,
        kind,
        step=claim.step_id,
        recipient=claim.responder_id,
        outcome=Outcome.OK,
        key=key,
        detail=detail,
    )
    answer_arrived(claim.incident_id)
    return entry
