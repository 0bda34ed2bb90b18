"""What a `respond` run costs the Prefect side: no default-storage lookups, and no new clients in a warm service."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import PrefectClient, SyncPrefectClient

from flows import RunOptions, respond
from flows import prefect_api as use_prefect
from flows.respond import SharedPrefectClients
from incidents import Incident, SQLiteActionLog
from notifications.simulator import SimulatorThread

pytestmark = pytest.mark.e2e

SECRET = "whsec_" + "cnVuLWNvc3QtcHJlZmVjdC10ZXN0LXNlY3JldC0xMjM0NTY="
ROSTER = "people:\n  - {id: wang, name: 王伟, roles: [duty], contacts: [{channel: sim, address: wang}]}\n"
CHANNELS = f'channels:\n  - {{name: sim, type: webhook, url: "${{SIM_URL}}/webhook/cost", secret: "{SECRET}"}}\n'
PLAYBOOK = """\
id: run-cost-prefect
title: {zh: 成本测试预案, en: Run cost test plan}
incident_types: [test]
roles:
  duty: {name: {zh: 值班员, en: Duty officer}}
levels:
  - {id: IV, name: {zh: 四级, en: Level IV}}
steps:
  - id: alert
    kind: notify
    title: {zh: 通知值班员, en: Alert the duty officer}
    to: [duty]
    message: "{{ incident.title }}"
"""


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SimulatorThread, RunOptions]]:
    """A one-person config, the one-step plan, and the simulator."""
    with SimulatorThread(webhook_secret=SECRET) as sim:
        monkeypatch.setenv("SIM_URL", sim.url)
        config = tmp_path / "config"
        config.mkdir()
        (config / "roster.yaml").write_text(ROSTER, encoding="utf-8")
        (config / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
        plans = tmp_path / "plans"
        plans.mkdir()
        (plans / "plan.yaml").write_text(PLAYBOOK, encoding="utf-8")
        then = time.time_ns() - 60_000_000_000
        for path in (config / "roster.yaml", config / "channels.yaml", plans / "plan.yaml"):
            os.utime(path, ns=(then, then))
        yield sim, RunOptions(home=str(tmp_path), config_dir=str(config), playbook_dirs=[str(plans)])


@pytest.fixture
def prefect_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many Prefect clients were built, and default-storage lookups made, since the test began."""
    calls: Counter[str] = Counter()

    def counted(cls: type[Any], name: str) -> None:
        real = getattr(cls, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls[f"{cls.__name__}.{name}"] += 1
            return real(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    for cls in (PrefectClient, SyncPrefectClient):
        counted(cls, "__init__")
        counted(cls, "read_server_default_result_storage")
    return calls


async def _respond(options: RunOptions) -> list[str]:
    incident = Incident(type="test", title="东区管廊燃气泄漏")
    await respond(incident=incident, playbook="run-cost-prefect", options=options)
    return [str(e.kind) for e in SQLiteActionLog(Path(options.home) / "muster.db").entries(incident.id)]


async def test_a_run_does_not_ask_the_server_for_its_default_result_storage(
    setup: tuple[SimulatorThread, RunOptions], prefect_api: str, prefect_calls: Counter[str]
) -> None:
    """The flow names its result storage, so no run reads the server's default (a blocking call, twice per run)."""
    _, options = setup
    with use_prefect(prefect_api):
        kinds = await _respond(options)
    assert kinds[-1] == "report.generated" and "run.finished" in kinds
    assert prefect_calls["SyncPrefectClient.read_server_default_result_storage"] == 0
    assert prefect_calls["PrefectClient.read_server_default_result_storage"] == 0


async def test_runs_in_a_warm_service_build_no_prefect_clients(
    setup: tuple[SimulatorThread, RunOptions], prefect_api: str, prefect_calls: Counter[str]
) -> None:
    """Inside SharedPrefectClients a run builds no client (each costs a TLS context); outside it, it does."""
    sim, options = setup
    shared = SharedPrefectClients()
    with use_prefect(prefect_api):
        async with shared.use():  # opens the shared pair
            assert (await _respond(options))[-1] == "report.generated"
        prefect_calls.clear()
        for _ in range(2):
            async with shared.use():
                assert (await _respond(options))[-1] == "report.generated"
        assert prefect_calls["PrefectClient.__init__"] == 0
        assert prefect_calls["SyncPrefectClient.__init__"] == 0
        await shared.close()

        assert (await _respond(options))[-1] == "report.generated"  # a run on its own still works
        assert prefect_calls["PrefectClient.__init__"] >= 1
    assert len([r for r in sim.records() if r["body"]]) == 4
