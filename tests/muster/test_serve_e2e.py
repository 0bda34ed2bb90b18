"""`muster serve` as its own process: intake, OpenAPI, the trigger hand-off, graceful shutdown and resume."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from incidents import SQLiteActionLog
from muster.testing import ServeProcess as Serve
from muster.testing import start_serve
from notifications.simulator import SimRecord, SimulatorThread

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
MUSTER = str(Path(sys.executable).with_name("muster"))
SECRET = "whsec_" + "c2VydmUtZTJlLXRlc3RzLXNlY3JldC0wMTIzNDU2Nzg5"
DUTY = {"Authorization": "Bearer duty-office-demo-token"}
INTAKE_PATHS = {"/v1/incidents", "/v2/enqueue", "/v1/alertmanager", "/v1/cap"}

pytestmark = pytest.mark.e2e

# A plan whose run takes a few seconds when the simulator answers slowly: three steps, one after another,
# each reaching the whole crew (so there is always a run in flight to stop).
CREW = [f"crew-{i:02d}" for i in range(8)]
STEPS = ("assemble", "equip", "deploy")
ROSTER = "people:\n" + "".join(
    f"  - {{id: {p}, name: 队员{i}, roles: [crew], contacts: [{{channel: sim, address: {p}}}]}}\n"
    for i, p in enumerate(CREW)
)
CHANNELS = f"""
channels:
  - {{name: sim, type: webhook, url: "${{MUSTER_RESPONDERS_URL}}/webhook/crew", secret: "{SECRET}", timeout_s: 30}}
"""
SERVICE = """
sources:
  - {name: duty-office, token: duty-office-demo-token, formats: [muster]}
"""
PLAYBOOK = """
id: crew-callout
title: {zh: 抢险队集结, en: Crew call-out}
incident_types: [callout]
roles:
  crew: {name: {zh: 抢险队员, en: Crew}}
levels:
  - {id: IV, name: {zh: 四级, en: Level IV}}
steps:
  - id: assemble
    kind: notify
    title: {zh: 到站集合, en: Assemble}
    to: [crew]
    message: "{{ recipient.name }}：立即到站集合"
  - id: equip
    kind: notify
    title: {zh: 领取装备, en: Equip}
    needs: [assemble]
    to: [crew]
    message: "{{ recipient.name }}：领取抢险装备"
  - id: deploy
    kind: notify
    title: {zh: 出发, en: Deploy}
    needs: [equip]
    to: [crew]
    message: "{{ recipient.name }}：随车出发"
"""


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorThread]:
    """The responder simulator, checking the Standard Webhooks signatures of every message."""
    with SimulatorThread(webhook_secret=SECRET) as sim:
        yield sim


@pytest.fixture
def launch(tmp_path: Path, simulator: SimulatorThread, prefect_api: str) -> Iterator[Callable[..., Serve]]:
    """Start `muster serve` subprocesses on one data directory; afterwards their process groups must be gone."""
    simulator.reset()
    started: list[Serve] = []

    def start(*args: str, config: Path = DEMO, env: dict[str, str] | None = None) -> Serve:
        serve = start_serve(
            *args,
            home=tmp_path / "home",
            config=config,
            env={
                "MUSTER_RESPONDERS_URL": simulator.url,
                "MUSTER_WEBHOOK_SECRET": SECRET,
                "PREFECT_API_URL": prefect_api,
                **(env or {}),
            },
            output=tmp_path / f"serve-{len(started) + 1}.log",
            cwd=ROOT,
        )
        started.append(serve)
        return serve

    yield start
    for serve in started:
        serve.end()


@pytest.fixture
def crew_config(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A config and plan folder for the crew call-out plan; the env that points `muster serve` at them."""
    config = tmp_path / "crew-config"
    plans = tmp_path / "plans"
    config.mkdir()
    plans.mkdir()
    (config / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    (config / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
    (config / "service.yaml").write_text(SERVICE, encoding="utf-8")
    (plans / "crew-callout.yaml").write_text(PLAYBOOK, encoding="utf-8")
    return config, {"MUSTER_PLAYBOOKS": str(plans)}


def _muster(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MUSTER_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)  # reading the record and handing off never need Prefect
    return subprocess.run([MUSTER, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _kinds(home: Path, incident_id: str) -> list[str]:
    log = SQLiteActionLog(home / "muster.db")
    try:
        return [str(e.kind) for e in log.entries(incident_id)]
    finally:
        log.close()


def _of(simulator: SimulatorThread, incident_id: str) -> list[SimRecord]:
    return [
        r for r in simulator.records() if isinstance(r["body"], dict) and r["body"].get("incident_id") == incident_id
    ]


class Responders:
    """Everyone answers: every message carrying an ack or task link is answered through the service's JSON API."""

    def __init__(self, simulator: SimulatorThread, service_url: str) -> None:
        self._simulator = simulator
        self._url = service_url
        self._answered: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="responders", daemon=True)

    def __enter__(self) -> Responders:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.wait(0.1):
                for record in self._simulator.records():
                    link = record["body"].get("ack_url") if isinstance(record["body"], dict) else None
                    if not link or link in self._answered or record["status"] != 200:
                        continue
                    self._answered.add(link)
                    token = link.rsplit("/ack/", 1)[-1]
                    client.post(f"{self._url}/v1/acks", json={"token": token, "note": "收到"})


def test_a_posted_incident_reaches_the_responders_and_its_log_verifies(
    launch: Callable[..., Serve], simulator: SimulatorThread
) -> None:
    """POST /v1/incidents with the duty office's token: 202, signed rescue messages, a logged run, `verify` ok."""
    serve = launch("--grace", "1")
    incident = {"title": "城东燃气调压站燃气泄漏", "type": "gas_explosion", "location": "城东调压站"}
    response = httpx.post(
        f"{serve.url}/v1/incidents", json={"playbook": "gas-explosion", "incident": incident}, headers=DUTY
    )
    assert response.status_code == 202, response.text
    incident_id = response.json()["incident_id"]

    def rescue_messages() -> list[SimRecord]:
        found = [r for r in _of(simulator, incident_id) if r["body"]["step_id"] == "rescue" and r["status"] == 200]
        return found if len(found) == 4 else []

    rescue = _until(rescue_messages, 30, "the four rescue messages")
    assert {r["body"]["recipient"]["id"] for r in rescue} == {"wang-fang", "alex-morgan", "zhao-lei", "sun-li"}
    assert all(r["signature_valid"] is True for r in rescue)
    shown = _muster("log", incident_id, "--json", home=serve.home)
    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)
    kinds = [e["kind"] for e in entries]
    assert kinds[:2] == ["incident.reported", "incident.graded"]
    assert "run.started" in kinds
    assert entries[0]["detail"]["source"] == "muster:duty-office"
    verified = _muster("verify", incident_id, home=serve.home)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"ok: {incident_id}:")


def test_the_api_is_documented_at_docs_and_openapi_json(launch: Callable[..., Serve]) -> None:
    """`/docs` serves the interactive page and `/openapi.json` lists the four intake paths."""
    serve = launch("--grace", "1")
    docs = httpx.get(f"{serve.url}/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text
    spec = httpx.get(f"{serve.url}/openapi.json").json()
    assert spec["info"]["title"] == "Muster"
    assert set(spec["paths"]) >= INTAKE_PATHS
    assert all("post" in spec["paths"][path] for path in INTAKE_PATHS)


def test_trigger_hands_the_incident_to_the_running_service(
    launch: Callable[..., Serve], simulator: SimulatorThread
) -> None:
    """`muster trigger` on the service's data directory hands off (source muster:local-cli) and prints the summary."""
    serve = launch("--grace", "1")
    with Responders(simulator, serve.url):
        result = _muster(
            "trigger",
            "gas-explosion",
            "--set",
            "title=城南燃气管线泄漏爆燃",
            "--config",
            str(DEMO),
            "--json",
            home=serve.home,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr + serve.tail()
    summary = json.loads(result.stdout)
    for key in ("incident_id", "run_id", "grade", "report", "sent", "delivered", "failed"):
        assert key in summary, key
    assert summary["grade"] == "ordinary" and summary["failed"] == 0
    assert summary["sent"] == summary["delivered"] > 0
    assert summary["report"] and Path(summary["report"]).is_file()
    entries = json.loads(_muster("log", summary["incident_id"], "--json", home=serve.home).stdout)
    assert entries[0]["kind"] == "incident.reported"
    assert entries[0]["detail"]["source"] == "muster:local-cli"
    assert {r["body"]["step_id"] for r in _of(simulator, summary["incident_id"])} >= {"rescue", "report-county"}


def _call_out(serve: Serve, simulator: SimulatorThread) -> str:
    """Report a call-out with the simulator answering slowly; return once the first step's messages are in flight."""
    simulator.script(path="/webhook/crew", delay_ms=1200)
    response = httpx.post(
        f"{serve.url}/v1/incidents",
        json={"playbook": "crew-callout", "incident": {"title": "夜间抢险集结", "type": "callout"}},
        headers=DUTY,
    )
    assert response.status_code == 202, response.text
    incident_id: str = response.json()["incident_id"]
    _until(lambda: len(_of(simulator, incident_id)) >= len(CREW), 30, "the first step's messages")
    return incident_id


def _delivered_once_each(simulator: SimulatorThread, incident_id: str) -> Counter[tuple[str, str]]:
    """How many times each (person, step) was accepted by the receiver, repeats it dropped apart."""
    return Counter(
        (r["body"]["recipient"]["id"], r["body"]["step_id"])
        for r in _of(simulator, incident_id)
        if r["status"] == 200 and not r["duplicate"] and r["signature_valid"]
    )


def test_sigterm_lets_the_run_in_flight_finish_within_the_grace_period(
    launch: Callable[..., Serve], simulator: SimulatorThread, crew_config: tuple[Path, dict[str, str]]
) -> None:
    """SIGTERM mid-run: the run finishes (run.finished, report.generated), the process exits 0, service.json goes."""
    config, env = crew_config
    serve = launch("--grace", "30", config=config, env=env)
    assert (serve.home / "service.json").is_file()
    incident_id = _call_out(serve, simulator)
    assert "run.finished" not in _kinds(serve.home, incident_id)
    code, took = serve.stop(timeout_s=45)
    assert code == 0, serve.tail()
    assert took < 30
    assert not (serve.home / "service.json").exists()
    kinds = _kinds(serve.home, incident_id)
    assert "run.finished" in kinds and kinds[-1] == "report.generated"
    assert _delivered_once_each(simulator, incident_id) == Counter({(p, s): 1 for p in CREW for s in STEPS})


def test_with_no_grace_the_stopped_run_resumes_on_the_next_start_and_sends_nothing_twice(
    launch: Callable[..., Serve], simulator: SimulatorThread, crew_config: tuple[Path, dict[str, str]]
) -> None:
    """`--grace 0`: SIGTERM stops the run at once; the next start resumes it and each message arrives once."""
    config, env = crew_config
    first = launch("--grace", "0", config=config, env=env)
    incident_id = _call_out(first, simulator)
    code, took = first.stop(timeout_s=20)
    assert code == 0, first.tail()
    assert took < 10
    assert not (first.home / "service.json").exists()
    kinds = _kinds(first.home, incident_id)
    assert "run.started" in kinds and "run.finished" not in kinds
    simulator.script(path="/webhook/crew", delay_ms=100)
    second = launch("--grace", "0", config=config, env=env)
    _until(lambda: "report.generated" in _kinds(second.home, incident_id), 60, "the resumed run to finish")
    kinds = _kinds(second.home, incident_id)
    assert kinds.count("run.started") == 2 and kinds.count("run.finished") == 1
    assert _delivered_once_each(simulator, incident_id) == Counter({(p, s): 1 for p in CREW for s in STEPS})
    code, _ = second.stop(timeout_s=20)
    assert code == 0, second.tail()


async def test_a_run_prefect_could_not_start_is_started_again_and_sends_once(
    tmp_path: Path,
    simulator: SimulatorThread,
    prefect_api: str,
    crew_config: tuple[Path, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flow that fails before it begins (Prefect answering 503) is started again; the note says why."""
    from flows import RunOptions
    from flows import prefect_api as use_prefect
    from incidents import Incident, report_incident
    from muster.service import RunLauncher, runs

    config, env = crew_config
    simulator.reset()
    monkeypatch.setenv("MUSTER_RESPONDERS_URL", simulator.url)
    monkeypatch.setattr(runs, "START_RETRY_DELAYS_S", (0.2,))
    real, calls = runs.respond, []

    async def unavailable_once(**arguments: Any) -> Any:
        calls.append(arguments)
        if len(calls) == 1:
            request = httpx.Request("POST", f"{prefect_api}/flow_runs/")
            raise httpx.HTTPStatusError("503 Service Unavailable", request=request, response=httpx.Response(503))
        return await real(**arguments)

    monkeypatch.setattr(runs, "respond", unavailable_once)
    log = SQLiteActionLog(tmp_path / "muster.db")
    options = RunOptions(home=str(tmp_path), config_dir=str(config), playbook_dirs=[env["MUSTER_PLAYBOOKS"]])
    incident = Incident(type="callout", title="夜间抢险集结")
    report_incident(log, incident, source="test")
    try:
        with use_prefect(prefect_api):
            launcher = RunLauncher(options, log)
            assert launcher.start(incident, "crew-callout")
            for _ in range(600):
                if not launcher.count():
                    break
                await asyncio.sleep(0.1)
        entries = log.entries(incident.id)
    finally:
        log.close()
    kinds = [str(e.kind) for e in entries]
    assert len(calls) == 2
    retry = next(e for e in entries if e.kind == "note")
    assert retry.outcome == "retry" and "503" in retry.detail["reason"] and retry.detail["retry_in_s"] == 0.2
    assert kinds.count("run.started") == 1 and kinds.count("run.finished") == 1 and kinds[-1] == "report.generated"
    assert _delivered_once_each(simulator, incident.id) == Counter({(p, s): 1 for p in CREW for s in STEPS})
