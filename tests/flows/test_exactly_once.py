"""Exactly once across a crash: `muster trigger` killed mid fan-out, `muster resume`, and what each responder saw.

The receiver is the simulator's Standard Webhooks twin, which drops a repeated
``webhook-id`` as a real receiver does (answered 200, recorded ``duplicate``). The
delivery ledger is the action log: what it shows delivered is never sent again, and
whatever it lost in the crash goes again with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.context import ActionLogLedger
from incidents import Entry, EntryKind, Incident, NewEntry, SQLiteActionLog, open_action_log, report_incident
from muster.errors import ActionLogError
from notifications import DeliveryResult, DeliveryStatus, Message
from notifications.channels.webhook import webhook_id
from notifications.simulator import SimRecord, SimulatorThread

ROOT = Path(__file__).resolve().parents[2]
MUSTER = str(Path(sys.executable).with_name("muster"))
SECRET = "whsec_" + "ZXhhY3RseS1vbmNlLXRlc3Qtc2VjcmV0LTEyMzQ1Ng=="
PATH = "/webhook/muster"
CREW = 60

PLAYBOOK = """\
id: exactly-once
title: {zh: 全员集结, en: Muster everyone}
incident_types: [drill_muster]
roles:
  crew: {name: {zh: 应急队员, en: Crew}}
levels:
  - {id: IV, name: {zh: 四级响应, en: Level IV}}
steps:
  - id: call-crew
    kind: notify
    title: {zh: 通知全体队员, en: Call the crew}
    to: [crew]
    message:
      zh: "{{ recipient.name }}：{{ incident.title }}，请立即到岗。"
      en: "{{ recipient.name }}: {{ incident.title }}, report for duty now."
"""


def write_config(directory: Path, *, rate_limit: str | None) -> Path:
    """A config folder with 60 crew on the simulator's webhook, the plan beside it in ``playbooks/``.

    ``rate_limit`` is the channel's, as YAML, e.g. ``{count: 10, per_s: 1}``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    limit = f"\n    rate_limit: {rate_limit}" if rate_limit else ""
    (directory / "channels.yaml").write_text(
        "channels:\n"
        "  - name: sim-webhook\n"
        "    type: webhook\n"
        f"    url: ${{MUSTER_RESPONDERS_URL}}{PATH}\n"
        "    secret: ${MUSTER_WEBHOOK_SECRET}\n"
        f"    timeout_s: 5{limit}\n",
        encoding="utf-8",
    )
    people = [
        {
            "id": f"crew-{n:02d}",
            "name": f"队员{n:02d}",
            "roles": ["crew"],
            "contacts": [{"channel": "sim-webhook", "address": f"crew-{n:02d}"}],
        }
        for n in range(CREW)
    ]
    (directory / "roster.yaml").write_text(json.dumps({"people": people}, ensure_ascii=False), encoding="utf-8")
    plans = directory.parent / "playbooks"
    plans.mkdir(exist_ok=True)
    (plans / "exactly-once.yaml").write_text(PLAYBOOK, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorThread]:
    """The responder simulator, checking signatures and dropping repeated webhook-ids."""
    with SimulatorThread(webhook_secret=SECRET) as sim:
        yield sim


def muster_env(home: Path, simulator: SimulatorThread, prefect_api: str, config: Path) -> dict[str, str]:
    """The CLI's environment; the plan's folder is a playbook folder, so it is found by id on resume."""
    return os.environ | {
        "MUSTER_HOME": str(home),
        "MUSTER_PLAYBOOKS": str(config.parent / "playbooks"),
        "MUSTER_RESPONDERS_URL": simulator.url,
        "MUSTER_WEBHOOK_SECRET": SECRET,
        "PREFECT_API_URL": prefect_api,
    }


def muster(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MUSTER, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)


def plan_file(config: Path) -> str:
    return str(config.parent / "playbooks" / "exactly-once.yaml")


def trigger_args(config: Path, playbook: str) -> list[str]:
    """`muster trigger` of the plan, by id or by file, with the config folder."""
    return [
        "trigger",
        playbook,
        "--config",
        str(config),
        "--set",
        "title=全员集结演练",
        "--json",
    ]


def accepted(records: list[SimRecord]) -> Counter[str]:
    """How many times the receiver accepted each delivery key as new."""
    return Counter(r["body"]["delivery_key"] for r in records if r["status"] == 200 and not r["duplicate"])


def log_entries(incident: str, env: dict[str, str]) -> list[dict[str, Any]]:
    shown = muster("log", incident, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    entries: list[dict[str, Any]] = json.loads(shown.stdout)
    return entries


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


def crew_message(incident: Incident, n: int = 0) -> Message:
    return Message(
        delivery_key=f"{incident.id}/call-crew/crew-{n:02d}/0",
        incident_id=incident.id,
        step_id="call-crew",
        recipient_id=f"crew-{n:02d}",
        recipient_name=f"队员{n:02d}",
        channel="sim-webhook",
        address=f"crew-{n:02d}",
        language="zh",
        subject="全员集结",
        body="请立即到岗。",
    )


DELIVERED = DeliveryResult(DeliveryStatus.DELIVERED, "HTTP 200", 200)


async def test_delivered_entries_reach_the_log_within_max_delay_when_nothing_follows(tmp_path: Path) -> None:
    """A delivery recorded just before a long pause (pacing, backoff) is in the log max_delay_s later, not later."""
    log = open_action_log(tmp_path / "muster.db")
    incident = Incident(type="drill_muster", title="全员集结演练")
    report_incident(log, incident, source="test")
    ledger = ActionLogLedger(log, max_delay_s=0.1)
    message = crew_message(incident)
    ledger.record_attempt(message, 1, DELIVERED, 12.0)
    ledger.record_outcome(message, DELIVERED, 1)
    await asyncio.sleep(0.5)  # deliver() waiting for the next pacing window: no further entry arrives
    assert log.has_key(incident.id, EntryKind.MESSAGE_DELIVERED, message.delivery_key), (
        "the delivered entry was still unwritten 0.5 s later; a crash now would send it again"
    )
    ledger.flush()
    assert [e.kind for e in log.entries(incident.id)][-2:] == [EntryKind.MESSAGE_ATTEMPTED, EntryKind.MESSAGE_DELIVERED]
    log.close()


class _ReadOnlyLog(SQLiteActionLog):
    def record_many(self, incident_id: str, entries: Iterable[NewEntry]) -> list[Entry]:
        raise ActionLogError("the action log is read-only")


async def test_a_timed_write_that_fails_is_raised_by_the_next_call(tmp_path: Path) -> None:
    """When the timer's write fails, nothing is swallowed: the next record raises the log's error."""
    log = _ReadOnlyLog(tmp_path / "muster.db")
    incident = Incident(type="drill_muster", title="全员集结演练")
    ledger = ActionLogLedger(log, max_delay_s=0.05)
    ledger.record_outcome(crew_message(incident, 0), DELIVERED, 1)
    await asyncio.sleep(0.2)  # the timer tries to write, and fails
    with pytest.raises(ActionLogError, match="read-only"):
        ledger.record_outcome(crew_message(incident, 1), DELIVERED, 1)
    log.close()


class _FirstWriteFailsLog(SQLiteActionLog):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes = 0

    def record_many(self, incident_id: str, entries: Iterable[NewEntry]) -> list[Entry]:
        self.writes += 1
        if self.writes == 1:
            time.sleep(0.3)  # the next batch is handed over while this one is still being written
            raise ActionLogError("disk full")
        return super().record_many(incident_id, entries)


async def test_a_failed_batch_on_the_writer_thread_is_raised_and_nothing_after_it_is_written(tmp_path: Path) -> None:
    """Batches written off the loop keep the log's order: after a failed one, none is written, and it is raised."""
    log = _FirstWriteFailsLog(tmp_path / "muster.db")
    incident = Incident(type="drill_muster", title="全员集结演练")
    ledger = ActionLogLedger(log, batch_size=2, max_delay_s=60)
    for n in range(4):  # two batches of two, both handed to the writer thread before the first fails
        ledger.record_outcome(crew_message(incident, n), DELIVERED, 1)
    with pytest.raises(ActionLogError, match="disk full"):
        ledger.flush()
    assert log.entries(incident.id) == [], "a batch after the failed one was written: the log's order is broken"
    log.close()


# When to kill the run: with the second burst of 10 still in flight (received, not yet answered),
# or just after the receiver answered it (delivered, perhaps not yet in the log).
KILL_POINTS: dict[str, Callable[[list[SimRecord]], bool]] = {
    "in-flight": lambda records: len(records) >= 20,
    "just-answered": lambda records: sum(r["status"] == 200 for r in records) >= 20,
}


@pytest.mark.e2e
@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
def test_killed_trigger_then_resume_reaches_everyone_exactly_once(
    tmp_path: Path, simulator: SimulatorThread, prefect_api: str, kill_point: str
) -> None:
    """SIGKILL mid fan-out, then `muster resume`: all 60 accepted once each, resends flagged, log verifies."""
    simulator.reset()
    simulator.script(PATH, delay_ms=150)
    config = write_config(tmp_path / "config", rate_limit="{count: 10, per_s: 1}")
    env = muster_env(tmp_path / "home", simulator, prefect_api, config)

    run = subprocess.Popen(
        [MUSTER, *trigger_args(config, plan_file(config))],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        ready = KILL_POINTS[kill_point]
        wait_for(lambda: ready(simulator.records(PATH)) or run.poll() is not None, 120, f"the {kill_point} moment")
        assert run.poll() is None, f"the run ended before it could be killed: {run.communicate()}"
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    time.sleep(0.5)  # requests cut off by the kill end at the receiver
    before = simulator.records(PATH)
    assert 20 <= len(before) < CREW, f"{len(before)} requests before the kill: the fan-out was not interrupted"

    listed = muster("incidents", env=env)
    assert listed.returncode == 0, listed.stderr
    [incident] = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    logged_before = {e["key"] for e in log_entries(incident, env) if e["kind"] == EntryKind.MESSAGE_DELIVERED.value}

    resumed = muster("resume", incident, "--config", str(config), "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    records = simulator.records(PATH)
    after = records[len(before) :]

    # Every responder saw the message exactly once.
    keys = {f"{incident}/call-crew/crew-{n:02d}/0" for n in range(CREW)}
    assert accepted(records) == Counter(dict.fromkeys(keys, 1))
    assert all(r["signature_valid"] is True for r in records)
    # Only what the log did not show as delivered was sent again, each with its first webhook-id.
    assert {r["body"]["delivery_key"] for r in after}.isdisjoint(logged_before)
    for record in records:
        assert record["headers"]["webhook-id"] == webhook_id(record["body"]["delivery_key"])
    accepted_before = {r["body"]["delivery_key"] for r in before if r["status"] == 200}
    for record in after:
        resent = record["body"]["delivery_key"] in accepted_before
        assert record["duplicate"] is resent, record
    # The resumed run did the rest and says so.
    assert summary["status"] == "completed" and summary["failed"] == 0 and summary["unreachable"] == 0
    assert summary["sent"] == summary["delivered"] == CREW - len(logged_before)
    assert summary["skipped_steps"] == []

    verified = muster("verify", incident, env=env)
    assert verified.returncode == 0, verified.stderr
    entries = log_entries(incident, env)
    delivered = Counter(e["key"] for e in entries if e["kind"] == EntryKind.MESSAGE_DELIVERED.value)
    assert delivered == Counter(dict.fromkeys(keys, 1))
    kinds = Counter(e["kind"] for e in entries)
    assert kinds[EntryKind.RUN_STARTED.value] == 2
    assert kinds[EntryKind.RUN_FINISHED.value] == 1
    assert kinds[EntryKind.MESSAGE_FAILED.value] == 0
    assert kinds[EntryKind.STEP_SKIPPED.value] == 0


@pytest.mark.e2e
def test_resume_after_a_completed_run_sends_nothing(
    tmp_path: Path, simulator: SimulatorThread, prefect_api: str
) -> None:
    """`muster resume` on an incident whose run finished sends no request and delivers nothing new."""
    simulator.reset()
    config = write_config(tmp_path / "config", rate_limit=None)
    env = muster_env(tmp_path / "home", simulator, prefect_api, config)
    first = muster(*trigger_args(config, "exactly-once"), env=env)
    assert first.returncode == 0, first.stderr
    incident = json.loads(first.stdout)["incident_id"]
    sent = simulator.records(PATH)
    assert accepted(sent) == Counter({f"{incident}/call-crew/crew-{n:02d}/0": 1 for n in range(CREW)})

    again = muster("resume", incident, "--config", str(config), "--json", env=env)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["sent"], summary["delivered"], summary["failed"]) == (0, 0, 0)
    assert simulator.records(PATH) == sent
    delivered = [e for e in log_entries(incident, env) if e["kind"] == EntryKind.MESSAGE_DELIVERED.value]
    assert len(delivered) == CREW
    assert muster("verify", incident, env=env).returncode == 0


@pytest.mark.e2e
def test_run_triggered_from_a_playbook_file_can_be_resumed(
    tmp_path: Path, simulator: SimulatorThread, prefect_api: str
) -> None:
    """A plan triggered as `muster trigger path/to/plan.yaml` (in no playbook folder) can be resumed."""
    simulator.reset()
    config = write_config(tmp_path / "config", rate_limit=None)
    env = muster_env(tmp_path / "home", simulator, prefect_api, config) | {"MUSTER_PLAYBOOKS": ""}
    first = muster(*trigger_args(config, plan_file(config)), env=env)
    assert first.returncode == 0, first.stderr
    incident = json.loads(first.stdout)["incident_id"]
    again = muster("resume", incident, "--config", str(config), "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sent"] == 0
