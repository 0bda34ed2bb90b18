"""The `respond` flow: one emergency plan run for one incident, step by step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import AsyncClientContext, SyncClientContext
from prefect.runtime import flow_run
from prefect.settings import get_current_settings
from prefect.utilities.annotations import quote
from pydantic import BaseModel, Field

from flows.catalog import find_playbook
from flows.config import load_config
from flows.context import RunContext
from flows.messages import StepOutcome
from flows.plan_run import PlanRun
from flows.steps import run_step_kind
from incidents import ActionLog, EntryKind, Incident, Outcome, incident_from_log, open_action_log, report_incident
from notifications import build_channel, delivery_client
from playbooks import Playbook, localize, response_level
from reports import render_incident_report

__all__ = ["RunOptions", "RunSummary", "SharedPrefectClients", "on_run_started", "respond"]

# incident id -> what to call once its run has begun (run.started is in the log); see on_run_started.
_started_listeners: dict[str, Callable[[], None]] = {}


@contextmanager
def on_run_started(incident_id: str, listener: Callable[[], None]) -> Iterator[None]:
    """Call ``listener`` (from the run's thread) once a run of the incident started inside the block has begun.

    The service uses it to let only a few runs through Prefect's start at a time (creating a flow
    run is where a SQLite Prefect server locks up under a burst) without holding runs that wait.
    """
    _started_listeners[incident_id] = listener
    try:
        yield
    finally:
        if _started_listeners.get(incident_id) is listener:
            del _started_listeners[incident_id]


class RunOptions(BaseModel):
    """Where a run finds its config and keeps its records."""

    home: str = Field(description="Muster's data directory (MUSTER_HOME)")
    config_dir: str = Field(description="Folder with roster.yaml and channels.yaml")
    playbook_dirs: list[str] = Field(default_factory=list, description="Extra folders of playbooks")
    database: str | None = Field(default=None, description="Action-log URL; default: HOME/muster.db")
    report_language: str = Field(default="zh", pattern="^(zh|en)$")
    public_url: str | None = Field(default=None, description="Base of ack and task links; None: no links")
    await_answers: bool = Field(
        default=False,
        description="Wait for acks and task confirmations (repeat, escalate, judge deadlines by them); "
        "without it, links are sent and answers recorded whenever they come, but no step waits for them",
    )

    def action_log(self) -> ActionLog:
        """Open the action log these options name."""
        return open_action_log(self.database or Path(self.home) / "muster.db")


class RunSummary(BaseModel):
    """What a run did, as `muster trigger --json` prints it."""

    incident_id: str
    run_id: str
    playbook: str
    grade: str
    level: str
    report: str | None
    report_sha256: str | None
    sent: int
    delivered: int
    failed: int
    unreachable: int
    skipped_steps: list[str]
    failed_steps: list[str]
    status: str


@task(name="step", task_run_name="{step_id}", cache_policy=NO_CACHE)
async def run_step(step_id: str, ctx: RunContext) -> StepOutcome:
    """Run one step of the plan: one Prefect task per step, fan-out inside it."""
    step = ctx.playbook.step(step_id)
    ctx.record(
        EntryKind.STEP_STARTED,
        step=step.id,
        detail={"kind": step.kind.value, "title": localize(step.title, "zh"), "title_en": localize(step.title, "en")},
    )
    outcome = await run_step_kind(step, ctx)
    ctx.record(
        EntryKind.STEP_FINISHED,
        step=step.id,
        outcome=Outcome.OK,
        detail={
            "sent": outcome.sent,
            "delivered": outcome.delivered,
            "failed": outcome.failed,
            "unreachable": outcome.unreachable,
            "duplicates": outcome.duplicates,
        },
    )
    return outcome


@task(name="close", cache_policy=NO_CACHE)
async def close_run(ctx: RunContext, options: RunOptions) -> tuple[str, str]:
    """Render the PDF report from the action log, store it, and chain its hash into the log."""
    entries = ctx.log.entries(ctx.incident.id)
    earlier = sum(e.kind == EntryKind.REPORT_GENERATED for e in entries)  # a resumed or widened run: keep both
    name = f"{ctx.incident.id}.pdf" if not earlier else f"{ctx.incident.id}-{earlier + 1}.pdf"
    output = Path(options.home) / "reports" / name
    rendered = await asyncio.to_thread(
        render_incident_report,
        incident=ctx.incident,
        entries=entries,
        output=output,
        language=options.report_language,
    )
    ctx.record(
        EntryKind.REPORT_GENERATED,
        outcome=Outcome.OK,
        detail=rendered.log_detail(entries),
    )
    await acreate_markdown_artifact(
        key=f"report-{ctx.incident.id.lower()}".replace("_", "-").replace(".", "-").replace(":", "-"),
        markdown=(
            f"# {ctx.incident.title}\n\n"
            f"- Incident: `{ctx.incident.id}`\n- Grade: {ctx.incident.grade.zh} / {ctx.incident.grade.en}\n"
            f"- Report: `{rendered.path}`\n- SHA-256: `{rendered.sha256}`\n"
        ),
        description="Muster incident report",
    )
    return str(rendered.path), rendered.sha256


def _ack_key(home: Path) -> bytes | None:
    from responders import ack_key

    return ack_key(home)


def _playbook_for(name: str, options: RunOptions) -> Playbook:
    return find_playbook(name, [Path(d) for d in options.playbook_dirs])


# A run's summary goes back to its caller and its record is the action log: Prefect persists no result.
# Saying so spares each run a lookup of the server's default result storage to decide whether to persist;
# naming a storage anyway (Prefect's own local default, left empty) spares two more, blocking ones
# (`ResultStore.update_for_flow`, on the service's event loop).
_RESULT_STORAGE = Path(get_current_settings().results.local_storage_path)


class SharedPrefectClients:
    """One pair of Prefect API clients for every run of a long-lived process, opened on first use.

    Without it Prefect opens a new pair for each flow run, and each client builds a TLS context from
    certifi's bundle (~20 ms of CPU, even for an ``http://`` API).
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._contexts: tuple[SyncClientContext, AsyncClientContext] | None = None

    @asynccontextmanager
    async def use(self) -> AsyncIterator[None]:
        """Flow runs started inside the block (in this task, on this loop) use the shared clients."""
        sync_context, async_context = await self._open()
        # Each run enters its own copy: a context model is entered once, and sets the client for its task only.
        async with async_context.model_copy():
            with sync_context.model_copy():  # after the async one: its API version check is then done
                yield

    async def _open(self) -> tuple[SyncClientContext, AsyncClientContext]:
        async with self._lock:
            if self._contexts is None:
                sync_context, async_context = SyncClientContext(), AsyncClientContext()
                sync_context.client.__enter__()  # held open between runs, until close()
                await async_context.client.__aenter__()
                self._contexts = (sync_context, async_context)
            return self._contexts

    async def close(self) -> None:
        """Close the clients; a later run opens new ones."""
        async with self._lock:
            if self._contexts is not None:
                sync_context, async_context = self._contexts
                self._contexts = None
                await async_context.client.__aexit__(None, None, None)
                sync_context.client.__exit__(None, None, None)


@flow(
    name="respond",
    flow_run_name="{incident.id}",
    log_prints=True,
    persist_result=False,
    result_storage=_RESULT_STORAGE,
)
async def respond(incident: Incident, playbook: str, options: RunOptions) -> RunSummary:
    """Run an emergency plan for an incident: grade, set the level, run the steps, close with a report."""
    plan = _playbook_for(playbook, options)
    config = await asyncio.to_thread(load_config, options.config_dir)  # may read Prefect Secret blocks
    log = options.action_log()
    entries = log.entries(incident.id)
    if not entries:
        report_incident(log, incident, source="flow")
    else:  # resumed, or updated since it was reported: run on the facts as the log knows them
        incident = incident_from_log(entries)
    run_id = str(flow_run.id or "local")
    facts = incident.facts()
    level = response_level(plan, facts)
    async with delivery_client() as client:
        ctx = RunContext(
            incident=incident,
            playbook=plan,
            level=level,
            config=config,
            log=log,
            channels={name: build_channel(c) for name, c in config.channels.items()},
            client=client,
            run_id=run_id,
            facts=facts,
            ack_key=_ack_key(Path(options.home)),
            public_url=options.public_url,
            await_answers=options.await_answers,
        )
        ctx.record(
            EntryKind.RUN_STARTED,
            detail={
                "run_id": run_id,
                "playbook": plan.id,
                # A plan run from a file is found again by its path (resume, updates).
                "playbook_file": playbook if playbook.endswith((".yaml", ".yml")) or "/" in playbook else None,
                "version": plan.version,
                "playbook_title": localize(plan.title, "zh"),
                "playbook_title_en": localize(plan.title, "en"),
                "drill": incident.drill,
            },
        )
        listener = _started_listeners.get(incident.id)
        if listener is not None:
            listener()
        ctx.record(
            EntryKind.LEVEL_SET,
            detail={"level": level.id, "name": localize(level.name, "zh"), "name_en": localize(level.name, "en")},
        )

        async def run(step_id: str) -> StepOutcome:
            try:
                return await run_step(step_id, quote(ctx))  # type: ignore[call-overload,no-any-return]
            except Exception as exc:  # recorded the moment it happens; the plan goes on
                ctx.record(
                    EntryKind.STEP_FAILED,
                    step=step_id,
                    outcome=Outcome.FAILED,
                    detail={"error": f"{type(exc).__name__}: {exc}"},
                )
                raise

        plan_run = PlanRun(ctx, run)
        plan_run.start()
        results = await plan_run.follow()
        outcomes = [r for r in results.values() if isinstance(r, StepOutcome)]
        failed_steps = sorted(s for s, r in results.items() if isinstance(r, BaseException))
        totals = {
            "sent": sum(o.sent for o in outcomes),
            "delivered": sum(o.delivered for o in outcomes),
            "failed": sum(o.failed for o in outcomes),
            "unreachable": sum(o.unreachable for o in outcomes),
        }
        status = "completed" if not failed_steps else "completed_with_failed_steps"
        ctx.record(
            EntryKind.RUN_FINISHED,
            outcome=Outcome.OK if not failed_steps else Outcome.FAILED,
            detail={"status": status, "failed_steps": failed_steps, **totals},
        )
        report_path, report_sha = await close_run(quote(ctx), options)  # type: ignore[call-overload]
    return RunSummary(
        incident_id=incident.id,
        run_id=run_id,
        playbook=plan.id,
        grade=ctx.incident.grade.value,
        level=ctx.level.id,
        report=report_path,
        report_sha256=report_sha,
        skipped_steps=sorted(plan_run.skipped),
        failed_steps=failed_steps,
        status=status,
        **totals,
    )
