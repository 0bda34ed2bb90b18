"""Chasing acknowledgements: wait, repeat to the silent only, record who missed, climb the chain (一级抓一级)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from flows.ack_wait import wait_for_answers
from flows.context import RunContext
from flows.messages import MessagingStep, Recipient, StepOutcome, compose, recipients, send, tally
from incidents import Entry, EntryKind, Outcome
from playbooks import AckSpec, localize

__all__ = ["ESCALATION_ROUND", "AckResult", "chase_acks", "enough"]

ESCALATION_ROUND = 100  # escalation levels use rounds 101, 102, … so their delivery keys never clash


class AckResult:
    """How a step's acknowledgements ended."""

    def __init__(self, outcome: StepOutcome, acked: dict[str, Entry], missed: list[Recipient], satisfied: bool):
        self.outcome = outcome
        self.acked = acked
        self.missed = missed
        self.satisfied = satisfied

    @property
    def first_ack_at(self) -> datetime | None:
        """When the ack that satisfied the step (or the first one) arrived."""
        return min((entry.at for entry in self.acked.values()), default=None)


def enough(spec: AckSpec, reached: Sequence[Recipient]) -> Callable[[dict[str, Entry]], bool]:
    """Whether the answers so far satisfy ``need``: all reached, any one, or a number of them."""
    wanted = {r.person.id for r in reached}

    def check(answers: dict[str, Entry]) -> bool:
        got = len(wanted & answers.keys())
        if spec.need == "all":
            return got >= len(wanted)
        if spec.need == "any":
            return got >= 1
        return got >= min(spec.need, len(wanted))

    return check


async def chase_acks(
    step: MessagingStep,
    ctx: RunContext,
    reached: list[Recipient],
    *,
    extra: dict[str, object],
    until: datetime | None = None,
    on_tick: Callable[[datetime], None] | None = None,
) -> AckResult:
    """Wait for the step's acks; repeat to those still silent; then record misses and escalate."""
    spec = step.ack
    assert spec is not None
    outcome = StepOutcome()
    done = enough(spec, reached)
    started = datetime.now(UTC)
    answered: dict[str, Entry] = {}
    for round in range(spec.repeat + 1):
        window = spec.within if round == 0 else (spec.every or spec.within)
        deadline = min(datetime.now(UTC) + window, until) if until else datetime.now(UTC) + window
        answered = await wait_for_answers(
            ctx.log, ctx.incident.id, step.id, EntryKind.ACK_RECEIVED, until=deadline, done=done, on_tick=on_tick
        )
        if done(answered) or (until is not None and datetime.now(UTC) >= until) or round == spec.repeat:
            break
        silent = [r for r in reached if r.person.id not in answered]
        messages, unreachable = compose(
            step,
            ctx,
            silent,
            round=round + 1,
            extra=extra,
            purpose="ack",
            preface={"zh": f"【第{round + 1}次提醒，请确认】", "en": f"[Reminder {round + 1}: please acknowledge]"},
        )
        outcome += tally(await send(messages, ctx), unreachable)
        ctx.record(
            EntryKind.REMINDER_SENT,
            step=step.id,
            outcome=Outcome.OK,
            detail={"round": round + 1, "to": [r.person.id for r in silent], "names": [r.person.name for r in silent]},
        )
    if done(answered):
        return AckResult(outcome, answered, [], True)
    missed = [r for r in reached if r.person.id not in answered]
    waited = datetime.now(UTC) - started
    for recipient in missed:
        _record_missed(ctx, step, recipient, rounds=spec.repeat + 1, waited_s=round_seconds(waited))
    if spec.escalate_to is not None and missed:
        more, answered = await _escalate(step, ctx, spec, missed, answered, extra)
        outcome += more
    return AckResult(outcome, answered, missed, done(answered))


async def _escalate(
    step: MessagingStep,
    ctx: RunContext,
    spec: AckSpec,
    missed: list[Recipient],
    answered: dict[str, Entry],
    extra: dict[str, object],
) -> tuple[StepOutcome, dict[str, Entry]]:
    """Climb level by level until someone above acknowledges or the chain ends."""
    outcome = StepOutcome()
    levels = _levels(ctx, spec, missed)
    silent_names = "、".join(f"{r.person.name}（{_role_name(ctx, r.role)}）" for r in missed)
    silent_en = ", ".join(f"{r.person.display_name('en')} ({_role_name(ctx, r.role, 'en')})" for r in missed)
    for level, roles in enumerate(levels, start=1):
        above = [r for r in recipients(roles, ctx, step.id) if r.person.id not in answered]
        if not above:
            continue
        preface = {
            "zh": f"【升级通知】{silent_names}未在规定时间内确认，请您督促落实并确认：",
            "en": f"[Escalation] {silent_en} did not acknowledge in time; please see it done and acknowledge:",
        }
        messages, unreachable = compose(
            step, ctx, above, round=ESCALATION_ROUND + level, extra=extra, purpose="ack", preface=preface
        )
        outcome += tally(await send(messages, ctx), unreachable)
        ctx.record(
            EntryKind.ESCALATED,
            step=step.id,
            outcome=Outcome.OK,
            detail={
                "level": level,
                "roles": roles,
                "to": [r.person.id for r in above],
                "names": [r.person.name for r in above],
                "silent": [r.person.id for r in missed],
                "silent_names": [r.person.name for r in missed],
            },
        )
        level_ids = {r.person.id for r in above}

        def someone_above(seen: dict[str, Entry], ids: set[str] = level_ids) -> bool:
            return bool(ids & seen.keys())

        answered = await wait_for_answers(
            ctx.log,
            ctx.incident.id,
            step.id,
            EntryKind.ACK_RECEIVED,
            until=datetime.now(UTC) + spec.within,
            done=someone_above,
        )
        if someone_above(answered):
            break
        for recipient in above:
            _record_missed(ctx, step, recipient, escalation_level=level)
    return outcome, answered


def _record_missed(ctx: RunContext, step: MessagingStep, recipient: Recipient, **facts: object) -> None:
    """A missed ack, by name and role: the accountability section of the report reads these."""
    ctx.record(
        EntryKind.ACK_MISSED,
        step=step.id,
        recipient=recipient.person.id,
        outcome=Outcome.MISSED,
        detail={
            "recipient_name": recipient.person.name,
            "recipient_name_en": recipient.person.display_name("en"),
            "role": recipient.role,
            "role_name": _role_name(ctx, recipient.role),
            "role_name_en": _role_name(ctx, recipient.role, "en"),
            **facts,
        },
    )


def _levels(ctx: RunContext, spec: AckSpec, missed: list[Recipient]) -> list[list[str]]:
    """The roles to escalate to, one list per level: a named role, or each silent role's chain."""
    if spec.escalate_to != "chain":
        return [[spec.escalate_to]] if spec.escalate_to else []
    chains = [ctx.config.roster.escalation_chain(r.role) for r in missed]
    depth = max((len(c) for c in chains), default=0)
    return [list(dict.fromkeys(c[i] for c in chains if len(c) > i)) for i in range(depth)]


def _role_name(ctx: RunContext, role: str, language: str = "zh") -> str:
    return localize(ctx.playbook.roles[role].name, language) if role in ctx.playbook.roles else role


def round_seconds(delta: timedelta) -> float:
    """Seconds to a tenth."""
    return round(delta.total_seconds(), 1)
