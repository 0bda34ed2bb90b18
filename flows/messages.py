"""The messages of a step: who is reached (on duty at the incident's time), what each is sent, and sending it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from flows.context import ActionLogLedger, RunContext
from incidents import EntryKind, Outcome
from notifications import Channel, DeliveryOutcome, DeliveryStatus, Message, deliver
from playbooks import NotifyStep, ReportStep, TaskStep, localize, render_template
from responders import Person

__all__ = ["MessagingStep", "Purpose", "Recipient", "StepOutcome", "compose", "recipients", "send", "tally"]

MessagingStep = NotifyStep | TaskStep | ReportStep
Purpose = Literal["ack", "task"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person reached by a step, and the role they are reached in."""

    person: Person
    role: str


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a step did: messages sent, delivered, failed, people unreachable."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    unreachable: int = 0
    duplicates: int = 0

    def __add__(self, other: StepOutcome) -> StepOutcome:
        return StepOutcome(
            self.sent + other.sent,
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.unreachable + other.unreachable,
            self.duplicates + other.duplicates,
        )


def recipients(roles: Sequence[str], ctx: RunContext, step_id: str) -> list[Recipient]:
    """Each person on duty in one of ``roles`` at the incident's time, once; a role nobody holds is logged."""
    chosen: dict[str, Recipient] = {}
    for role in roles:
        holders = ctx.config.roster.on_duty(role, ctx.incident.occurred_at)
        if not holders:
            ctx.record(
                EntryKind.MESSAGE_UNREACHABLE,
                step=step_id,
                outcome=Outcome.FAILED,
                detail={"role": role, "reason": f"nobody in the roster holds role {role!r}"},
            )
        for person in holders:
            chosen.setdefault(person.id, Recipient(person, role))
    return list(chosen.values())


def compose(
    step: MessagingStep,
    ctx: RunContext,
    people: Sequence[Recipient],
    *,
    round: int = 0,
    extra: Mapping[str, object] | None = None,
    purpose: Purpose | None = None,
    preface: Mapping[str, str] | None = None,
) -> tuple[list[Message], int]:
    """One message per person for this round; people with no contact point are logged as unreachable.

    ``purpose`` ("ack" or "task") puts a signed link in the message, bound to the incident,
    step, person and round. ``preface`` goes before the plan's text (repeats, escalations).
    """
    messages: list[Message] = []
    unreachable = 0
    for recipient in people:
        person, role = recipient.person, recipient.role
        if not person.contacts:
            unreachable += 1
            ctx.record(
                EntryKind.MESSAGE_UNREACHABLE,
                step=step.id,
                recipient=person.id,
                outcome=Outcome.FAILED,
                detail={"role": role, "recipient_name": person.name, "reason": "no contact points in the roster"},
            )
            continue
        language = ctx.language_for(person.language)
        role_name = localize(ctx.playbook.roles[role].name, language) if role in ctx.playbook.roles else role
        ack_url = _link(ctx, step.id, person.id, round, purpose)
        context = ctx.base_template_context(language) | {
            "step": {"id": step.id, "title": localize(step.title, language), "kind": step.kind.value},
            "recipient": {"id": person.id, "name": person.display_name(language), "role": role, "role_name": role_name},
            "ack_url": ack_url,
        }
        for key, value in (extra or {}).items():
            context[key] = localize(value, language) if isinstance(value, dict) else value
        body = render_template(localize(step.message, language), context)
        if preface is not None:
            body = f"{preface.get(language) or preface.get('zh', '')}\n{body}"
        contact, *others = person.contacts
        messages.append(
            Message(
                delivery_key=f"{ctx.incident.id}/{step.id}/{person.id}/{round}",
                incident_id=ctx.incident.id,
                step_id=step.id,
                recipient_id=person.id,
                recipient_name=person.name,
                channel=contact.channel,
                address=contact.address,
                language=language,
                subject=f"{localize(ctx.playbook.title, language)} · {localize(step.title, language)}",
                body=body,
                drill=ctx.incident.drill,
                ack_url=ack_url,
                role=role,
                severity=ctx.incident.grade.value,
                fallbacks=tuple((c.channel, c.address) for c in others),
            )
        )
    return messages, unreachable


def _link(ctx: RunContext, step_id: str, person_id: str, round: int, purpose: Purpose | None) -> str | None:
    if purpose is None or ctx.ack_key is None or ctx.public_url is None:
        return None
    from responders import AckClaim, issue_ack_token

    claim = AckClaim(
        incident_id=ctx.incident.id,
        step_id=step_id,
        responder_id=person_id,
        round=round,
        purpose=purpose,
        expires_at=(datetime.now(UTC) + ctx.link_ttl).replace(microsecond=0),
    )
    return f"{ctx.public_url.rstrip('/')}/ack/{issue_ack_token(claim, ctx.ack_key)}"


async def send(
    messages: list[Message], ctx: RunContext, channels: Mapping[str, Channel] | None = None
) -> list[DeliveryOutcome]:
    """Deliver through the run's client and pacer; every attempt lands in the action log."""
    ledger = ActionLogLedger(ctx.log)
    try:
        return await deliver(messages, channels or ctx.channels, ledger=ledger, client=ctx.client, pacer=ctx.pacer)
    finally:
        ledger.flush()


def tally(outcomes: list[DeliveryOutcome], unreachable: int) -> StepOutcome:
    """Counts of a delivery, duplicates (already delivered before a resume) apart."""
    fresh = [o for o in outcomes if not o.skipped_as_duplicate]
    return StepOutcome(
        sent=len(fresh),
        delivered=sum(o.result.status is DeliveryStatus.DELIVERED for o in fresh),
        failed=sum(o.result.status is not DeliveryStatus.DELIVERED for o in fresh),
        unreachable=unreachable,
        duplicates=len(outcomes) - len(fresh),
    )
