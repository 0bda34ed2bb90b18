"""Regulatory deadlines: warn before each, and record met or missed at the exact time.

A report step's deadline runs from the incident's time (Decree 493: 1 hour to the
county, 2 hours per level above). The watcher starts with the run, so a deadline
is warned about and judged even while the report step still waits for its needs.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from flows.context import RunContext
from flows.messages import compose, recipients, send
from incidents import EntryKind, Outcome
from playbooks import Deadline, ReportStep, TaskStep, format_duration, localize

__all__ = ["WARNING_ROUND", "deadline_at", "deadline_key", "judge_deadline", "watch_deadline"]

WARNING_ROUND = 50  # the warning's delivery keys never clash with the report's own rounds


def deadline_at(deadline: Deadline, ctx: RunContext) -> datetime:
    """When a deadline falls, from the incident's time (or its report time)."""
    start = ctx.incident.occurred_at if deadline.from_ == "occurred_at" else ctx.incident.reported_at
    return start + deadline.within


def deadline_key(ctx: RunContext, step_id: str) -> str:
    """The log key of a step's met/missed verdict (one per step and incident)."""
    return f"{ctx.incident.id}/{step_id}/deadline"


def judged(ctx: RunContext, step_id: str) -> bool:
    """Whether the step's deadline has a verdict already."""
    key = deadline_key(ctx, step_id)
    return any(
        ctx.log.has_key(ctx.incident.id, kind, key) for kind in (EntryKind.DEADLINE_MET, EntryKind.DEADLINE_MISSED)
    )


def judge_deadline(ctx: RunContext, step: ReportStep | TaskStep, *, met_at: datetime | None, reason: str) -> None:
    """Record met (``met_at`` before the deadline) or missed, once per step."""
    if step.deadline is None or judged(ctx, step.id):
        return
    due = deadline_at(step.deadline, ctx)
    met = met_at is not None and met_at <= due
    detail: dict[str, object] = {
        "deadline": due.isoformat(),
        "at": (met_at if met_at is not None else max(due, datetime.now(UTC))).isoformat(),
        "within": format_duration(step.deadline.within),
        "from": step.deadline.from_,
        "reason": reason,
    }
    if isinstance(step, ReportStep):
        detail |= {"report_to": localize(step.report_to, "zh"), "report_to_en": localize(step.report_to, "en")}
    ctx.record(
        EntryKind.DEADLINE_MET if met else EntryKind.DEADLINE_MISSED,
        step=step.id,
        outcome=Outcome.MET if met else Outcome.MISSED,
        key=deadline_key(ctx, step.id),
        detail=detail,
    )


async def watch_deadline(ctx: RunContext, step: ReportStep) -> None:
    """Warn the step's people before its deadline, and record it missed at the deadline if still open."""
    due = deadline_at(step.deadline, ctx)
    warn_before = step.deadline.warn_before
    if warn_before is not None:
        await _sleep_until(due - warn_before)
        if not judged(ctx, step.id):
            await _warn(ctx, step, due)
    await _sleep_until(due)
    judge_deadline(ctx, step, met_at=None, reason="no report by the deadline")


async def _warn(ctx: RunContext, step: ReportStep, due: datetime) -> None:
    left = max(due - datetime.now(UTC), due - due)
    minutes = max(1, round(left.total_seconds() / 60))
    preface = {
        "zh": f"【时限预警】距法定报告时限还有约{minutes}分钟（{ctx.local_time(due)}），请立即上报：",
        "en": f"[Deadline warning] about {minutes} min left until the legal deadline ({ctx.local_time(due)}); "
        f"report now:",
    }
    people = recipients(step.to, ctx, step.id)
    extra = {"deadline": ctx.local_time(due), "report_to": step.report_to}
    messages, _ = compose(step, ctx, people, round=WARNING_ROUND, extra=extra, preface=preface)
    await send(messages, ctx)
    ctx.record(
        EntryKind.DEADLINE_WARNED,
        step=step.id,
        outcome=Outcome.OK,
        detail={
            "deadline": due.isoformat(),
            "minutes_left": minutes,
            "to": [r.person.id for r in people],
            "names": [r.person.name for r in people],
        },
    )


async def _sleep_until(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)
