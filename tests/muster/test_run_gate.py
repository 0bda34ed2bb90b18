"""The service's start gate: few runs go through Prefect's start at once, and a run waiting for acks never holds it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import RunOptions
from flows import prefect_api as use_prefect
from incidents import EntryKind, Incident, SQLiteActionLog, report_incident
from muster.service import RunLauncher, runs
from notifications.simulator import SimulatorThread

pytestmark = pytest.mark.e2e

ROSTER = "people:\n  - {id: wang, name: 王伟, roles: [crew], contacts: [{channel: sim, address: wang}]}\n"
CHANNELS = 'channels:\n  - {name: sim, type: webhook, url: "${MUSTER_RESPONDERS_URL}/webhook/gate"}\n'
PLAYBOOK = """
id: gate-drill
title: {zh: 启动闸门测试, en: Start gate test}
incident_types: [test]
roles:
  crew: {name: {zh: 队员, en: Crew}}
levels:
  - {id: IV, name: {zh: 四级, en: Level IV}}
steps:
  - id: call
    kind: notify
    title: {zh: 呼叫, en: Call}
    to: [crew]
    ack: {within: 1m}
    message: "{{ recipient.name }}：请确认 {{ ack_url }}"
"""


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunOptions]:
    with SimulatorThread() as sim:
        monkeypatch.setenv("MUSTER_RESPONDERS_URL", sim.url)
        config, plans = tmp_path / "config", tmp_path / "plans"
        config.mkdir()
        plans.mkdir()
        (config / "roster.yaml").write_text(ROSTER, encoding="utf-8")
        (config / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
        (plans / "gate-drill.yaml").write_text(PLAYBOOK, encoding="utf-8")
        yield RunOptions(
            home=str(tmp_path),
            config_dir=str(config),
            playbook_dirs=[str(plans)],
            public_url="http://muster.test",
            await_answers=True,
        )


async def test_runs_waiting_for_acks_leave_the_gate_so_later_runs_start(
    setup: RunOptions, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a gate of 2, five runs that all wait a minute for acks still all begin within seconds."""
    monkeypatch.setattr(runs, "MAX_STARTING", 2)
    log = SQLiteActionLog(Path(setup.home) / "muster.db")
    incidents = [Incident(type="test", title=f"闸门测试{n}") for n in range(5)]
    try:
        with use_prefect(prefect_api):
            launcher = RunLauncher(setup, log)
            for incident in incidents:
                report_incident(log, incident, source="test")
                assert launcher.start(incident, "gate-drill")

            def begun() -> int:
                return sum(log.latest(i.id, [EntryKind.RUN_STARTED]) is not None for i in incidents)

            for _ in range(300):
                if begun() == len(incidents):
                    break
                await asyncio.sleep(0.1)
            assert begun() == len(incidents), "a run waiting for acks kept the start gate shut"
            assert launcher.count() == len(incidents), "all five are still waiting for their acks"
            assert await launcher.shutdown(0) == [i.id for i in incidents]
    finally:
        log.close()
