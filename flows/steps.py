"""What each kind of step does. One function per kind, in an explicit registry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from flows.context import ActionLogLedger, RunContext
from incidents import EntryKind, Outcome
from notifications import Channel, DeliveryOutcome, DeliveryStatus, Message, build_channel, deliver
from playbooks import (
    Deadline,
    HttpStep,
    NotifyStep,
    ReportStep,
    Step,
    StepKind,
    TaskStep,
    WaitStep,
    format_duration,
    localize,
    render_template,
)
from responders import Person

__all__ = ["STEP_RUNNERS", "StepOutcome", "run_step_kind"]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a step did: messages sent, delivered, failed, people unreachable."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    unreachable: int = 0
    duplicates: int = 0


StepRunner = Callable[[Step, RunContext], Awaitable[StepOutcome]]


def _deadline_at(deadline: Deadline, ctx: RunContext) -> datetime:
    start = ctx.incident.occurred_at if deadline.from_ == "occurred_at" else ctx.incident.reported_at
    return start + deadline.within


def _recipients(step: NotifyStep | TaskStep | ReportStep, ctx: RunContext) -> list[tuple[Person, str]]:
    """Each person holding one of the step's roles once, with the first such role; log empty roles."""
    chosen: dict[str, tuple[Person, str]] = {}
    for role in step.to:
        holders = ctx.config.roster.holders(role)
        if not holders:
            ctx.record(
                EntryKind.MESSAGE_UNREACHABLE,
                step=step.id,
                outcome=Outcome.FAILED,
                detail={"role": role, "reason": f"nobody in the roster holds role {role!r}"},
            )
        for person in holders:
            chosen.setdefault(person.id, (person, role))
    return list(chosen.values())


def _compose(
    step: NotifyStep | TaskStep | ReportStep, ctx: RunContext, extra: Mapping[str, object]
) -> tuple[list[Message], int]:
    messages: list[Message] = []
    unreachable = 0
    for person, role in _recipients(step, ctx):
        language = ctx.language_for(person.language)
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
        role_name = localize(ctx.playbook.roles[role].name, language)
        context = ctx.base_template_context(language) | {
            "step": {"id": step.id, "title": localize(step.title, language), "kind": step.kind.value},
            "recipient": {"id": person.id, "name": person.display_name(language), "role": role, "role_name": role_name},
        }
        for key, value in extra.items():
            context[key] = localize(value, language) if isinstance(value, dict) else value
        contact, *others = person.contacts
        messages.append(
            Message(
                delivery_key=f"{ctx.incident.id}/{step.id}/{person.id}/0",
                incident_id=ctx.incident.id,
                step_id=step.id,
                recipient_id=person.id,
                recipient_name=person.name,
                channel=contact.channel,
                address=contact.address,
                language=language,
                subject=f"{localize(ctx.playbook.title, language)} · {localize(step.title, language)}",
                body=render_template(localize(step.message, language), context),
                drill=ctx.incident.drill,
                role=role,
                severity=ctx.incident.grade.value,
                fallbacks=tuple((c.channel, c.address) for c in others),
            )
        )
    return messages, unreachable


def _tally(outcomes: list[DeliveryOutcome], unreachable: int) -> StepOutcome:
    fresh = [o for o in outcomes if not o.skipped_as_duplicate]
    return StepOutcome(
        sent=len(fresh),
        delivered=sum(o.result.status is DeliveryStatus.DELIVERED for o in fresh),
        failed=sum(o.result.status is not DeliveryStatus.DELIVERED for o in fresh),
        unreachable=unreachable,
        duplicates=len(outcomes) - len(fresh),
    )


async def _send(
    messages: list[Message], ctx: RunContext, channels: Mapping[str, Channel] | None = None
) -> list[DeliveryOutcome]:
    ledger = ActionLogLedger(ctx.log)
    try:
        return await deliver(messages, channels or ctx.channels, ledger=ledger, client=ctx.client, pacer=ctx.pacer)
    finally:
        ledger.flush()


async def run_notify(step: Step, ctx: RunContext) -> StepOutcome:
    """Reach every holder of the step's roles."""
    assert isinstance(step, NotifyStep)
    messages, unreachable = _compose(step, ctx, {})
    return _tally(await _send(messages, ctx), unreachable)


async def run_task(step: Step, ctx: RunContext) -> StepOutcome:
    """Send the task to its assignees and log the assignment with its deadline."""
    assert isinstance(step, TaskStep)
    due = _deadline_at(step.deadline, ctx) if step.deadline else None
    messages, unreachable = _compose(step, ctx, {"deadline": ctx.local_time(due) if due else None})
    outcome = _tally(await _send(messages, ctx), unreachable)
    key = f"{ctx.incident.id}/{step.id}/assigned"
    if not ctx.log.has_key(ctx.incident.id, EntryKind.TASK_ASSIGNED, key):  # a resumed run assigned it already
        ctx.record(
            EntryKind.TASK_ASSIGNED,
            step=step.id,
            outcome=Outcome.OK if outcome.delivered + outcome.duplicates else Outcome.FAILED,
            key=key,
            detail={"assignees": [m.recipient_id for m in messages], "deadline": due.isoformat() if due else None},
        )
    return outcome


async def run_report(step: Step, ctx: RunContext) -> StepOutcome:
    """Send the upward report and record whether it met its legal deadline."""
    assert isinstance(step, ReportStep)
    due = _deadline_at(step.deadline, ctx)
    extra = {"deadline": ctx.local_time(due), "report_to": step.report_to}
    messages, unreachable = _compose(step, ctx, extra)
    outcomes = await _send(messages, ctx)
    outcome = _tally(outcomes, unreachable)
    key = f"{ctx.incident.id}/{step.id}/deadline"
    if any(ctx.log.has_key(ctx.incident.id, kind, key) for kind in (EntryKind.DEADLINE_MET, EntryKind.DEADLINE_MISSED)):
        return outcome  # judged by the run that sent it
    # When the report was first delivered: in this run, or (resumed) in one before it.
    delivered_at = [
        e.at for e in ctx.log.entries(ctx.incident.id) if e.kind == EntryKind.MESSAGE_DELIVERED and e.step == step.id
    ]
    at = min(delivered_at) if delivered_at else datetime.now(UTC)
    met = bool(delivered_at) and at <= due
    reason = "delivered in time" if met else ("delivered after the deadline" if delivered_at else "not delivered")
    ctx.record(
        EntryKind.DEADLINE_MET if met else EntryKind.DEADLINE_MISSED,
        step=step.id,
        outcome=Outcome.MET if met else Outcome.MISSED,
        key=key,
        detail={
            "deadline": due.isoformat(),
            "at": at.isoformat(),
            "within": format_duration(step.deadline.within),
            "from": step.deadline.from_,
            "report_to": localize(step.report_to, "zh"),
            "report_to_en": localize(step.report_to, "en"),
            "reason": reason,
        },
    )
    return outcome


async def run_wait(step: Step, ctx: RunContext) -> StepOutcome:
    """Pause for the step's duration."""
    assert isinstance(step, WaitStep)
    await asyncio.sleep(step.duration.total_seconds())
    ctx.record(EntryKind.WAITED, step=step.id, outcome=Outcome.OK, detail={"waited": format_duration(step.duration)})
    return StepOutcome()


async def run_http(step: Step, ctx: RunContext) -> StepOutcome:
    """Call an outside system through a target named in channels.yaml."""
    assert isinstance(step, HttpStep)
    target = ctx.config.http_targets.get(step.target)
    if target is None:
        known = ", ".join(sorted(ctx.config.http_targets)) or "(none)"
        raise LookupError(f"step {step.id!r}: http target {step.target!r} is not in channels.yaml; known: {known}")
    context = ctx.base_template_context(ctx.playbook.languages[0]) | {
        "step": {"id": step.id, "title": localize(step.title, ctx.playbook.languages[0]), "kind": step.kind.value},
    }
    body = {name: render_template(source, context) for name, source in step.body.items()}
    message = Message(
        delivery_key=f"{ctx.incident.id}/{step.id}/{target.name}/0",
        incident_id=ctx.incident.id,
        step_id=step.id,
        recipient_id=target.name,
        recipient_name=target.name,
        channel=target.name,
        address=target.url,
        language=ctx.playbook.languages[0],
        subject=localize(step.title, ctx.playbook.languages[0]),
        body=json.dumps(body, ensure_ascii=False),
        drill=ctx.incident.drill,
        role="http",
        severity=ctx.incident.grade.value,
    )
    outcomes = await _send([message], ctx, {target.name: build_channel(target)})
    ok = outcomes[0].result.status is DeliveryStatus.DELIVERED
    ctx.record(
        EntryKind.HTTP_CALLED,
        step=step.id,
        channel=target.name,
        outcome=Outcome.DELIVERED if ok else Outcome.FAILED,
        detail={"reason": outcomes[0].result.reason, "status": outcomes[0].result.http_status},
    )
    return _tally(outcomes, 0)


STEP_RUNNERS: dict[StepKind, StepRunner] = {
    StepKind.NOTIFY: run_notify,
    StepKind.TASK: run_task,
    StepKind.REPORT: run_report,
    StepKind.WAIT: run_wait,
    StepKind.HTTP: run_http,
}


async def run_step_kind(step: Step, ctx: RunContext) -> StepOutcome:
    """Run a step with the runner registered for its kind."""
    return await STEP_RUNNERS[step.kind](step, ctx)
