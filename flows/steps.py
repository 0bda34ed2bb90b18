"""What each kind of step does. One function per kind, in an explicit registry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from flows.ack_wait import wait_for_answers
from flows.acknowledge import chase_acks, enough
from flows.context import RunContext
from flows.deadlines import deadline_at, judge_deadline
from flows.messages import MessagingStep, Purpose, Recipient, StepOutcome, compose, recipients, send, tally
from incidents import EntryKind, Outcome
from notifications import DeliveryStatus, Message, build_channel
from playbooks import (
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

__all__ = ["STEP_RUNNERS", "StepOutcome", "run_step_kind"]

StepRunner = Callable[[Step, RunContext], Awaitable[StepOutcome]]


async def _reach(
    step: MessagingStep, ctx: RunContext, extra: dict[str, object], purpose: Purpose | None
) -> tuple[list[Recipient], StepOutcome]:
    """Send round 0 to everyone on duty in the step's roles; the step's dependents may start after this."""
    people = recipients(step.to, ctx, step.id)
    messages, unreachable = compose(step, ctx, people, extra=extra, purpose=purpose)
    outcomes = await send(messages, ctx)
    ctx.release(step.id)
    reached = [p for p in people if any(m.recipient_id == p.person.id for m in messages)]
    return reached, tally(outcomes, unreachable)


async def run_notify(step: Step, ctx: RunContext) -> StepOutcome:
    """Reach every holder of the step's roles; with `ack`, chase them until enough have answered."""
    assert isinstance(step, NotifyStep)
    reached, outcome = await _reach(step, ctx, {}, "ack" if step.ack else None)
    if step.ack is not None and ctx.await_answers:
        outcome += (await chase_acks(step, ctx, reached, extra={})).outcome
    return outcome


async def run_task(step: Step, ctx: RunContext) -> StepOutcome:
    """Assign the task; with a deadline, remind before it, wait for a confirmation, and log lateness."""
    assert isinstance(step, TaskStep)
    due = deadline_at(step.deadline, ctx) if step.deadline else None
    extra: dict[str, object] = {"deadline": ctx.local_time(due) if due else None}
    reached, outcome = await _reach(step, ctx, extra, "task")
    key = f"{ctx.incident.id}/{step.id}/assigned"
    if not ctx.log.has_key(ctx.incident.id, EntryKind.TASK_ASSIGNED, key):  # a resumed run assigned it already
        ctx.record(
            EntryKind.TASK_ASSIGNED,
            step=step.id,
            outcome=Outcome.OK if outcome.delivered + outcome.duplicates else Outcome.FAILED,
            key=key,
            detail={
                "assignees": [r.person.id for r in reached],
                "names": [r.person.name for r in reached],
                "deadline": due.isoformat() if due else None,
            },
        )
    if due is None or step.deadline is None or not ctx.await_answers:
        return outcome  # the confirmation is recorded whenever it comes; nothing waits for it
    remind_at = due - (step.deadline.warn_before or (due - datetime.now(UTC)) / 2)
    confirmed = await wait_for_answers(
        ctx.log, ctx.incident.id, step.id, EntryKind.TASK_COMPLETED, until=remind_at, done=bool
    )
    if not confirmed:
        minutes = max(1, round((due - datetime.now(UTC)).total_seconds() / 60))
        preface = {
            "zh": f"【任务提醒】距完成时限还有约{minutes}分钟，完成后请确认：",
            "en": f"[Task reminder] about {minutes} min left; confirm when done:",
        }
        messages, unreachable = compose(step, ctx, reached, round=1, extra=extra, purpose="task", preface=preface)
        outcome += tally(await send(messages, ctx), unreachable)
        ctx.record(
            EntryKind.REMINDER_SENT,
            step=step.id,
            outcome=Outcome.OK,
            detail={"round": 1, "to": [r.person.id for r in reached], "deadline": due.isoformat()},
        )
        confirmed = await wait_for_answers(
            ctx.log, ctx.incident.id, step.id, EntryKind.TASK_COMPLETED, until=due, done=bool
        )
    first = min((e.at for e in confirmed.values()), default=None)
    judge_deadline(ctx, step, met_at=first, reason="confirmed done" if first else "not confirmed by the deadline")
    if first is None and step.ack is not None and step.ack.escalate_to is not None:
        outcome += (await chase_acks(step, ctx, reached, extra=extra, until=datetime.now(UTC))).outcome
    return outcome


async def run_report(step: Step, ctx: RunContext) -> StepOutcome:
    """Send the upward report; met when delivered (or, with `ack`, acknowledged) before the legal deadline."""
    assert isinstance(step, ReportStep)
    due = deadline_at(step.deadline, ctx)
    extra: dict[str, object] = {"deadline": ctx.local_time(due), "report_to": step.report_to}
    reached, outcome = await _reach(step, ctx, extra, "ack" if step.ack else None)
    if step.ack is not None and ctx.await_answers:
        result = await chase_acks(step, ctx, reached, extra=extra, until=max(due, datetime.now(UTC)))
        outcome += result.outcome
        met_at = result.first_ack_at if result.satisfied else None
        if met_at is None and datetime.now(UTC) < due:
            # The chase is over (repeats and escalation done) but the legal clock still runs: an ack
            # before the deadline still meets it, and a miss is recorded when the deadline passes, not before.
            satisfied = enough(step.ack, reached)
            late = await wait_for_answers(
                ctx.log, ctx.incident.id, step.id, EntryKind.ACK_RECEIVED, until=due, done=satisfied
            )
            if satisfied(late):
                met_at = min(entry.at for entry in late.values())
        judge_deadline(
            ctx,
            step,
            met_at=met_at,
            reason="acknowledged by the receiving authority" if met_at else "not acknowledged",
        )
        return outcome
    # Without acks, delivery is the report: when it was first delivered, in this run or one before it (resume).
    delivered_at = [e.at for e in ctx.log.of_kind(ctx.incident.id, EntryKind.MESSAGE_DELIVERED, step.id)]
    first = min(delivered_at) if delivered_at else None
    judge_deadline(ctx, step, met_at=first, reason="delivered" if first else "not delivered")
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
    outcomes = await send([message], ctx, {target.name: build_channel(target)})
    ok = outcomes[0].result.status is DeliveryStatus.DELIVERED
    ctx.record(
        EntryKind.HTTP_CALLED,
        step=step.id,
        channel=target.name,
        outcome=Outcome.DELIVERED if ok else Outcome.FAILED,
        detail={"reason": outcomes[0].result.reason, "status": outcomes[0].result.http_status},
    )
    return tally(outcomes, 0)


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
