"""Runs started by the warm service: in-process, at once, with every task referenced until it ends."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from flows import RunOptions, SharedPrefectClients, on_run_started, playbook_of_run, respond
from incidents import ActionLog, EntryKind, Incident, Outcome, incident_from_log

__all__ = ["RunLauncher", "unfinished_runs"]

_log = logging.getLogger(__name__)

# Seconds before each new try of a run whose flow never began: Prefect's API refused to create or
# start it (e.g. 503 from a SQLite Prefect server under a burst, after the client's own retries).
START_RETRY_DELAYS_S: Final = (1.0, 2.0, 5.0, 10.0, 20.0)
# Runs going through Prefect's start (flow run created, Running, the flow body's preamble) at once. Under a
# burst, a hundred concurrent creates lock a SQLite Prefect server: it answers 503 and Prefect's client backs
# off for up to 32 s, so runs started in waves (100 incidents drained in 142 s; with this gate 72-80 s; on a
# PostgreSQL Prefect server 19 s). A run leaves the gate when run.started is logged, so waiting runs never hold it.
MAX_STARTING: Final = 16


class RunLauncher:
    """Starts the `respond` flow in this process (no work-queue polling) and keeps track of it."""

    def __init__(self, options: RunOptions, log: ActionLog) -> None:
        self.options = options
        self.log = log
        self._tasks: dict[str, asyncio.Task[object]] = {}
        self._prefect = SharedPrefectClients()
        self._starting = asyncio.Semaphore(MAX_STARTING)

    def active(self, incident_id: str) -> bool:
        """Whether a run for the incident is going on in this process."""
        task = self._tasks.get(incident_id)
        return task is not None and not task.done()

    def count(self) -> int:
        """Runs going on now."""
        return sum(not t.done() for t in self._tasks.values())

    def start(self, incident: Incident, playbook: str) -> bool:
        """Start the plan now unless it already runs (a running plan follows updates itself); True if started."""
        if self.active(incident.id):
            return False
        task = asyncio.create_task(self._run(incident, playbook), name=f"respond:{incident.id}")
        self._tasks[incident.id] = task
        task.add_done_callback(lambda done: self._finished(incident.id, done))
        return True

    async def _run(self, incident: Incident, playbook: str) -> object:
        """The plan's run; started again, after a pause, while its flow fails before it begins (nothing sent yet)."""
        for delay in (*START_RETRY_DELAYS_S, None):
            began = self.log.latest(incident.id, [EntryKind.RUN_STARTED])
            try:
                return await self._respond(incident, playbook)
            except Exception as exc:
                if delay is None or self.log.latest(incident.id, [EntryKind.RUN_STARTED]) != began:
                    raise  # out of tries, or the plan had begun: recorded as crashed, resumed on the next start
                self.log.record(
                    incident.id,
                    EntryKind.NOTE,
                    outcome=Outcome.RETRY,
                    detail={
                        "reason": f"the run could not start: {type(exc).__name__}: {exc}"[:500],
                        "retry_in_s": delay,
                    },
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _respond(self, incident: Incident, playbook: str) -> object:
        """One try of the run, through the start gate: the gate opens for the next run once this one has begun."""
        loop = asyncio.get_running_loop()
        await self._starting.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._starting.release()

        def release_soon() -> None:  # called by the flow body, on whatever thread Prefect runs it
            loop.call_soon_threadsafe(release)

        try:
            with on_run_started(incident.id, release_soon):
                async with self._prefect.use():
                    return await respond(incident=incident, playbook=playbook, options=self.options)
        finally:
            release()

    def _finished(self, incident_id: str, task: asyncio.Task[object]) -> None:
        if task.cancelled():
            return  # shut down mid-run: `unfinished_runs` finds it on the next start
        error = task.exception()
        if error is not None:
            _log.error("run for %s failed: %s", incident_id, error)
            self.log.record(
                incident_id,
                EntryKind.RUN_FINISHED,
                outcome=Outcome.FAILED,
                detail={"status": "crashed", "error": f"{type(error).__name__}: {error}"},
            )

    async def shutdown(self, grace_s: float) -> list[str]:
        """Let runs finish for up to ``grace_s``; cancel the rest (resumable) and return their incident ids."""
        running = [t for t in self._tasks.values() if not t.done()]
        if running:
            await asyncio.wait(running, timeout=grace_s)
        left = [incident for incident, t in self._tasks.items() if not t.done()]
        for incident in left:
            self._tasks[incident].cancel()
        await asyncio.gather(*(self._tasks[i] for i in left), return_exceptions=True)
        await self._prefect.close()
        return left


def unfinished_runs(log: ActionLog) -> list[tuple[Incident, str]]:
    """Incidents whose last run started and never finished (the service stopped mid-run), with their playbook."""
    found = []
    for summary in log.incidents():
        last = log.latest(summary.incident_id, [EntryKind.RUN_STARTED, EntryKind.RUN_FINISHED])
        closed = log.latest(summary.incident_id, [EntryKind.INCIDENT_CLOSED])
        if last is not None and last.kind == EntryKind.RUN_STARTED and closed is None:
            entries = log.entries(summary.incident_id)
            found.append((incident_from_log(entries), playbook_of_run(last)))
    return found
