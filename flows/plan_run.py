"""One plan following its incident: runs the steps, widens when the level rises, stops starting when closed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from flows.context import RunContext
from flows.deadlines import watch_deadline
from flows.messages import StepOutcome
from flows.schedule import StepScheduler
from incidents import EntryKind, Incident, Outcome
from playbooks import ReportStep, localize, plan_steps, response_level

__all__ = ["POLL_S", "PlanRun"]

POLL_S = 0.5  # how often a running plan looks for updates to its incident


class PlanRun:
    """The steps of one run: those the level and conditions allow now, and those an update adds later."""

    def __init__(self, ctx: RunContext, run: Callable[[str], Awaitable[StepOutcome]], *, poll_s: float = POLL_S):
        self.ctx = ctx
        self.poll_s = poll_s
        self.skipped: dict[str, str] = {}
        self.closed = False
        seen = ctx.log.latest(ctx.incident.id, [EntryKind.INCIDENT_UPDATED, EntryKind.INCIDENT_CLOSED])
        self._seen_seq = seen.seq if seen else 0
        self.scheduler = StepScheduler(
            ctx.playbook, run, on_failed_need=self._note_failed_need, should_start=self._may_start
        )
        ctx.release = self.scheduler.release
        self._watchers: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        """Log the steps skipped at this level and schedule the rest, with their deadline watchers."""
        self._watch(self.scheduler.add(self._plan()))

    def _watch(self, step_ids: list[str]) -> None:
        for step_id in step_ids:
            step = self.ctx.playbook.step(step_id)
            if isinstance(step, ReportStep) and step_id not in self._watchers:
                self._watchers[step_id] = asyncio.create_task(
                    watch_deadline(self.ctx, step), name=f"deadline:{step_id}"
                )

    async def follow(self) -> dict[str, StepOutcome | BaseException]:
        """Wait for every step, widening the plan when an update raises the level."""
        while True:
            waiting = asyncio.ensure_future(self.scheduler.wait())
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=self.poll_s)
                self.check_updates()
            if not self.check_updates():
                for watcher in self._watchers.values():  # every report step has judged its own deadline by now
                    watcher.cancel()
                await asyncio.gather(*self._watchers.values(), return_exceptions=True)
                return waiting.result()

    def check_updates(self) -> bool:
        """Apply the newest update or closing of the incident; True when steps were added."""
        ctx = self.ctx
        latest = ctx.log.latest(ctx.incident.id, [EntryKind.INCIDENT_UPDATED, EntryKind.INCIDENT_CLOSED])
        if latest is None or latest.seq <= self._seen_seq:
            return False
        self._seen_seq = latest.seq
        if latest.kind == EntryKind.INCIDENT_CLOSED:
            self.closed = True
            return False
        ctx.incident = Incident.model_validate(latest.detail["incident"])
        ctx.facts = ctx.incident.facts()
        level = response_level(ctx.playbook, ctx.facts)
        if ctx.playbook.level_rank(level.id) > ctx.playbook.level_rank(ctx.level.id):
            ctx.record(
                EntryKind.LEVEL_SET,
                detail={
                    "level": level.id,
                    "name": localize(level.name, "zh"),
                    "name_en": localize(level.name, "en"),
                    "raised_from": ctx.level.id,
                    "grade": ctx.incident.grade.value,
                },
            )
            ctx.level = level
        added = self.scheduler.add(self._plan())
        self._watch(added)
        if added:
            ctx.record(
                EntryKind.NOTE,
                detail={
                    "note": f"plan widened after an update: {', '.join(added)}",
                    "added_steps": added,
                    "level": ctx.level.id,
                },
            )
        return bool(added)

    def _plan(self) -> list[str]:
        """Steps allowed now; newly skipped ones are logged with their reason in both languages."""
        ctx = self.ctx
        runnable = []
        planned_en = plan_steps(ctx.playbook, ctx.facts, ctx.level, "en")
        for item, in_english in zip(plan_steps(ctx.playbook, ctx.facts, ctx.level, "zh"), planned_en, strict=True):
            step_id = item.step.id
            if self.scheduler.scheduled(step_id):
                continue
            if item.skip_reason is None:
                runnable.append(step_id)
                self.skipped.pop(step_id, None)
            elif self.skipped.get(step_id) != item.skip_reason:
                self.skipped[step_id] = item.skip_reason
                ctx.record(
                    EntryKind.STEP_SKIPPED,
                    step=step_id,
                    outcome=Outcome.SKIPPED,
                    detail={"reason": item.skip_reason, "reason_en": in_english.skip_reason},
                )
        return runnable

    def _note_failed_need(self, step_id: str, failed: list[str]) -> None:
        self.ctx.record(EntryKind.NOTE, step=step_id, detail={"note": f"runs although {', '.join(failed)} failed"})

    def _may_start(self, step_id: str) -> bool:
        self.check_updates()
        if self.closed:
            self.skipped[step_id] = "incident closed"
            self.ctx.record(
                EntryKind.STEP_SKIPPED,
                step=step_id,
                outcome=Outcome.SKIPPED,
                detail={"reason": "事件已关闭", "reason_en": "the incident was closed at its source"},
            )
            return False
        return True
