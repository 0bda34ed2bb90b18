"""Running a plan's steps in `needs` order, concurrently where they are independent, open to additions.

A step's dependents start once it is *released*: when its messages have gone out,
not when everyone has acknowledged (the 1-hour report must not wait for the rescue
team's acks), or when it ends. Steps can join while the plan runs: when an update
raises the response level, the higher level's steps are added and start as soon as
their needs are released. A need that will never run (skipped) counts as done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from flows.messages import StepOutcome
from playbooks import Playbook

__all__ = ["StepScheduler"]

StepResult = StepOutcome | BaseException


class StepScheduler:
    """Start each added step once its needs have finished; ``wait`` returns when nothing is left."""

    def __init__(
        self,
        playbook: Playbook,
        run: Callable[[str], Awaitable[StepOutcome]],
        *,
        on_failed_need: Callable[[str, list[str]], None],
        should_start: Callable[[str], bool],
    ) -> None:
        self._playbook = playbook
        self._run = run
        self._on_failed_need = on_failed_need
        self._should_start = should_start
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._released: dict[str, asyncio.Event] = {}
        self.results: dict[str, StepResult] = {}

    def release(self, step_id: str) -> None:
        """Let the step's dependents start (its messages are out)."""
        event = self._released.get(step_id)
        if event is not None:
            event.set()

    def scheduled(self, step_id: str) -> bool:
        """Whether the step was already added."""
        return step_id in self._tasks

    def add(self, step_ids: Iterable[str]) -> list[str]:
        """Schedule steps not scheduled yet, in an order where needs come first; return those added."""
        pending = [s for s in dict.fromkeys(step_ids) if s not in self._tasks]
        added: list[str] = []
        while pending:
            ready = [s for s in pending if all(n in self._tasks or n not in pending for n in self._needs(s))]
            if not ready:  # the loader rejects cycles; this guards hand-built playbooks
                raise ValueError(f"steps form a cycle: {', '.join(pending)}")
            for step_id in ready:
                self._released[step_id] = asyncio.Event()
                self._tasks[step_id] = asyncio.create_task(self._when_ready(step_id), name=f"step:{step_id}")
                pending.remove(step_id)
                added.append(step_id)
        return added

    async def wait(self) -> dict[str, StepResult]:
        """Wait until every scheduled step (including ones added meanwhile) has finished."""
        while True:
            running = [t for t in self._tasks.values() if not t.done()]
            if not running:
                return self.results
            await asyncio.wait(running)

    def _needs(self, step_id: str) -> list[str]:
        return list(self._playbook.step(step_id).needs)

    async def _when_ready(self, step_id: str) -> None:
        try:
            needs = [n for n in self._needs(step_id) if n in self._released]
            await asyncio.gather(*(self._released[n].wait() for n in needs))
            failed = [n for n in needs if isinstance(self.results.get(n), BaseException)]
            if failed:
                self._on_failed_need(step_id, failed)
            if not self._should_start(step_id):
                return
            try:
                self.results[step_id] = await self._run(step_id)
            except Exception as exc:  # the step's failure is recorded by the caller, and the plan goes on
                self.results[step_id] = exc
        finally:
            self.release(step_id)
