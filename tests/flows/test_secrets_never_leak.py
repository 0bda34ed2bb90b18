"""Secrets never leak: a run signing with three secrets (env substitution, `env:` and `prefect:` references),
with failures on the way, leaves no trace of any of them in output, the action log, the report or the data directory.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from notifications.simulator import SimulatorThread
from reports import extract_text

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MUSTER = str(Path(sys.executable).with_name("muster"))
BLOCK = "muster-test-secret"
PATH = "/webhook/muster"


@dataclass(frozen=True)
class Canary:
    """A whsec_ secret built from distinctive key bytes, and every form it could leak in."""

    key: bytes

    @property
    def secret(self) -> str:
        return "whsec_" + base64.b64encode(self.key).decode()

    def forms(self) -> dict[str, bytes]:
        encoded = base64.b64encode(self.key)
        return {
            "secret": self.secret.encode(),
            "base64 part": encoded,
            "base64 part without padding": encoded.rstrip(b"="),
            "key bytes": self.key,
            "key hex": self.key.hex().encode(),
        }


WEBHOOK = Canary(b"CANARY-muster-webhook-key-A1b2C3")  # MUSTER_WEBHOOK_SECRET, through ${...} substitution
ENV_REF = Canary(b"CANARY-env-ref-signing-key-D4e5F6")  # env:MY_SECRET_VAR
BLOCK_REF = Canary(b"CANARY-prefect-block-key-G7h8I9j0")  # prefect:muster-test-secret
CANARIES = {"MUSTER_WEBHOOK_SECRET": WEBHOOK, "env:MY_SECRET_VAR": ENV_REF, f"prefect:{BLOCK}": BLOCK_REF}

PLAYBOOK = """\
id: leak-check
title: {zh: 泄密检查, en: Leak check}
incident_types: [leak_check]
roles:
  crew: {name: {zh: 队员, en: Crew}}
levels:
  - {id: IV, name: {zh: 四级响应, en: Level IV}}
steps:
  - id: call-crew
    kind: notify
    title: {zh: 通知队员, en: Call the crew}
    to: [crew]
    message: "{{ recipient.name }}：请到岗。"
"""


def leaks(data: bytes) -> list[str]:
    """Which form of which secret ``data`` contains."""
    return [
        f"{name} ({form})"
        for name, canary in CANARIES.items()
        for form, value in canary.forms().items()
        if value in data
    ]


def test_leak_check_finds_every_form_of_every_secret() -> None:
    """The check itself works: each form of each secret, embedded in other bytes, is found."""
    for canary in CANARIES.values():
        for form, value in canary.forms().items():
            assert leaks(b"before " + value + b" after"), form
    assert leaks(b"nothing secret here") == []


@pytest.fixture(scope="module")
def simulators() -> Iterator[dict[str, SimulatorThread]]:
    """One receiver per secret, each checking signatures with its own: a valid signature proves the secret was used."""
    with (
        SimulatorThread(webhook_secret=WEBHOOK.secret) as main,
        SimulatorThread(webhook_secret=ENV_REF.secret) as env_ref,
        SimulatorThread(webhook_secret=BLOCK_REF.secret) as block_ref,
    ):
        yield {"main": main, "env": env_ref, "block": block_ref}


def write_config(
    directory: Path, simulators: dict[str, SimulatorThread], *, env_secret: str = "env:MY_SECRET_VAR"
) -> Path:
    """Four channels: a substituted secret, an env: and a prefect: reference, and a key the receiver rejects."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "channels.yaml").write_text(
        f"""\
channels:
  - name: sim-webhook
    type: webhook
    url: ${{MUSTER_RESPONDERS_URL}}{PATH}
    secret: ${{MUSTER_WEBHOOK_SECRET}}
  - name: sim-env
    type: webhook
    url: {simulators["env"].url}/webhook/broken
    secret: {env_secret}
    max_attempts: 2
  - name: sim-block
    type: webhook
    url: {simulators["block"].url}/webhook/hang
    secret: prefect:{BLOCK}
    timeout_s: 0.3
    max_attempts: 2
    max_elapsed_s: 2
  - name: sim-wrong-key
    type: webhook
    url: ${{MUSTER_RESPONDERS_URL}}/webhook/wrong-key
    secret: {env_secret}
""",
        encoding="utf-8",
    )
    people = [
        ("ok", [("sim-webhook", "ok")]),
        ("broken", [("sim-env", "broken")]),  # 500 twice: failed for good
        ("hang-then-fallback", [("sim-block", "hang"), ("sim-webhook", "hang-fallback")]),
        ("wrong-key", [("sim-wrong-key", "wrong-key")]),  # 401 invalid signature
    ]
    roster = {
        "people": [
            {"id": pid, "name": pid, "roles": ["crew"], "contacts": [{"channel": c, "address": a} for c, a in contacts]}
            for pid, contacts in people
        ]
    }
    (directory / "roster.yaml").write_text(json.dumps(roster), encoding="utf-8")
    (directory / "leak-check.yaml").write_text(PLAYBOOK, encoding="utf-8")
    return directory


def muster_env(home: Path, simulators: dict[str, SimulatorThread], prefect_api: str) -> dict[str, str]:
    return os.environ | {
        "MUSTER_HOME": str(home),
        "MUSTER_RESPONDERS_URL": simulators["main"].url,
        "MUSTER_WEBHOOK_SECRET": WEBHOOK.secret,
        "MY_SECRET_VAR": ENV_REF.secret,
        "PREFECT_API_URL": prefect_api,
    }


def muster(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([MUSTER, *args], env=env, cwd=ROOT, capture_output=True, timeout=180)


@pytest.fixture(scope="module")
def block_secret(prefect_api: str) -> str:
    """The Prefect Secret block the third channel names, saved in the test harness's server."""
    from prefect.blocks.system import Secret

    Secret(value=BLOCK_REF.secret).save(BLOCK, overwrite=True)
    return BLOCK


@pytest.fixture(scope="module")
def leak_run(
    tmp_path_factory: pytest.TempPathFactory,
    simulators: dict[str, SimulatorThread],
    prefect_api: str,
    block_secret: str,
) -> dict[str, Any]:
    """Trigger the leak-check plan once; keep every output and where the data went."""
    for simulator in simulators.values():
        simulator.reset()
    simulators["env"].script("/webhook/broken", permanent_status=500)
    simulators["block"].script("/webhook/hang", hang=True)
    base = tmp_path_factory.mktemp("leak")
    config = write_config(base / "config", simulators)
    home = base / "home"
    env = muster_env(home, simulators, prefect_api)
    run = muster(
        "trigger",
        str(config / "leak-check.yaml"),
        "--config",
        str(config),
        "--set",
        "title=泄密检查",
        "--json",
        env=env,
    )
    assert run.returncode == 0, run.stderr.decode()
    summary = json.loads(run.stdout)
    incident = summary["incident_id"]
    outputs = {"trigger": run.stdout + run.stderr}
    for args in (("log", incident, "--json"), ("log", incident), ("verify", incident), ("incidents",)):
        shown = muster(*args, env=env)
        assert shown.returncode == 0, shown.stderr.decode()
        outputs[" ".join(args)] = shown.stdout + shown.stderr
    return {"summary": summary, "outputs": outputs, "home": home, "env": env, "config": config}


def test_the_run_used_every_secret_and_met_failures(
    leak_run: dict[str, Any], simulators: dict[str, SimulatorThread]
) -> None:
    """Each receiver saw valid signatures with its own secret; a 500, a hang and a 401 produced failure reasons."""
    for name in ("env", "block"):
        records = simulators[name].records()
        assert records and all(r["signature_valid"] is True for r in records), name
    main = simulators["main"].records()
    assert {r["body"]["recipient"]["id"] for r in main if r["path"] == PATH} == {"ok", "hang-then-fallback"}
    assert all(r["signature_valid"] is True for r in main if r["path"] == PATH)
    assert [r["signature_valid"] for r in main if r["path"] == "/webhook/wrong-key"] == [False]
    summary = leak_run["summary"]
    assert (summary["delivered"], summary["failed"]) == (2, 2)
    entries = json.loads(leak_run["outputs"][f"log {summary['incident_id']} --json"])
    reasons = " ".join(str(e["detail"].get("reason", "")) for e in entries)
    assert "HTTP 500" in reasons and "no answer from" in reasons and "invalid signature" in reasons


def test_no_secret_in_cli_output(leak_run: dict[str, Any]) -> None:
    """trigger, log (JSON and table), verify and incidents print no form of any secret."""
    for command, output in leak_run["outputs"].items():
        assert not leaks(output), f"`muster {command}` shows {leaks(output)}"


def test_no_secret_in_the_action_log_database(leak_run: dict[str, Any]) -> None:
    """muster.db and its WAL, read as raw bytes, hold no form of any secret."""
    home: Path = leak_run["home"]
    databases = sorted(home.glob("muster.db*"))
    assert databases
    for path in databases:
        assert not leaks(path.read_bytes()), f"{path.name} holds {leaks(path.read_bytes())}"


def test_no_secret_in_the_pdf_report(leak_run: dict[str, Any]) -> None:
    """The report's bytes, its extracted text and its attached action log hold no form of any secret."""
    report = Path(leak_run["summary"]["report"])
    assert not leaks(report.read_bytes())
    text = extract_text(report)
    assert "泄密检查" in text
    assert not leaks(text.encode())
    attachments = PdfReader(report).attachments
    assert attachments, "the report carries its action log"
    for name, contents in attachments.items():
        for content in contents:
            assert not leaks(content), f"attachment {name} holds {leaks(content)}"


def test_no_secret_in_any_file_under_muster_home(leak_run: dict[str, Any]) -> None:
    """Every file under MUSTER_HOME, recursively, is free of every form of every secret."""
    home: Path = leak_run["home"]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert len(files) >= 2  # at least the action log and the report
    found = {str(p.relative_to(home)): leaks(p.read_bytes()) for p in files}
    assert not {path: what for path, what in found.items() if what}


def test_no_secret_in_what_prefect_recorded(leak_run: dict[str, Any]) -> None:
    """The flow run's parameters, its task runs' states and its logs on the Prefect server hold no secret."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )

    incident = leak_run["summary"]["incident_id"]
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[incident])))
        assert runs, f"no flow run named {incident}"
        ids = [run.id for run in runs]
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
    recorded = "\n".join(item.model_dump_json() for item in [*runs, *task_runs, *logs]).encode()
    assert not leaks(recorded)


@pytest.mark.parametrize(
    ("reference", "named"),
    [("env:NO_SUCH_SECRET_VAR_4711", "NO_SUCH_SECRET_VAR_4711"), ("prefect:no-such-block-4711", "no-such-block-4711")],
)
def test_unresolvable_reference_names_itself_and_no_secret(
    tmp_path: Path,
    simulators: dict[str, SimulatorThread],
    prefect_api: str,
    block_secret: str,
    reference: str,
    named: str,
) -> None:
    """A reference that cannot be resolved stops the trigger with an error naming it, quoting no secret."""
    config = write_config(tmp_path / "config", simulators, env_secret=reference)
    env = muster_env(tmp_path / "home", simulators, prefect_api)
    run = muster("trigger", str(config / "leak-check.yaml"), "--config", str(config), "--json", env=env)
    assert run.returncode == 1
    error = run.stderr.decode()
    assert named in error and "channels.yaml" in error
    assert not leaks(run.stdout + run.stderr)
    checked = muster("validate", str(config / "leak-check.yaml"), "--config", str(config), env=env)
    assert checked.returncode == 1 and named in checked.stderr.decode()
    assert not leaks(checked.stdout + checked.stderr)
