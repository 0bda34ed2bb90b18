"""Trigger latency: from an intake POST returning to the first message arriving at a responder.

What it measures
    - ``Muster``: a warm ``muster serve`` (its own process) takes ``POST /v1/incidents`` and
      starts the ``respond`` flow in-process at once. The latency of one incident is the
      simulator's ``received_at`` of the incident's first message minus ``time.time()``
      taken right after the POST returned (one machine, one clock). The plan is a tiny
      playbook written to a temp dir (``MUSTER_PLAYBOOKS``): one notify step to one role held
      by one person, so the figure is the trigger path, not the plan. ``--n`` incidents (200),
      one at a time, each once the service is idle again (``/healthz`` runs == 0), after
      ``--warmup`` untimed ones. A second row does the same for the demo ``gas-explosion``
      plan (its first rescue message), ``--demo-n`` times.
    - ``Prefect run_deployment``: Prefect's standard path. The same ``respond`` flow and tiny
      plan served as a deployment with default settings (``respond.serve(name, parameters)``
      in its own process: the runner polls every ``PREFECT_RUNNER_POLL_FREQUENCY`` = 10 s and
      runs each flow run in a new subprocess), started with ``run_deployment(name,
      parameters={"incident": …}, timeout=0)``; measured from that call returning to the
      first message. ``--prefect-n`` runs (20, not 200: each costs ~5–15 s), one at a time.
    - ``Burst``: ``--burst-rate`` incidents/s for ``--burst-seconds`` (50/s × 10 s = 500),
      sent on a fixed schedule (aiohttp, not waiting for answers). Every incident must get
      a 202, a ``run.finished`` in the action log and its first message at the simulator
      (else it is lost: exit status 1). Then: fresh single incidents every second until one
      is back to normal latency (≤ max(250 ms, 1.5 × the unloaded p95)), and the Prefect
      server's count of flow runs named after the burst's incidents (``count_flow_runs``),
      which must equal the incidents sent.

    Processes: the Prefect server (``LocalPrefectServer``: ``prefect server start`` on SQLite
    under a temp dir; or on PostgreSQL), the simulator (``muster simulator --port P``),
    ``muster serve``, and the deployment runner each run in their own process and session,
    so the client, the service and the simulator share no event loop. Everything listens on
    127.0.0.1. Every child is stopped with its whole process group at the end (also on
    Ctrl-C), and a final sweep ends any process still carrying this run's marker variable.

Stage breakdown
    For the Muster probe incidents the latency is split at: the Prefect flow run's
    ``created`` and ``start_time`` (read from the Prefect API), and the action log's
    ``run.started`` and ``step.started`` entries (UTC, ms). Stages: POST return → flow run
    created (task scheduling, engine setup, the create call); created → Running (the
    Running state round trip); Running → run.started (the flow body's preamble: plan, config,
    log, client); run.started → step.started (level, task-run start); step.started → first
    message at the simulator (render, deliver). The POST's own round trip is shown apart.
    The same split is printed for the burst. ``CPU per incident`` is the CPU time (user +
    system, all threads, from ``/proc``) the service, the Prefect server and the simulator
    used over a phase, divided by its incidents: on a machine with C cores, about
    C × 1000 / total incidents per second is the most the whole set-up can take.

Run::

    .venv/bin/python benchmarks/trigger_latency.py                       # SQLite Prefect server, ~5 min
    .venv/bin/python benchmarks/trigger_latency.py --json                # {"muster_p50_ms", …}
    .venv/bin/python benchmarks/trigger_latency.py --postgres            # Prefect server on PostgreSQL
    .venv/bin/python benchmarks/trigger_latency.py --backends sqlite,postgres
    .venv/bin/python benchmarks/trigger_latency.py --n 50 --prefect-n 5 --burst-seconds 2   # quick look

What the numbers mean
    Milliseconds from the intake call returning (or ``run_deployment`` returning) to the first
    byte of the first message reaching the responder's API; p50/p95/p99 over the incidents
    (linear interpolation), max for the burst. Target (from the issue): Muster p95 ≤ 250 ms,
    printed PASS/FAIL; ``--check`` makes a FAIL exit 1. ``--json`` prints
    ``{"muster_p50_ms", "muster_p95_ms", "muster_p99_ms", "prefect_deployment_p95_ms"}``
    (a list of such objects, each with ``"backend"``, for several backends). Progress and
    the breakdown go to stderr with ``--json``. Figures depend on the machine (2-core
    machines in DESIGN.md) and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from stack import Children, env_vars, epoch, free_port, log, pct, stopped_cleanly, summary, tail, wait_http

ROOT = Path(__file__).resolve().parent.parent
MUSTER = str(Path(sys.executable).with_name("muster"))
DEMO = ROOT / "examples" / "demo"
SECRET = "whsec_" + "dHJpZ2dlci1sYXRlbmN5LWJlbmNobWFyay1zZWNyZXQ="
TOKEN = "trigger-latency-bench-token"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TARGET_P95_MS = 250.0
DEPLOYMENT = "muster-latency"
MARKER = "MUSTER_TRIGGER_LATENCY_RUN"  # set on every child: the final sweep finds stragglers by it
ROLE = "MUSTER_TRIGGER_LATENCY_ROLE"  # which piece a process belongs to, for its CPU time
CPU_ROLES = ("service", "prefect-server", "simulator")
PROBE = "latency-probe"
PROBE_PLAYBOOK = f"""
id: {PROBE}
version: 1
title: {{zh: 触发延迟探针预案, en: Trigger latency probe plan}}
incident_types: [latency_probe]
languages: [zh, en]
roles:
  probe_duty: {{name: {{zh: 值班员, en: Duty officer}}}}
levels:
  - {{id: IV, name: {{zh: 四级响应, en: Level IV}}}}
steps:
  - id: alert
    kind: notify
    title: {{zh: 通知值班员, en: Alert the duty officer}}
    to: [probe_duty]
    message: "{{{{ incident.title }}}}"
"""
PROBE_PERSON = {
    "id": "probe-duty",
    "name": "测速值班员",
    "name_en": "Probe duty officer",
    "roles": ["probe_duty"],
    "contacts": [{"channel": "sim-webhook", "address": "probe-duty"}],
}
STAGES = (
    ("POST return → flow run created", "created"),
    ("created → Running (start_time)", "running"),
    ("Running → run.started", "preamble"),
    ("run.started → step.started", "step"),
    ("step.started → message at simulator", "deliver"),
)


# --- figures -------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One incident: when its POST went and returned, and when its first message arrived (epoch seconds)."""

    incident_id: str = ""
    sent: float = 0.0
    returned: float = 0.0
    first: float | None = None
    error: str | None = None

    @property
    def latency_ms(self) -> float | None:
        return None if self.first is None else (self.first - self.returned) * 1000


# --- processes -----------------------------------------------------------------------------------------------


def cpu_seconds(marker: str) -> dict[str, float]:
    """CPU time (user + system) of this run's live processes, by role (see ``ROLE``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = dict.fromkeys(CPU_ROLES, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if f"{MARKER}={marker}".encode() not in environ:
            continue
        role = next((v.split(b"=", 1)[1].decode() for v in environ if v.startswith(f"{ROLE}=".encode())), "")
        if role in found:
            found[role] += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return found


def cpu_per_incident(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    """Milliseconds of CPU per incident, by role, between two ``cpu_seconds`` readings."""
    return {role: (after[role] - before[role]) * 1000 / max(count, 1) for role in CPU_ROLES}


# --- the pieces ----------------------------------------------------------------------------------------------


class Simulator:
    """The responder simulator's control API: what arrived, and when."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=httpx.Timeout(30, pool=None))

    def records(self) -> list[dict[str, Any]]:
        response = self._http.get("/_sim/received")
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()
        return records

    def clear(self) -> None:
        self._http.delete("/_sim/received").raise_for_status()

    def first_arrivals(self) -> dict[str, float]:
        """Each incident's first message at the simulator, accepted (200) and correctly signed."""
        first: dict[str, float] = {}
        for record in self.records():
            body = record.get("body")
            if not isinstance(body, dict) or record.get("status") != 200 or record.get("signature_valid") is False:
                continue
            incident_id = body.get("incident_id")
            if isinstance(incident_id, str):
                at = epoch(record["received_at"])
                first[incident_id] = min(at, first.get(incident_id, at))
        return first

    def wait_first(self, incident_id: str, timeout_s: float, interval_s: float = 0.01) -> float | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.first_arrivals().get(incident_id)
            if found is not None:
                return found
            time.sleep(interval_s)
        return None

    def close(self) -> None:
        self._http.close()


class Service:
    """A running `muster serve`: report incidents, see whether runs are going on."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx.Timeout(60, pool=None)
        )

    def report(self, playbook: str, title: str, **fields: Any) -> Sample:
        incident = {"title": title, "type": "latency_probe" if playbook == PROBE else "gas_explosion"} | fields
        sent = time.time()
        response = self._http.post("/v1/incidents", json={"playbook": playbook, "incident": incident})
        returned = time.time()
        if response.status_code != 202:
            return Sample(sent=sent, returned=returned, error=f"{response.status_code}: {response.text[:200]}")
        return Sample(incident_id=response.json()["incident_id"], sent=sent, returned=returned)

    def running(self) -> int:
        runs: int = self._http.get("/healthz").json()["runs"]
        return runs

    def wait_idle(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.running() == 0:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._http.close()


@dataclass
class Setup:
    """One backend's temp dir, servers and config."""

    backend: str
    tmp: Path
    api_url: str = ""
    sim: Simulator | None = None
    service: Service | None = None
    service_process: subprocess.Popen[bytes] | None = None
    config: Path = field(default_factory=Path)
    plans: Path = field(default_factory=Path)

    @property
    def home(self) -> Path:
        return self.tmp / "home"


def write_config(setup: Setup) -> None:
    """The demo config (roster, channels, service) plus one probe person, and the probe plan."""
    setup.config = setup.tmp / "config"
    setup.plans = setup.tmp / "plans"
    setup.config.mkdir()
    setup.plans.mkdir()
    roster = yaml.safe_load((DEMO / "roster.yaml").read_text(encoding="utf-8"))
    roster["people"].append(PROBE_PERSON)
    (setup.config / "roster.yaml").write_text(yaml.safe_dump(roster, allow_unicode=True), encoding="utf-8")
    for name in ("channels.yaml", "service.yaml"):
        shutil.copy(DEMO / name, setup.config / name)
    (setup.plans / f"{PROBE}.yaml").write_text(PROBE_PLAYBOOK, encoding="utf-8")


def child_env(setup: Setup, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_", "PREFECT_SERVER_DATABASE"))}
    return (
        env
        | {
            "PREFECT_API_URL": setup.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "MUSTER_WEBHOOK_SECRET": SECRET,
            "MUSTER_RESPONDERS_URL": setup.sim.url if setup.sim else "",
            "MUSTER_DUTY_TOKEN": TOKEN,
        }
        | more
    )


def start_simulator(setup: Setup, children: Children) -> None:
    port = free_port()
    output = setup.tmp / "simulator.log"
    process = children.start(
        [MUSTER, "simulator", "--port", str(port)],
        env=os.environ | {"MUSTER_WEBHOOK_SECRET": SECRET},
        output=output,
        role="simulator",
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/_sim/healthz", process, output, 60)
    setup.sim = Simulator(url)


def start_service(setup: Setup, children: Children) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    output = setup.tmp / "service.log"
    env = child_env(
        setup,
        MUSTER_HOME=str(setup.home),
        MUSTER_PLAYBOOKS=str(setup.plans),
        MUSTER_PUBLIC_URL=url,
    )
    process = children.start(
        [MUSTER, "serve", "--port", str(port), "--config", str(setup.config), "--grace", "0"],
        env=env,
        output=output,
        role="service",
    )
    wait_http(f"{url}/healthz", process, output, 120)
    setup.service, setup.service_process = Service(url), process


# --- phases --------------------------------------------------------------------------------------------------


def sequential(setup: Setup, playbook: str, count: int, *, wait_idle: bool, label: str) -> list[Sample]:
    """Report ``count`` incidents one at a time; each one's first message is awaited before the next."""
    assert setup.service is not None and setup.sim is not None
    samples = []
    for i in range(count):
        if wait_idle and not setup.service.wait_idle(60):
            log(f"  warning: the service still had runs going 60 s after incident {i - 1}")
        setup.sim.clear()
        sample = setup.service.report(playbook, f"{label} #{i} {uuid.uuid4().hex[:6]}")
        if sample.error is None:
            sample.first = setup.sim.wait_first(sample.incident_id, 60)
            if sample.first is None:
                sample.error = "no message within 60 s"
        samples.append(sample)
        if (i + 1) % 50 == 0:
            log(f"  {label}: {i + 1}/{count}")
    return samples


async def _burst_send(url: str, rate: int, seconds: float) -> list[Sample]:
    import aiohttp

    count = int(rate * seconds)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200), timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        begin = loop.time() + 0.2

        async def one(i: int) -> Sample:
            await asyncio.sleep(max(0.0, begin + i / rate - loop.time()))
            body = {"playbook": PROBE, "incident": {"title": f"burst #{i}", "type": "latency_probe"}}
            sent = time.time()
            try:
                async with session.post(f"{url}/v1/incidents", json=body, headers=headers) as response:
                    answer = await response.json(content_type=None)
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                return Sample(sent=sent, returned=time.time(), error=f"{type(exc).__name__}: {exc}")
            returned = time.time()
            if status != 202:
                return Sample(sent=sent, returned=returned, error=f"{status}: {str(answer)[:200]}")
            return Sample(incident_id=answer["incident_id"], sent=sent, returned=returned)

        return await asyncio.gather(*(one(i) for i in range(count)))


def burst(setup: Setup, args: argparse.Namespace, normal_ms: float, marker: str) -> dict[str, Any]:
    """The burst, its drain, its losses, the recovery of a fresh incident's latency, and Prefect's run count."""
    from incidents import EntryKind, open_action_log

    assert setup.service is not None and setup.sim is not None
    setup.sim.clear()  # the service is idle but for the demo runs waiting for acks
    log(f"  burst: {args.burst_rate}/s for {args.burst_seconds:g} s")
    cpu_before = cpu_seconds(marker)
    samples = asyncio.run(_burst_send(setup.service.url, args.burst_rate, args.burst_seconds))
    sent_end = max(s.sent for s in samples)
    send_span = sent_end - min(s.sent for s in samples)
    accepted = [s for s in samples if s.error is None]
    action_log = open_action_log(setup.home / "muster.db")
    unfinished = {s.incident_id for s in accepted}
    deadline = time.monotonic() + args.drain_timeout
    try:
        while unfinished and time.monotonic() < deadline:
            unfinished = {i for i in unfinished if action_log.latest(i, [EntryKind.RUN_FINISHED]) is None}
            if unfinished:
                time.sleep(1.0)
    finally:
        action_log.close()
    drained_s = time.time() - sent_end
    cpu_ms = cpu_per_incident(cpu_before, cpu_seconds(marker), len(samples))
    arrivals = setup.sim.first_arrivals()
    for sample in accepted:
        sample.first = arrivals.get(sample.incident_id)
    no_message = [s for s in accepted if s.first is None]
    latencies = [s.latency_ms for s in accepted if s.latency_ms is not None]
    log(f"  burst drained {drained_s:.1f} s after the last POST; probing a fresh incident's latency")
    stages = stage_breakdown(setup, [s for s in accepted if s.first is not None])
    probes, recovered_after = recover(setup, args, normal_ms, sent_end)
    names = [s.incident_id for s in accepted]
    runs = asyncio.run(count_runs(setup.api_url, names, timeout_s=60))
    return {
        "sent": len(samples),
        "send_span_s": send_span,
        "accepted": len(accepted),
        "refused": [s.error for s in samples if s.error is not None][:5],
        "refused_count": len(samples) - len(accepted),
        "finished": len(accepted) - len(unfinished),
        "unfinished": len(unfinished),
        "no_message": len(no_message),
        "lost": len(samples) - len(accepted) + len(unfinished | {s.incident_id for s in no_message}),
        "drained_s": drained_s,
        "post_ms": summary([(s.returned - s.sent) * 1000 for s in samples]),
        "latency": summary(latencies),
        "probes_ms": probes,
        "normal_ms": normal_ms,
        "recovered_after_s": recovered_after,
        "prefect_runs": runs,
        "cpu_ms": cpu_ms,
        "stages": stages,
    }


def recover(setup: Setup, args: argparse.Namespace, normal_ms: float, since: float) -> tuple[list[float], float | None]:
    """Fresh incidents, one a second, until one's latency is normal again; seconds since the burst's last POST."""
    assert setup.service is not None and setup.sim is not None
    probes: list[float] = []
    deadline = time.monotonic() + args.recover_timeout
    while time.monotonic() < deadline:
        sample = setup.service.report(PROBE, f"after burst {uuid.uuid4().hex[:6]}")
        if sample.error is None:
            sample.first = setup.sim.wait_first(sample.incident_id, 30)
        latency = sample.latency_ms
        probes.append(latency if latency is not None else float("inf"))
        if latency is not None and latency <= normal_ms:
            return probes, sample.returned - since
        time.sleep(1.0)
    return probes, None


async def count_runs(api_url: str, names: list[str], timeout_s: float) -> dict[str, Any]:
    """How many flow runs the Prefect server holds named after these incidents, and how many completed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.settings import PREFECT_API_URL, temporary_settings

    by_name = FlowRunFilterName(any_=names)
    completed_only = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))
    started = time.monotonic()
    total = completed = 0
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async with get_client() as client:
            while True:
                total = await client.count_flow_runs(flow_run_filter=FlowRunFilter(name=by_name))
                completed = await client.count_flow_runs(
                    flow_run_filter=FlowRunFilter(name=by_name, state=completed_only)
                )
                if completed == len(names) or time.monotonic() - started > timeout_s:
                    break
                await asyncio.sleep(1.0)
    return {"expected": len(names), "total": total, "completed": completed, "waited_s": time.monotonic() - started}


def stage_breakdown(setup: Setup, samples: list[Sample]) -> dict[str, dict[str, float | int]]:
    """Split each probe incident's latency at Prefect's created/start_time and the log's run and step entries."""
    from incidents import EntryKind, open_action_log

    action_log = open_action_log(setup.home / "muster.db")
    marks: dict[str, dict[str, float]] = {}
    try:
        for sample in samples:
            if sample.first is None:
                continue
            entries = action_log.entries(sample.incident_id)

            def at(kind: EntryKind, entries: list[Any] = entries) -> float | None:
                found = next((e for e in entries if e.kind == kind), None)
                return found.at.timestamp() if found else None

            started = next((e for e in entries if e.kind == EntryKind.RUN_STARTED), None)
            step = at(EntryKind.STEP_STARTED)
            if started is None or step is None:
                continue
            marks[str(started.detail.get("run_id"))] = {
                "returned": sample.returned,
                "run_started": started.at.timestamp(),
                "step_started": step,
                "first": sample.first,
                "post": (sample.returned - sample.sent) * 1000,
            }
    finally:
        action_log.close()
    times = asyncio.run(flow_run_times(setup.api_url, list(marks)))
    stages: dict[str, list[float]] = {key: [] for key in ("post", *(key for _, key in STAGES))}
    for run_id, mark in marks.items():
        created, running = times.get(run_id, (None, None))
        if created is None or running is None:
            continue
        stages["post"].append(mark["post"])
        stages["created"].append((created - mark["returned"]) * 1000)
        stages["running"].append((running - created) * 1000)
        stages["preamble"].append((mark["run_started"] - running) * 1000)
        stages["step"].append((mark["step_started"] - mark["run_started"]) * 1000)
        stages["deliver"].append((mark["first"] - mark["step_started"]) * 1000)
    return {key: summary(values) for key, values in stages.items()}


async def flow_run_times(api_url: str, run_ids: list[str]) -> dict[str, tuple[float | None, float | None]]:
    """Each flow run's ``created`` and ``start_time`` on the Prefect server, as epoch seconds."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    found: dict[str, tuple[float | None, float | None]] = {}
    ids = [uuid.UUID(i) for i in run_ids if _is_uuid(i)]
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async with get_client() as client:
            for start in range(0, len(ids), 100):
                chunk = ids[start : start + 100]
                runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)))
                for run in runs:
                    found[str(run.id)] = (
                        run.created.timestamp() if run.created else None,
                        run.start_time.timestamp() if run.start_time else None,
                    )
    return found


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


# --- Prefect's standard path ---------------------------------------------------------------------------------


def serve_deployment(spec_path: str) -> int:
    """The runner's side (``--serve-deployment SPEC``): serve `respond` as a deployment with default settings."""
    import typing

    from flows import respond

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    # `flow.serve()` runs each flow run in a spawned process that gets the flow by cloudpickle, and the
    # function by value (the module attribute `respond` is the Flow, not the function). A function
    # pickled by value keeps only the globals its body uses; flows/respond.py has
    # `from __future__ import annotations`, so the annotation "Incident" no longer resolves there and
    # every run fails with "RespondModel is not fully defined". Resolved annotations survive the trip.
    respond.fn.__annotations__ = typing.get_type_hints(respond.fn)
    respond.serve(name=spec["name"], parameters=spec["parameters"], print_starting_message=False)
    return 0


async def prefect_path(setup: Setup, children: Children, count: int) -> list[Sample]:
    """`run_deployment(..., timeout=0)` on the served deployment, to the first message, ``count`` times."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from incidents import Incident

    assert setup.sim is not None
    deploy_home = setup.tmp / "home-deployment"
    (deploy_home / "prefect").mkdir(parents=True)
    options = {
        "home": str(deploy_home),
        "config_dir": str(setup.config),
        "playbook_dirs": [str(setup.plans)],
        "report_language": "zh",
    }
    spec = setup.tmp / "deployment.json"
    spec.write_text(json.dumps({"name": DEPLOYMENT, "parameters": {"playbook": PROBE, "options": options}}))
    output = setup.tmp / "runner.log"
    runner = children.start(
        [sys.executable, str(Path(__file__).resolve()), "--serve-deployment", str(spec)],
        env=child_env(setup, PREFECT_HOME=str(deploy_home / "prefect")),
        output=output,
        role="deployment-runner",
    )
    samples: list[Sample] = []
    try:
        with temporary_settings(updates={PREFECT_API_URL: setup.api_url}):
            async with get_client() as client:
                deadline = time.monotonic() + 120
                while True:
                    if runner.poll() is not None:
                        raise RuntimeError(f"the deployment runner exited; see {output}:\n{tail(output)}")
                    try:
                        await client.read_deployment_by_name(f"respond/{DEPLOYMENT}")
                        break
                    except Exception:  # not registered yet
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"the deployment was not registered in 120 s; see {output}") from None
                        await asyncio.sleep(0.5)
                for i in range(count + 1):  # the first run warms the runner up and is not counted
                    setup.sim.clear()
                    incident = Incident(type="latency_probe", title=f"deployment #{i}")
                    sent = time.time()
                    run: FlowRun = await run_deployment(  # type: ignore[misc]  # async_dispatch: awaitable here
                        f"respond/{DEPLOYMENT}",
                        parameters={"incident": incident.model_dump(mode="json")},
                        timeout=0,
                    )
                    sample = Sample(incident_id=incident.id, sent=sent, returned=time.time())
                    sample.first = await asyncio.to_thread(setup.sim.wait_first, incident.id, 60, 0.02)
                    if sample.first is None:
                        sample.error = "no message within 60 s"
                    finished = time.monotonic() + 60
                    while time.monotonic() < finished:  # one at a time: the next starts once this one is over
                        state = (await client.read_flow_run(run.id)).state
                        if state is not None and state.is_final():
                            break
                        await asyncio.sleep(0.2)
                    if i:
                        samples.append(sample)
                        log(f"  run_deployment {i}/{count}: {sample.latency_ms or float('nan'):.0f} ms")
    finally:
        children.stop(runner)
    return samples


# --- one backend ---------------------------------------------------------------------------------------------


def bench_backend(backend: str, args: argparse.Namespace, children: Children) -> dict[str, Any]:
    from muster.prefect_server import LocalPrefectServer

    tmp = Path(tempfile.mkdtemp(prefix=f"muster-latency-{backend}-"))
    setup = Setup(backend=backend, tmp=tmp)
    server = LocalPrefectServer(tmp / "prefect-server", ui=False)
    result: dict[str, Any] = {"backend": backend, "tmp": str(tmp)}
    try:
        log(f"[{backend}] starting the Prefect server")
        database = {"PREFECT_API_DATABASE_CONNECTION_URL": args.postgres_url} if backend == "postgres" else {}
        with env_vars(**database, **{MARKER: children.marker, ROLE: "prefect-server"}):
            setup.api_url = server.start(timeout_s=180)
        start_simulator(setup, children)
        write_config(setup)
        start_service(setup, children)
        assert setup.service is not None
        log(
            f"[{backend}] service {setup.service.url}, Prefect {setup.api_url}, simulator {setup.sim and setup.sim.url}"
        )
        sequential(setup, PROBE, args.warmup, wait_idle=True, label="warm-up")
        log(f"[{backend}] Muster: {args.n} incidents, one at a time")
        cpu_before = cpu_seconds(children.marker)
        probe = sequential(setup, PROBE, args.n, wait_idle=True, label="probe")
        result["cpu_ms"] = cpu_per_incident(cpu_before, cpu_seconds(children.marker), args.n)
        result["muster"] = [s.latency_ms for s in probe if s.latency_ms is not None]
        result["muster_errors"] = [s.error for s in probe if s.error]
        result["stages"] = stage_breakdown(setup, probe)
        normal_ms = max(TARGET_P95_MS, 1.5 * pct(result["muster"], 95))
        if args.demo_n:
            setup.service.wait_idle(60)
            log(f"[{backend}] Muster: demo gas-explosion, {args.demo_n} incidents")
            # Before the burst, on an idle service: these runs then wait for acks (minutes), which costs little.
            demo = sequential(setup, "gas-explosion", args.demo_n, wait_idle=False, label="demo")
            result["demo"] = [s.latency_ms for s in demo if s.latency_ms is not None]
            result["demo_errors"] = [s.error for s in demo if s.error]
        if args.burst_seconds > 0:
            result["burst"] = burst(setup, args, normal_ms, children.marker)
        if setup.service_process is not None:
            children.stop(setup.service_process)  # the deployment path gets the machine to itself
        if args.prefect_n:
            log(f"[{backend}] Prefect: run_deployment on a served deployment, {args.prefect_n} runs")
            deployment = asyncio.run(prefect_path(setup, children, args.prefect_n))
            result["prefect"] = [s.latency_ms for s in deployment if s.latency_ms is not None]
            result["prefect_errors"] = [s.error for s in deployment if s.error]
    finally:
        for client in (setup.service, setup.sim):
            if client is not None:
                client.close()
        children.stop_all()
        server.stop()
        children.sweep()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


# --- output --------------------------------------------------------------------------------------------------


def _row(name: str, values: Sequence[float] | dict[str, Any], width: int = 46) -> str:
    s = values if isinstance(values, dict) else summary(values)
    if not s["n"]:
        return f"{name:<{width}} {0:>5}   (no samples)"
    return f"{name:<{width}} {s['n']:>5} {s['p50']:>9.0f} {s['p95']:>9.0f} {s['p99']:>9.0f} {s['max']:>9.0f}"


def format_result(result: dict[str, Any], args: argparse.Namespace) -> str:
    header = f"{'path':<46} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}"
    lines = [
        f"Trigger latency, Prefect server on {result['backend']} ({os.cpu_count()} CPUs): "
        "POST returned → first message at the simulator",
        header,
        "-" * len(header),
        _row("Muster serve, probe plan (1 step, 1 person)", result["muster"]),
    ]
    if "demo" in result:
        lines.append(_row("Muster serve, demo gas-explosion (rescue)", result["demo"]))
    if "prefect" in result:
        lines.append(_row("Prefect run_deployment, served (poll 10 s)", result["prefect"]))
    if "burst" in result:
        b = result["burst"]
        lines.append(_row(f"Burst {args.burst_rate}/s × {args.burst_seconds:g} s, probe plan", b["latency"]))
    p95 = pct(result["muster"], 95)
    lines += [
        "",
        f"target Muster p95 ≤ {TARGET_P95_MS:.0f} ms: {'PASS' if p95 <= TARGET_P95_MS else 'FAIL'} ({p95:.0f} ms)",
    ]
    if result.get("prefect"):
        lines.append(
            f"Prefect's standard path: {len(result['prefect'])} runs (not {args.n}: each waits for the runner's "
            f"10 s poll and a new process); p95 is {pct(result['prefect'], 95) / max(p95, 1e-9):.0f}× Muster's"
        )
    lines += [
        "",
        "Where Muster's time goes (probe plan; ms)",
        f"{'stage':<46} {'n':>5} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}",
    ]
    for name, key in (("POST round trip (client, not in the latency)", "post"), *STAGES):
        lines.append(_row(name, result["stages"][key]))
    lines.append("CPU per incident (ms, all threads): " + _cpu(result["cpu_ms"]))
    if "burst" in result:
        b = result["burst"]
        runs = b["prefect_runs"]
        recovered = (
            f"{b['recovered_after_s']:.1f} s after the last POST"
            if b["recovered_after_s"] is not None
            else f"NOT within {args.recover_timeout:g} s"
        )
        lines += [
            "",
            f"Burst: {b['sent']} sent in {b['send_span_s']:.1f} s ({b['sent'] / max(b['send_span_s'], 1e-9):.1f}/s), "
            f"POST p50 {b['post_ms']['p50']:.0f} ms / max {b['post_ms']['max']:.0f} ms; "
            f"accepted {b['accepted']}, run.finished {b['finished']}, first message {b['accepted'] - b['no_message']}; "
            f"LOST {b['lost']} (no 202, no run.finished or no message by the end of the drain)",
            f"  all runs finished {b['drained_s']:.1f} s after the last POST"
            if not b["unfinished"]
            else f"  {b['unfinished']} run(s) still not finished {b['drained_s']:.1f} s after the last POST "
            f"(--drain-timeout {args.drain_timeout:g}): latency row: the {b['latency']['n']} that arrived",
            f"  fresh incident back to ≤ {b['normal_ms']:.0f} ms {recovered}; probes (ms): "
            + ", ".join(f"{p:.0f}" for p in b["probes_ms"]),
            f"  Prefect flow runs named after the burst's incidents: {runs['total']} (completed {runs['completed']}) "
            f"of {runs['expected']} sent: {'OK' if runs['total'] == runs['expected'] else 'MISMATCH'}",
        ]
        if b["refused"]:
            lines.append(f"  refused: {b['refused']}")
        lines.append("  CPU per incident (ms, from the burst to the end of the drain): " + _cpu(b["cpu_ms"]))
        lines.append("  where the burst's time goes (ms)")
        for name, key in STAGES:
            lines.append(_row("  " + name, b["stages"][key]))
    for key in ("muster_errors", "demo_errors", "prefect_errors"):
        if result.get(key):
            lines.append(f"{key}: {len(result[key])}: {result[key][:3]}")
    return "\n".join(lines)


def _cpu(cpu_ms: dict[str, float]) -> str:
    return ", ".join(f"{role} {ms:.0f}" for role, ms in cpu_ms.items()) + f"; total {sum(cpu_ms.values()):.0f}"


def figures(result: dict[str, Any]) -> dict[str, float | None]:
    def rounded(value: float) -> float | None:
        return None if value != value else round(value, 1)  # NaN: no samples

    return {
        "muster_p50_ms": rounded(pct(result["muster"], 50)),
        "muster_p95_ms": rounded(pct(result["muster"], 95)),
        "muster_p99_ms": rounded(pct(result["muster"], 99)),
        "prefect_deployment_p95_ms": rounded(pct(result.get("prefect", []), 95)),
    }


def problems_of(result: dict[str, Any]) -> list[str]:
    found = []
    if "burst" in result:
        b = result["burst"]
        if b["lost"]:
            found.append(f"{result['backend']}: {b['lost']} burst incident(s) lost")
        if b["prefect_runs"]["total"] != b["prefect_runs"]["expected"]:
            found.append(f"{result['backend']}: Prefect holds {b['prefect_runs']['total']} flow runs for {b['sent']}")
    for key in ("muster_errors", "demo_errors", "prefect_errors"):
        if result.get(key):
            found.append(f"{result['backend']}: {key}: {result[key][:3]}")
    return found


# --- main ----------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="Muster incidents, one at a time (200)")
    parser.add_argument("--prefect-n", type=int, default=20, help="run_deployment runs (20; 0 skips)")
    parser.add_argument("--demo-n", type=int, default=20, help="demo gas-explosion incidents (20; 0 skips)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed Muster incidents first (5)")
    parser.add_argument("--burst-rate", type=int, default=50, help="incidents per second in the burst (50)")
    parser.add_argument("--burst-seconds", type=float, default=10, help="length of the burst (10; 0 skips)")
    parser.add_argument("--drain-timeout", type=float, default=600, help="seconds for every burst run to finish")
    parser.add_argument("--recover-timeout", type=float, default=60, help="seconds for latency to be normal again")
    parser.add_argument("--backends", default="sqlite", help="sqlite, postgres or both: sqlite,postgres")
    parser.add_argument("--postgres", action="store_true", help="the Prefect server on PostgreSQL (--postgres-url)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help=f"default {POSTGRES_URL}")
    parser.add_argument("--json", action="store_true", help="print the issue's JSON figures")
    parser.add_argument("--check", action="store_true", help="exit 1 when Muster's p95 misses the target")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, action log)")
    parser.add_argument("--serve-deployment", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.backends = ["postgres"] if args.postgres else [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(args.backends) <= {"sqlite", "postgres"}:
        parser.error("--backends takes sqlite and/or postgres")
    if args.n < 1 or min(args.prefect_n, args.demo_n, args.warmup, args.burst_rate) < 0:
        parser.error("--n must be at least 1, the other counts at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_deployment:
        return serve_deployment(args.serve_deployment)
    # This process is a Prefect client only (run_deployment, counts): keep it offline and out of ~/.prefect.
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="muster-latency-client-"))
    os.environ.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING")
    children = Children(uuid.uuid4().hex, marker_var=MARKER, role_var=ROLE)
    results, problems = [], []
    show: Callable[[str], None] = log if args.json else print
    with stopped_cleanly():
        try:
            for backend in args.backends:
                try:
                    result = bench_backend(backend, args, children)
                except RuntimeError as exc:
                    log(f"ERROR [{backend}]: {exc}")
                    return 1
                results.append(result)
                problems += problems_of(result)
                show(format_result(result, args) + "\n")
        finally:
            children.stop_all()
            children.sweep()
    if args.json:
        out = [figures(r) | ({"backend": r["backend"]} if len(results) > 1 else {}) for r in results]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2))
    for problem in problems:
        log(f"ERROR: {problem}")
    missed = any(pct(r["muster"], 95) > TARGET_P95_MS for r in results)
    return 1 if problems or (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
