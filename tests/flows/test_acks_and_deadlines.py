"""Acknowledgements, repeats to the silent, escalation up the chain, and legal deadlines, on real servers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows import RunOptions, prefect_api, record_answer, respond
from incidents import Entry, Incident, SQLiteActionLog
from notifications.simulator import SimulatorThread
from responders import ack_key, read_ack_token

SECRET = "whsec_" + "YWNrLXRlc3RzLXNlY3JldC1rZXktMDEyMzQ1Njc4OQ=="

pytestmark = pytest.mark.e2e

ROSTER = """
people:
  - {id: wang, name: 王伟, roles: [crew], contacts: [{channel: sim, address: wang}]}
  - {id: li, name: 李娜, roles: [crew], contacts: [{channel: sim, address: li}]}
  - {id: zhao, name: 赵队长, roles: [lead], contacts: [{channel: sim, address: zhao}]}
  - {id: chen, name: 陈总, roles: [chief], contacts: [{channel: sim, address: chen}]}
  - {id: county, name: 县应急局值班室, roles: [county_office], contacts: [{channel: sim, address: county}]}
escalation:
  crew: [lead]
  lead: [chief]
"""
CHANNELS = f'channels:\n  - {{name: sim, type: webhook, url: "${{SIM_URL}}/webhook/acks", secret: "{SECRET}"}}\n'
PLAYBOOK = """
id: ack-drill
title: {zh: 确认与升级测试预案, en: Ack and escalation test plan}
incident_types: [test]
roles:
  crew: {name: {zh: 抢险队员, en: Crew}}
  lead: {name: {zh: 抢险队长, en: Crew lead}}
  chief: {name: {zh: 总指挥, en: Chief}}
  county_office: {name: {zh: 县级应急管理部门, en: County department}}
levels:
  - {id: IV, name: {zh: 四级, en: Level IV}}
steps:
  - id: muster-crew
    kind: notify
    title: {zh: 集结抢险队, en: Muster the crew}
    to: [crew]
    ack: {within: 2s, repeat: 1, every: 1s, need: all, escalate_to: chain}
    message: "{{ recipient.name }}: report to the gate. {{ ack_url }}"
  - id: report-county
    kind: report
    title: {zh: 向县级部门报告, en: Report to the county}
    to: [county_office]
    report_to: {zh: 县级应急管理部门, en: County department}
    deadline: {within: 1h, from: occurred_at, warn_before: 2s}
    ack: {within: 30s}
    message: "{{ incident.title }} — deadline {{ deadline }} {{ ack_url }}"
"""


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SimulatorThread, RunOptions, Path]]:
    """A config with a two-level escalation chain, the ack plan, and the simulator."""
    with SimulatorThread(webhook_secret=SECRET) as sim:
        monkeypatch.setenv("SIM_URL", sim.url)
        config = tmp_path / "config"
        config.mkdir()
        (config / "roster.yaml").write_text(ROSTER, encoding="utf-8")
        (config / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
        plan = tmp_path / "ack-drill.yaml"
        plan.write_text(PLAYBOOK, encoding="utf-8")
        options = RunOptions(
            home=str(tmp_path), config_dir=str(config), public_url="http://muster.test", await_answers=True
        )
        yield sim, options, plan


def _answer_when_messaged(
    sim: SimulatorThread, options: RunOptions, who: str, step: str, after_s: float
) -> asyncio.Task[None]:
    """A responder who acknowledges ``after_s`` seconds after their first message for ``step`` arrives."""

    async def answer() -> None:
        log = SQLiteActionLog(Path(options.home) / "muster.db")
        while True:
            mine = [
                r
                for r in sim.records()
                if r["body"] and r["body"]["recipient"]["id"] == who and r["body"]["step_id"] == step
            ]
            if mine:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(after_s)
        token = mine[0]["body"]["ack_url"].rsplit("/", 1)[-1]
        claim = read_ack_token(token, [ack_key(Path(options.home))], now=datetime.now(UTC))
        record_answer(log, claim, note="到", via="test")

    return asyncio.create_task(answer())


def _by_kind(entries: list[Entry], kind: str, step: str | None = None) -> list[Entry]:
    return [e for e in entries if e.kind == kind and (step is None or e.step == step)]


async def _run(options: RunOptions, plan: Path, prefect_api_url: str, **fields: Any) -> tuple[str, list[Entry]]:
    incident = Incident(type="test", title="东区管廊燃气泄漏", **fields)
    with prefect_api(prefect_api_url):
        await respond(incident=incident, playbook=str(plan), options=options)
    log = SQLiteActionLog(Path(options.home) / "muster.db")
    return incident.id, log.entries(incident.id)


async def test_silent_responders_are_repeated_to_then_escalated_up_the_chain_by_name(
    setup: tuple[SimulatorThread, RunOptions, Path], prefect_api: str
) -> None:
    """王伟 acks, 李娜 never does: she alone gets the repeat, is recorded as missed, and the chain is climbed."""
    sim, options, plan = setup
    acker = _answer_when_messaged(sim, options, "wang", "muster-crew", after_s=0.3)
    county = _answer_when_messaged(sim, options, "county", "report-county", after_s=0.2)
    _, entries = await _run(options, plan, prefect_api)
    await asyncio.gather(acker, county)
    keys = [r["body"]["delivery_key"] for r in sim.records() if r["body"]["step_id"] == "muster-crew"]
    assert any(k.endswith("/li/1") for k in keys), "the repeat goes to the silent"
    assert not any(k.endswith("/wang/1") for k in keys), "no repeat to whoever answered"
    (missed,) = [e for e in _by_kind(entries, "ack.missed", "muster-crew") if e.recipient == "li"]
    assert missed.detail["recipient_name"] == "李娜" and missed.detail["role"] == "crew"
    assert missed.detail["role_name"] == "抢险队员"
    escalations = _by_kind(entries, "escalated", "muster-crew")
    assert [e.detail["names"] for e in escalations] == [["赵队长"], ["陈总"]]
    assert escalations[0].detail["silent_names"] == ["李娜"]
    started = _by_kind(entries, "step.started", "muster-crew")[0].at
    waited = (escalations[0].at - started).total_seconds()
    assert 2.8 <= waited <= 4.5, f"escalation after within 2s + every 1s, not {waited:.1f}s"
    assert "赵队长" in [
        e.detail["recipient_name"]
        for e in _by_kind(entries, "ack.missed", "muster-crew")
        if "escalation_level" in e.detail
    ]


async def test_the_report_waits_on_message_release_not_on_the_crews_acks(
    setup: tuple[SimulatorThread, RunOptions, Path], prefect_api: str
) -> None:
    """The county report goes out while the crew's acks are still awaited (the legal clock does not wait)."""
    sim, options, plan = setup
    county = _answer_when_messaged(sim, options, "county", "report-county", after_s=0.1)
    _, entries = await _run(options, plan, prefect_api)
    await county
    report_sent = _by_kind(entries, "message.delivered", "report-county")[0].at
    first_escalation = _by_kind(entries, "escalated", "muster-crew")[0].at
    assert report_sent < first_escalation


async def test_a_report_acknowledged_in_time_meets_its_deadline_at_the_ack_time(
    setup: tuple[SimulatorThread, RunOptions, Path], prefect_api: str
) -> None:
    """The deadline is met at the moment the county acknowledges, recorded with that exact time."""
    sim, options, plan = setup
    for who in ("wang", "li"):
        _answer_when_messaged(sim, options, who, "muster-crew", after_s=0.1)
    county = _answer_when_messaged(sim, options, "county", "report-county", after_s=0.5)
    _, entries = await _run(options, plan, prefect_api)
    await county
    (met,) = _by_kind(entries, "deadline.met", "report-county")
    (acked,) = [e for e in _by_kind(entries, "ack.received", "report-county")]
    assert datetime.fromisoformat(met.detail["at"]) == acked.at


async def test_an_unacknowledged_report_is_warned_about_then_missed_at_the_deadline(
    setup: tuple[SimulatorThread, RunOptions, Path], prefect_api: str
) -> None:
    """With the deadline 4 s away and no ack, a warning goes out 2 s before and the miss is logged at the deadline."""
    sim, options, plan = setup
    for who in ("wang", "li"):
        _answer_when_messaged(sim, options, who, "muster-crew", after_s=0.1)
    occurred = datetime.now(UTC) - timedelta(hours=1) + timedelta(seconds=4)
    _, entries = await _run(options, plan, prefect_api, occurred_at=occurred)
    due = occurred + timedelta(hours=1)
    (warned,) = _by_kind(entries, "deadline.warned", "report-county")
    (missed,) = _by_kind(entries, "deadline.missed", "report-county")
    assert abs((warned.at - (due - timedelta(seconds=2))).total_seconds()) < 1.0
    assert abs((missed.at - due).total_seconds()) < 1.0
    assert datetime.fromisoformat(missed.detail["at"]) >= due - timedelta(milliseconds=1)
    warnings = [r for r in sim.records() if r["body"]["delivery_key"].endswith("/county/50")]
    assert warnings and "时限预警" in warnings[0]["body"]["text"]
