"""Ack wait: what hundreds of runs waiting for acknowledgements cost, and how soon an ack resumes its step.

What it measures
    ``muster serve`` (its own process, ``await_answers`` on as the service always runs)
    takes ``--runs`` incidents (200) by ``POST /v1/incidents``, sent one after the other as
    fast as the service answers. Each starts the ``respond`` flow in-process on a tiny plan
    written to a temp dir (``MUSTER_PLAYBOOKS``): one notify step, ``alert``, to one role
    held by one person, with ``ack: {within: 30m, need: all}`` (longer than the benchmark,
    so no window runs out, no reminder, no escalation). Each incident is its own run, so
    one person is enough. Once every incident's message has reached the simulator (its
    body carries the ``ack_url``) and ``/healthz`` counts the runs going on, every run is
    waiting for its ack; the action log is checked that no ``alert`` step has finished
    (before and after the idle window). When the messages arrived is printed (first,
    half, all, after the first POST): most of a default run's time is the 200 runs
    starting (Prefect creating and starting 200 flow runs at once on SQLite).

    - ``Idle CPU``: after ``--settle-seconds`` (5) the benchmark only reads
      ``/proc/<pid>/stat`` (utime + stime: every thread of the process) once a second for
      ``--idle-seconds`` (20), by piece: the service (where the waiting happens: this is
      ``idle_cpu_percent``), the Prefect server and the simulator. Percent of one core =
      CPU seconds / wall seconds × 100; the busiest one-second sample of the service is
      shown too, with its resident memory.
    - ``Resume``: then each run is acked through ``POST /v1/acks`` ``{"token", "note"}``
      (the token from the ``ack_url`` the simulator received), one every
      ``--ack-interval-ms`` (50 ms: 200 acks in 10 s), in reporting order, from one client
      one after the other (a POST that takes longer than the interval delays the rest:
      the table says how long the acks took). A run has
      resumed when its waiting step carries on: the ``step.finished`` entry of ``alert``
      in the action log (UTC, millisecond precision; read from the SQLite file after the
      last ack, so reading does not load the service during the acks). The latency is
      that entry's time minus ``time.time()`` right after the ack POST returned (one
      machine, one clock; entries are cut to the millisecond, so a figure can be up to
      1 ms low, and it can be ≤ 0 when the step carried on before the HTTP answer reached
      the client). Also shown: from the POST being sent, and the service's own
      ``ack.received`` → ``step.finished`` (both log times).

    Why not "the next step starts": a step's dependents start once its messages are out
    (``flows/schedule.py``: released, not acknowledged), so a step that ``needs`` ``alert``
    starts long before any ack and tells nothing about resuming. ``step.finished`` is
    written right after the wait returns (``flows/respond.py: run_step``).

    After the resume measurement the runs finish (``run.finished``, then the PDF report);
    the benchmark waits up to ``--drain-timeout`` (120 s) for ``/healthz`` runs == 0 and
    prints how long that took (information, no target).

    Processes: the Prefect server (``LocalPrefectServer``: ``prefect server start`` on SQLite
    under a temp dir), the simulator (``muster simulator --port P``) and ``muster serve`` each
    run in their own process and session; everything listens on 127.0.0.1. Every child is
    stopped with its whole process group at the end (also on Ctrl-C or SIGTERM), and a final
    sweep kills any process still carrying this run's marker variable.

Run::

    .venv/bin/python benchmarks/ack_wait.py                    # 200 runs, 2.5–4 min on 2 cores
    .venv/bin/python benchmarks/ack_wait.py --json             # {"runs", "idle_cpu_percent", "resume_p95_ms", …}
    .venv/bin/python benchmarks/ack_wait.py --runs 50 --idle-seconds 5   # quick look
    .venv/bin/python benchmarks/ack_wait.py --check            # exit 1 when a target fails

What the numbers mean
    Targets (from the issue): resume p95 ≤ 1000 ms, and the service's CPU while its runs
    wait under 10% of one core; printed PASS/FAIL, ``--check`` makes a FAIL exit 1. A run
    that did not start, did not wait (its step finished before its ack: ``await_answers``
    missing, or the window ran out), refused its ack or did not resume is an error (exit
    status 1) whatever the flags. ``--json`` prints ``{"runs", "idle_cpu_percent",
    "resume_p95_ms"}`` plus the other figures; progress goes to stderr with ``--json``.
    Figures depend on the machine (2-core machines in DESIGN.md) and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from stack import Children, env_vars, epoch, free_port, log, pct, stopped_cleanly, summary, wait_http

ROOT = Path(__file__).resolve().parent.parent
MUSTER = str(Path(sys.executable).with_name("muster"))
DEMO = ROOT / "examples" / "demo"
SECRET = "whsec_" + "YWNrLXdhaXQtYmVuY2htYXJrLXNlY3JldC0wMTIzNDU2Nzg="
TOKEN = "ack-wait-bench-token"
TARGET_RESUME_P95_MS = 1000.0
TARGET_IDLE_CPU_PERCENT = 10.0
MARKER = "MUSTER_ACK_WAIT_RUN"  # set on every child: the final sweep finds stragglers by it
ROLE = "MUSTER_ACK_WAIT_ROLE"  # which piece a process belongs to, for its CPU time
CPU_ROLES = ("service", "prefect-server", "simulator")
PLAN = "ack-wait-probe"
STEP = "alert"
PLAYBOOK = f"""
id: {PLAN}
version: 1
title: {{zh: 确认等待探针预案, en: Ack wait probe plan}}
incident_types: [ack_wait_probe]
languages: [zh, en]
roles:
  ack_duty: {{name: {{zh: 值班员, en: Duty officer}}}}
levels:
  - {{id: IV, name: {{zh: 四级响应, en: Level IV}}}}
steps:
  - id: {STEP}
    kind: notify
    title: {{zh: 通知值班员并确认, en: Alert the duty officer and wait for the ack}}
    to: [ack_duty]
    message: "{{{{ incident.title }}}}"
    ack: {{within: 30m, need: all}}
"""
PERSON = {
    "id": "ack-duty",
    "name": "确认值班员",
    "name_en": "Ack duty officer",
    "roles": ["ack_duty"],
    "contacts": [{"channel": "sim-webhook", "address": "ack-duty"}],
}


# --- figures -------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One incident: its run's ack link, and when its ack went, came back and resumed the step (epoch s)."""

    incident_id: str
    message_at: float | None = None
    token: str | None = None
    ack_sent: float | None = None
    ack_returned: float | None = None
    ack_status: int | None = None
    ack_logged: float | None = None  # the service's ack.received entry
    resumed: float | None = None  # the step.finished entry of the waiting step
    error: str | None = None

    def ms(self, start: float | None) -> float | None:
        return None if start is None or self.resumed is None else (self.resumed - start) * 1000


# --- processes -----------------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds (user + system, all threads) of this run's processes by role, from ``/proc``."""

    def __init__(self, marker: str) -> None:
        self._needle = f"{MARKER}={marker}".encode()
        self._ticks = os.sysconf("SC_CLK_TCK")
        self.pids: dict[int, str] = {}

    def find(self) -> None:
        """Find this run's processes by their marker (once everything is started)."""
        self.pids.clear()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if self._needle not in environ:
                continue
            prefix = f"{ROLE}=".encode()
            role = next((v[len(prefix) :].decode() for v in environ if v.startswith(prefix)), "")
            if role in CPU_ROLES:
                self.pids[int(entry.name)] = role

    def read(self) -> dict[str, float]:
        found = dict.fromkeys(CPU_ROLES, 0.0)
        for pid, role in self.pids.items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[role] += (int(fields[11]) + int(fields[12])) / self._ticks  # utime, stime
        return found

    def rss_mb(self, role: str) -> float:
        total = 0.0
        for pid, of in self.pids.items():
            if of != role:
                continue
            with suppress(OSError, ValueError, IndexError):
                line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS"))
                total += int(line.split()[1]) / 1024
        return total

    def threads(self, role: str) -> int:
        total = 0
        for pid, of in self.pids.items():
            if of == role:
                with suppress(OSError, ValueError, IndexError):
                    total += int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[17])
        return total


# --- the pieces ----------------------------------------------------------------------------------------------


class Simulator:
    """The responder simulator's control API: what arrived, when, and with which ack link."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=httpx.Timeout(30, pool=None))

    def first_messages(self) -> dict[str, tuple[float, str | None]]:
        """Each incident's first accepted, correctly signed message: (arrival, token of its ack link)."""
        response = self._http.get("/_sim/received")
        response.raise_for_status()
        first: dict[str, tuple[float, str | None]] = {}
        for record in response.json():
            body = record.get("body")
            if not isinstance(body, dict) or record.get("status") != 200 or record.get("signature_valid") is False:
                continue
            incident_id = body.get("incident_id")
            if not isinstance(incident_id, str) or body.get("step_id") != STEP:
                continue
            at = epoch(record["received_at"])
            link = body.get("ack_url")
            token = link.rsplit("/ack/", 1)[-1] if isinstance(link, str) and "/ack/" in link else None
            if incident_id not in first or at < first[incident_id][0]:
                first[incident_id] = (at, token)
        return first

    def close(self) -> None:
        self._http.close()


class Service:
    """A running `muster serve`: report incidents, count its runs, answer acks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx.Timeout(60, pool=None)
        )

    def report(self, title: str) -> str:
        incident = {"title": title, "type": "ack_wait_probe"}
        response = self._http.post("/v1/incidents", json={"playbook": PLAN, "incident": incident})
        if response.status_code != 202:
            raise RuntimeError(f"POST /v1/incidents: {response.status_code}: {response.text[:200]}")
        incident_id: str = response.json()["incident_id"]
        return incident_id

    def running(self) -> int:
        runs: int = self._http.get("/healthz").json()["runs"]
        return runs

    def ack(self, run: Run) -> None:
        """Answer the run's ack link through the JSON API; note when the POST went and came back."""
        run.ack_sent = time.time()
        try:
            response = self._http.post("/v1/acks", json={"token": run.token, "note": "收到 (benchmark)"})
        except httpx.HTTPError as exc:
            run.ack_returned = time.time()
            run.error = f"ack POST failed: {type(exc).__name__}: {exc}"
            return
        run.ack_returned = time.time()
        run.ack_status = response.status_code
        if response.status_code != 200:
            run.error = f"ack refused: {response.status_code}: {response.text[:200]}"

    def close(self) -> None:
        self._http.close()


@dataclass
class Setup:
    """The temp dir, the servers and the config of one benchmark run."""

    tmp: Path
    api_url: str = ""
    sim: Simulator | None = None
    service: Service | None = None
    service_process: subprocess.Popen[bytes] | None = None
    config: Path = field(default_factory=Path)
    plans: Path = field(default_factory=Path)
    first_post: float = 0.0

    @property
    def home(self) -> Path:
        return self.tmp / "home"


def write_config(setup: Setup) -> None:
    """The demo config (roster, channels, service) plus the duty officer, and the probe plan."""
    setup.config = setup.tmp / "config"
    setup.plans = setup.tmp / "plans"
    setup.config.mkdir()
    setup.plans.mkdir()
    roster = yaml.safe_load((DEMO / "roster.yaml").read_text(encoding="utf-8"))
    roster["people"].append(PERSON)
    (setup.config / "roster.yaml").write_text(yaml.safe_dump(roster, allow_unicode=True), encoding="utf-8")
    for name in ("channels.yaml", "service.yaml"):
        shutil.copy(DEMO / name, setup.config / name)
    (setup.plans / f"{PLAN}.yaml").write_text(PLAYBOOK, encoding="utf-8")


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
    assert setup.sim is not None
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    output = setup.tmp / "service.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_", "PREFECT_SERVER_DATABASE"))}
    env |= {
        "PREFECT_API_URL": setup.api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "MUSTER_WEBHOOK_SECRET": SECRET,
        "MUSTER_RESPONDERS_URL": setup.sim.url,
        "MUSTER_DUTY_TOKEN": TOKEN,
        "MUSTER_HOME": str(setup.home),
        "MUSTER_PLAYBOOKS": str(setup.plans),
        "MUSTER_PUBLIC_URL": url,
    }
    process = children.start(
        [MUSTER, "serve", "--port", str(port), "--config", str(setup.config), "--grace", "0"],
        env=env,
        output=output,
        role="service",
    )
    wait_http(f"{url}/healthz", process, output, 120)
    setup.service, setup.service_process = Service(url), process


# --- phases --------------------------------------------------------------------------------------------------


def report_all(setup: Setup, count: int) -> tuple[list[Run], float]:
    """Report ``count`` incidents, one POST after the other; return the runs and the seconds it took."""
    assert setup.service is not None
    runs = []
    began = time.monotonic()
    setup.first_post = time.time()
    for i in range(count):
        runs.append(Run(setup.service.report(f"ack wait #{i} {uuid.uuid4().hex[:6]}")))
        if (i + 1) % 50 == 0:
            log(f"  reported {i + 1}/{count}")
    return runs, time.monotonic() - began


def wait_all_waiting(setup: Setup, runs: list[Run], timeout_s: float) -> float:
    """Until every run's message (with its ack link) reached the simulator; seconds from the first POST."""
    assert setup.sim is not None and setup.service is not None
    began = time.monotonic()
    deadline = began + timeout_s
    wanted = {r.incident_id: r for r in runs}
    arrived: dict[str, tuple[float, str | None]] = {}
    last_note = began
    while time.monotonic() < deadline:
        arrived = {i: v for i, v in setup.sim.first_messages().items() if i in wanted}
        if len(arrived) == len(wanted):
            break
        if time.monotonic() - last_note > 10:
            log(f"  messages at the simulator: {len(arrived)}/{len(wanted)}; service runs: {setup.service.running()}")
            last_note = time.monotonic()
        time.sleep(0.5)
    for incident_id, (at, token) in arrived.items():
        run = wanted[incident_id]
        run.message_at, run.token = at, token
        if token is None:
            run.error = "its message carried no ack_url"
    for run in runs:
        if run.message_at is None:
            run.error = f"no message at the simulator within {timeout_s:.0f} s"
    return time.monotonic() - began


def not_waiting(setup: Setup, runs: list[Run]) -> list[str]:
    """Incidents whose waiting step already finished (or whose run ended) before any ack was sent."""
    from incidents import EntryKind, open_action_log

    action_log = open_action_log(setup.home / "muster.db")
    try:
        return [
            r.incident_id
            for r in runs
            if action_log.of_kind(r.incident_id, EntryKind.STEP_FINISHED, STEP)
            or action_log.latest(r.incident_id, [EntryKind.RUN_FINISHED]) is not None
        ]
    finally:
        action_log.close()


def measure_idle(meter: CpuMeter, seconds: float) -> dict[str, Any]:
    """Percent of one core by role over ``seconds``, sampled once a second; the service's busiest second."""
    meter.find()
    first = previous = meter.read()
    began = last = time.monotonic()
    per_second: list[float] = []
    while (now := time.monotonic()) < began + seconds:
        time.sleep(min(1.0, began + seconds - now))
        reading, at = meter.read(), time.monotonic()
        per_second.append((reading["service"] - previous["service"]) / (at - last) * 100)
        previous, last = reading, at
    elapsed = last - began
    percent = {role: (previous[role] - first[role]) / elapsed * 100 for role in CPU_ROLES}
    return {
        "seconds": elapsed,
        "percent": percent,
        "total": sum(percent.values()),
        "service_per_second": per_second,
        "service_rss_mb": meter.rss_mb("service"),
        "service_threads": meter.threads("service"),
    }


def ack_all(setup: Setup, runs: list[Run], interval_s: float) -> float:
    """Ack every waiting run, one every ``interval_s``, on a fixed schedule; return the seconds it took."""
    assert setup.service is not None
    began = time.monotonic()
    waiting = [r for r in runs if r.token is not None and r.error is None]
    for i, run in enumerate(waiting):
        time.sleep(max(0.0, began + i * interval_s - time.monotonic()))
        setup.service.ack(run)
        if (i + 1) % 50 == 0:
            log(f"  acked {i + 1}/{len(waiting)}")
    return time.monotonic() - began


def collect_resumes(setup: Setup, runs: list[Run], timeout_s: float) -> None:
    """Each acked run's ack.received and step.finished times from the action log (waits for late ones)."""
    from incidents import EntryKind, open_action_log

    action_log = open_action_log(setup.home / "muster.db")
    deadline = time.monotonic() + timeout_s
    try:
        pending = [r for r in runs if r.ack_status == 200]
        while pending:
            for run in pending:
                finished = action_log.of_kind(run.incident_id, EntryKind.STEP_FINISHED, STEP)
                if finished:
                    run.resumed = finished[0].at.timestamp()
                    acks = action_log.of_kind(run.incident_id, EntryKind.ACK_RECEIVED, STEP)
                    run.ack_logged = acks[0].at.timestamp() if acks else None
            pending = [r for r in pending if r.resumed is None]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for run in pending:
            run.error = f"its step did not carry on within {timeout_s:.0f} s of the last ack"
    finally:
        action_log.close()


def drain(setup: Setup, since: float, timeout_s: float) -> float | None:
    """Seconds from ``since`` (epoch) until the service has no runs going on, or None after ``timeout_s``."""
    assert setup.service is not None
    while time.time() - since < timeout_s:
        if setup.service.running() == 0:
            return time.time() - since
        time.sleep(0.2)
    return None


def bench(args: argparse.Namespace, children: Children) -> dict[str, Any]:
    from muster.prefect_server import LocalPrefectServer

    tmp = Path(tempfile.mkdtemp(prefix="muster-ack-wait-"))
    setup = Setup(tmp=tmp)
    server = LocalPrefectServer(tmp / "prefect-server", ui=False)
    result: dict[str, Any] = {"tmp": str(tmp), "problems": []}
    problems: list[str] = result["problems"]
    began = time.monotonic()
    try:
        log("starting the Prefect server")
        with env_vars(**{MARKER: children.marker, ROLE: "prefect-server"}):
            setup.api_url = server.start(timeout_s=180)
        start_simulator(setup, children)
        write_config(setup)
        start_service(setup, children)
        assert setup.service is not None and setup.sim is not None
        log(f"service {setup.service.url}, Prefect {setup.api_url}, simulator {setup.sim.url}")

        log(f"reporting {args.runs} incidents")
        runs, result["report_s"] = report_all(setup, args.runs)
        result["waiting_after_s"] = wait_all_waiting(setup, runs, args.start_timeout)
        waiting = [r for r in runs if r.error is None]
        result["arrivals_s"] = [r.message_at - setup.first_post for r in runs if r.message_at is not None]
        result["healthz_runs"] = setup.service.running()
        done_early = not_waiting(setup, waiting)
        log(
            f"{len(waiting)}/{len(runs)} runs sent their message {result['waiting_after_s']:.1f} s after the first "
            f"POST; /healthz runs = {result['healthz_runs']}; finished without an ack: {len(done_early)}"
        )
        for incident_id in done_early:
            next(r for r in runs if r.incident_id == incident_id).error = "its step finished before any ack"
        if done_early:
            problems.append(
                f"{len(done_early)} run(s) did not wait for their ack (step.finished or run.finished before any "
                "ack was sent): is await_answers on in the service?"
            )
        waiting = [r for r in runs if r.error is None]
        result["runs"] = len(waiting)

        log(f"settling {args.settle_seconds:g} s, then measuring CPU for {args.idle_seconds:g} s")
        time.sleep(args.settle_seconds)
        meter = CpuMeter(children.marker)
        idle_began = time.time()
        result["idle"] = measure_idle(meter, args.idle_seconds)
        result["healthz_runs_after_idle"] = setup.service.running()
        ended = not_waiting(setup, waiting)
        if ended:
            problems.append(f"{len(ended)} run(s) ended while waiting, before any ack (window too short?)")
        log(f"idle window {idle_began:.3f} → {time.time():.3f} (epoch s)")

        log(f"acking {len(waiting)} runs, one every {args.ack_interval_ms:g} ms")
        result["ack_s"] = ack_all(setup, waiting, args.ack_interval_ms / 1000)
        collect_resumes(setup, waiting, args.resume_timeout)
        result["resume"] = {
            "returned": [ms for r in waiting if (ms := r.ms(r.ack_returned)) is not None],
            "sent": [ms for r in waiting if (ms := r.ms(r.ack_sent)) is not None],
            "logged": [ms for r in waiting if (ms := r.ms(r.ack_logged)) is not None],
            "post": [(r.ack_returned - r.ack_sent) * 1000 for r in waiting if r.ack_sent and r.ack_returned],
        }
        log("waiting for the runs to finish (run.finished, PDF report)")
        last_ack = max((r.ack_returned for r in waiting if r.ack_returned), default=time.time())
        result["drained_s"] = drain(setup, last_ack, args.drain_timeout)
        errors = [r for r in runs if r.error]
        result["errors"] = [f"{r.incident_id}: {r.error}" for r in errors]
        if errors and not done_early:
            problems.append(f"{len(errors)} run(s) failed: {result['errors'][:3]}")
        result["elapsed_s"] = time.monotonic() - began
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


def _row(name: str, values: Sequence[float], width: int = 44) -> str:
    s = summary(values)
    if not s["n"]:
        return f"{name:<{width}} {0:>5}   (no samples)"
    return f"{name:<{width}} {s['n']:>5} {s['p50']:>9.0f} {s['p95']:>9.0f} {s['p99']:>9.0f} {s['max']:>9.0f}"


def _spread(seconds: Sequence[float]) -> str:
    if not seconds:
        return "(none)"
    return f"first {min(seconds):.1f}, half by {pct(seconds, 50):.1f}, all by {max(seconds):.1f}"


def verdicts(result: dict[str, Any]) -> list[tuple[str, bool, str]]:
    p95 = pct(result["resume"]["returned"], 95)
    cpu = result["idle"]["percent"]["service"]
    return [
        (f"resume p95 ≤ {TARGET_RESUME_P95_MS:.0f} ms", p95 <= TARGET_RESUME_P95_MS, f"{p95:.0f} ms"),
        (
            f"service CPU while {result['runs']} runs wait < {TARGET_IDLE_CPU_PERCENT:.0f}% of one core",
            cpu < TARGET_IDLE_CPU_PERCENT,
            f"{cpu:.1f}%",
        ),
    ]


def format_result(result: dict[str, Any], args: argparse.Namespace) -> str:
    idle, resume = result["idle"], result["resume"]
    percent = idle["percent"]
    per_second = idle["service_per_second"]
    lines = [
        f"Ack wait: {result['runs']} runs waiting for acks in one `muster serve` ({os.cpu_count()} CPUs), "
        "Prefect server on SQLite",
        f"  {args.runs} incidents reported in {result['report_s']:.1f} s; their messages reached the simulator "
        f"{_spread(result['arrivals_s'])} s after the first POST",
        f"  /healthz runs {result['healthz_runs']} (after the idle window {result['healthz_runs_after_idle']})",
        "",
        f"CPU while waiting ({idle['seconds']:.0f} s, after {args.settle_seconds:g} s settling; % of one core)",
        f"  {'service (muster serve)':<28} {percent['service']:>6.1f}   "
        f"(busiest second {max(per_second, default=float('nan')):.1f}; RSS {idle['service_rss_mb']:.0f} MB, "
        f"{idle['service_threads']} threads)",
        f"  {'Prefect server':<28} {percent['prefect-server']:>6.1f}",
        f"  {'simulator':<28} {percent['simulator']:>6.1f}",
        f"  {'total':<28} {idle['total']:>6.1f}",
        "  service per second: " + " ".join(f"{p:.0f}" for p in per_second),
        "",
        f"Resume: ack POST → the waiting step's step.finished in the action log; acks one every "
        f"{args.ack_interval_ms:g} ms ({result['ack_s']:.1f} s)",
        f"{'from':<44} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}",
        _row("ack POST returned (the figure)", resume["returned"]),
        _row("ack POST sent", resume["sent"]),
        _row("ack.received in the log (service side)", resume["logged"]),
        _row("(ack POST round trip)", resume["post"]),
        "",
    ]
    drained = result["drained_s"]
    lines.append(
        f"runs finished (run.finished, report) {drained:.1f} s after the last ack"
        if drained is not None
        else f"runs still going {args.drain_timeout:g} s after the last ack"
    )
    lines.append("")
    for name, ok, detail in verdicts(result):
        lines.append(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
    lines.append(f"  (everything together while waiting: {idle['total']:.1f}% of one core)")
    if result["errors"]:
        lines.append(f"errors: {len(result['errors'])}: {result['errors'][:3]}")
    return "\n".join(lines)


def figures(result: dict[str, Any]) -> dict[str, Any]:
    def rounded(value: float) -> float | None:
        return None if value != value else round(value, 1)  # NaN: no samples

    idle, resume = result["idle"], result["resume"]["returned"]
    return {
        "runs": result["runs"],
        "idle_cpu_percent": rounded(idle["percent"]["service"]),
        "resume_p95_ms": rounded(pct(resume, 95)),
        "resume_p50_ms": rounded(pct(resume, 50)),
        "resume_p99_ms": rounded(pct(resume, 99)),
        "resume_max_ms": rounded(max(resume, default=float("nan"))),
        "idle_cpu_percent_total": rounded(idle["total"]),
        "prefect_server_cpu_percent": rounded(idle["percent"]["prefect-server"]),
        "simulator_cpu_percent": rounded(idle["percent"]["simulator"]),
        "errors": len(result["errors"]),
    }


# --- main ----------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200, help="incidents, each a run waiting for its ack (200)")
    parser.add_argument("--idle-seconds", type=float, default=20, help="seconds of CPU measurement (20)")
    parser.add_argument("--settle-seconds", type=float, default=5, help="pause before measuring CPU (5)")
    parser.add_argument("--ack-interval-ms", type=float, default=50, help="one ack every this many ms (50)")
    parser.add_argument("--start-timeout", type=float, default=300, help="seconds for every run to send (300)")
    parser.add_argument("--resume-timeout", type=float, default=60, help="seconds for the last step to resume")
    parser.add_argument("--drain-timeout", type=float, default=120, help="seconds for the runs to finish (120)")
    parser.add_argument("--json", action="store_true", help="print the issue's JSON figures")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, action log)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.idle_seconds <= 0 or args.settle_seconds < 0 or args.ack_interval_ms < 0:
        parser.error("--runs must be at least 1, --idle-seconds above 0, the others at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # The children get an offline Prefect home of their own (removed at the end), not ~/.prefect.
    prefect_home = None if "PREFECT_HOME" in os.environ else tempfile.mkdtemp(prefix="muster-ack-wait-prefect-")
    if prefect_home is not None:
        os.environ["PREFECT_HOME"] = prefect_home
    os.environ.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING")
    children = Children(uuid.uuid4().hex, marker_var=MARKER, role_var=ROLE)
    show: Callable[[str], None] = log if args.json else print
    with stopped_cleanly():
        try:
            result = bench(args, children)
        except RuntimeError as exc:
            log(f"ERROR: {exc}")
            return 1
        finally:
            children.stop_all()
            children.sweep()
            if prefect_home is not None:
                shutil.rmtree(prefect_home, ignore_errors=True)
    show(format_result(result, args))
    show(f"(took {result['elapsed_s']:.0f} s{'; kept ' + result['tmp'] if args.keep else ''})")
    if args.json:
        print(json.dumps(figures(result), indent=2))
    for problem in result["problems"]:
        log(f"ERROR: {problem}")
    missed = not all(ok for _, ok, _ in verdicts(result))
    return 1 if result["problems"] or (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
