"""Acks end to end: `muster serve` as a subprocess, the simulator's scripted people answering its links (or not).

Nothing here answers in-process: each ack is an HTTP request from the simulator to the service's
link (the confirmation form) or its JSON API, as a person's phone would send it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from incidents import Entry, SQLiteActionLog
from muster.testing import ServeProcess, start_serve
from notifications.simulator import SimRecord, SimulatorThread
from reports import extract_text

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + "YWNrcy1lMmUtdGVzdHMtc2VjcmV0LWtleS0wMTIzNDU2"
DUTY = {"Authorization": "Bearer ack-tests-duty-token"}
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
CHANNELS = f"""
channels:
  - {{name: sim, type: webhook, url: "${{MUSTER_RESPONDERS_URL}}/webhook/acks", secret: "{SECRET}"}}
"""
SERVICE = """
sources:
  - {name: duty-office, token: ack-tests-duty-token, formats: [muster]}
"""
PLAYBOOK = """
id: ack-drill
title: {zh: 确认与升级演练预案, en: Ack and escalation drill plan}
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
    message: "{{ recipient.name }}：到大门集合。{{ ack_url }}"
  - id: report-county
    kind: report
    title: {zh: 向县级部门报告, en: Report to the county}
    to: [county_office]
    report_to: {zh: 县级应急管理部门, en: County department}
    deadline: {within: 1h, from: occurred_at, warn_before: 2s}
    ack: {within: 30s}
    message: "{{ incident.title }}，时限 {{ deadline }} {{ ack_url }}"
"""
TASK_PLAYBOOK = """
id: task-drill
title: {zh: 现场处置任务演练预案, en: On-site task drill plan}
incident_types: [test]
roles:
  lead: {name: {zh: 抢险队长, en: Crew lead}}
levels:
  - {id: IV, name: {zh: 四级, en: Level IV}}
steps:
  - id: close-valve
    kind: task
    title: {zh: 关闭进气总阀, en: Close the main inlet valve}
    to: [lead]
    deadline: {within: 4s, from: reported_at, warn_before: 2s}
    message: "{{ recipient.name }}：关闭进气总阀，完成后确认。{{ ack_url }}"
"""
REPORT_PLAYBOOK = """
id: report-drill
title: {zh: 报告时限演练预案, en: Report deadline drill plan}
incident_types: [test]
roles:
  county_office: {name: {zh: 县级应急管理部门, en: County department}}
levels:
  - {id: IV, name: {zh: 四级, en: Level IV}}
steps:
  - id: report-county
    kind: report
    title: {zh: 向县级部门报告, en: Report to the county}
    to: [county_office]
    report_to: {zh: 县级应急管理部门, en: County department}
    deadline: {within: 1h, from: occurred_at}
    ack: {within: 1s}
    message: "{{ incident.title }}，时限 {{ deadline }} {{ ack_url }}"
"""


def person(address: str) -> str:
    """What marks a message as this person's: the address in the webhook's JSON (compact, as sent)."""
    return f'"address":"{address}"'


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorThread]:
    with SimulatorThread(webhook_secret=SECRET) as sim:
        yield sim


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, simulator: SimulatorThread, prefect_api: str
) -> Iterator[ServeProcess]:
    """One warm service for the module; each test reports its own incident."""
    tmp = tmp_path_factory.mktemp("acks-e2e")
    config, plans = tmp / "config", tmp / "plans"
    config.mkdir()
    plans.mkdir()
    (config / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    (config / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
    (config / "service.yaml").write_text(SERVICE, encoding="utf-8")
    (plans / "ack-drill.yaml").write_text(PLAYBOOK, encoding="utf-8")
    (plans / "task-drill.yaml").write_text(TASK_PLAYBOOK, encoding="utf-8")
    (plans / "report-drill.yaml").write_text(REPORT_PLAYBOOK, encoding="utf-8")
    serve = start_serve(
        "--grace",
        "0",
        home=tmp / "home",
        config=config,
        env={
            "MUSTER_RESPONDERS_URL": simulator.url,
            "MUSTER_WEBHOOK_SECRET": SECRET,
            "MUSTER_PLAYBOOKS": str(plans),
            "PREFECT_API_URL": prefect_api,
        },
        output=tmp / "serve.log",
        cwd=ROOT,
    )
    yield serve
    serve.end()


@pytest.fixture
def sim(simulator: SimulatorThread) -> SimulatorThread:
    """The simulator with nobody scripted: everyone is silent until a test says otherwise."""
    simulator.clear_responders()
    return simulator


def report(service: ServeProcess, playbook: str = "ack-drill", **incident: Any) -> str:
    """Report a test incident to the service; its id."""
    body = {"playbook": playbook, "incident": {"type": "test", "title": "东区管廊燃气泄漏", **incident}}
    response = httpx.post(f"{service.url}/v1/incidents", json=body, headers=DUTY, timeout=10)
    assert response.status_code == 202, response.text
    incident_id: str = response.json()["incident_id"]
    return incident_id


def finished_log(
    service: ServeProcess, incident_id: str, timeout_s: float = 60, *, also: str = "report.generated"
) -> list[Entry]:
    """The incident's action log once its run has produced the report (and an entry of kind ``also``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = SQLiteActionLog(service.home / "muster.db")
        try:
            entries = log.entries(incident_id)
        finally:
            log.close()
        kinds = {e.kind for e in entries}
        if "report.generated" in kinds and also in kinds:
            return entries
        time.sleep(0.2)
    raise AssertionError(f"the run of {incident_id} did not finish within {timeout_s:.0f} s:\n{service.tail()}")


def of_kind(entries: list[Entry], kind: str, step: str | None = None) -> list[Entry]:
    return [e for e in entries if e.kind == kind and (step is None or e.step == step)]


def messages(sim: SimulatorThread, incident_id: str, step: str) -> list[SimRecord]:
    return [
        r
        for r in sim.records("/webhook/acks")
        if r["body"]["incident_id"] == incident_id and r["body"]["step_id"] == step and r["status"] == 200
    ]


def recipients_by_round(records: list[SimRecord]) -> dict[int, set[str]]:
    """Who got a message in each round (from the delivery key's last part)."""
    rounds: dict[int, set[str]] = {}
    for record in records:
        round_ = int(record["body"]["delivery_key"].rsplit("/", 1)[1])
        rounds.setdefault(round_, set()).add(record["body"]["recipient"]["id"])
    return rounds


def test_the_silent_get_the_repeat_then_the_chain_is_climbed_and_misses_are_named(
    service: ServeProcess, sim: SimulatorThread
) -> None:
    """王伟 answers his link after 0.3 s, 李娜 never: only she is reminded and missed by name; two levels climbed."""
    sim.respond(person("wang"), after_ms=300, note="到")
    sim.respond(person("county"), after_ms=200, via="api")
    incident_id = report(service)
    entries = finished_log(service, incident_id)

    rounds = recipients_by_round(messages(sim, incident_id, "muster-crew"))
    assert rounds[0] == {"wang", "li"}
    assert rounds[1] == {"li"}, "the repeat goes to the silent only"
    assert rounds[101] == {"zhao"} and rounds[102] == {"chen"}, "one level of the chain after the other"

    (wang_ack,) = of_kind(entries, "ack.received", "muster-crew")
    assert wang_ack.recipient == "wang" and wang_ack.detail["via"] == "link" and wang_ack.detail["note"] == "到"
    missed = {e.recipient: e for e in of_kind(entries, "ack.missed", "muster-crew")}
    assert missed["li"].detail["recipient_name"] == "李娜" and missed["li"].detail["role_name"] == "抢险队员"
    assert missed["zhao"].detail["recipient_name"] == "赵队长" and missed["zhao"].detail["escalation_level"] == 1
    assert "wang" not in missed
    escalations = of_kind(entries, "escalated", "muster-crew")
    assert [e.detail["names"] for e in escalations] == [["赵队长"], ["陈总"]]
    assert escalations[0].detail["silent_names"] == ["李娜"]

    started = of_kind(entries, "step.started", "muster-crew")[0].at
    reminded = of_kind(entries, "reminder.sent", "muster-crew")[0].at
    first, second = (e.at for e in escalations)
    assert 1.8 <= (reminded - started).total_seconds() <= 3.0, "the repeat comes when `within: 2s` ends"
    assert 2.8 <= (first - started).total_seconds() <= 4.5, "escalation after within 2s + every 1s"
    assert 1.8 <= (second - first).total_seconds() <= 3.0, "the next level after the first's `within: 2s`"

    (generated,) = of_kind(entries, "report.generated")
    text = "".join(extract_text(Path(generated.detail["path"])).split())
    accountability = text[text.index("五、履职与问责记录") : text.index("六、行动日志")]
    assert "李娜抢险队员未在规定时间内确认" in accountability
    assert "因李娜未确认，通知赵队长督促落实" in accountability
    assert "赵队长抢险队长接到第1级升级通知后未确认" in accountability
    assert "王伟" not in accountability


def test_an_ack_from_the_level_above_stops_the_climb(service: ServeProcess, sim: SimulatorThread) -> None:
    """赵队长 answers the escalation after 0.3 s: nobody above him is paged."""
    sim.respond(person("wang"), after_ms=100)
    sim.respond(person("zhao"), after_ms=300)
    sim.respond(person("county"), after_ms=100)
    incident_id = report(service)
    entries = finished_log(service, incident_id)

    assert [e.detail["names"] for e in of_kind(entries, "escalated", "muster-crew")] == [["赵队长"]]
    assert {e.recipient for e in of_kind(entries, "ack.received", "muster-crew")} == {"wang", "zhao"}
    assert "chen" not in {r["body"]["recipient"]["id"] for r in messages(sim, incident_id, "muster-crew")}
    assert {e.recipient for e in of_kind(entries, "ack.missed", "muster-crew")} == {"li"}


def test_someone_who_answers_only_the_repeat_is_not_missed(service: ServeProcess, sim: SimulatorThread) -> None:
    """李娜 ignores her first message and answers the reminder: no miss, no escalation."""
    sim.respond(person("wang"), after_ms=100)
    sim.respond(person("li"), skip=1, after_ms=100)
    sim.respond(person("county"), after_ms=100)
    incident_id = report(service)
    entries = finished_log(service, incident_id)

    assert {e.recipient for e in of_kind(entries, "ack.received", "muster-crew")} == {"wang", "li"}
    assert of_kind(entries, "ack.missed", "muster-crew") == []
    assert of_kind(entries, "escalated", "muster-crew") == []
    assert recipients_by_round(messages(sim, incident_id, "muster-crew"))[1] == {"li"}


def test_the_county_report_is_met_at_the_moment_the_county_answers(
    service: ServeProcess, sim: SimulatorThread
) -> None:
    """The deadline is met when the county's ack arrives (by link), and that exact time is what is recorded."""
    for crew in ("wang", "li"):
        sim.respond(person(crew), after_ms=100)
    sim.respond(person("county"), after_ms=500, note="已收悉")
    incident_id = report(service)
    entries = finished_log(service, incident_id)

    (acked,) = of_kind(entries, "ack.received", "report-county")
    (met,) = of_kind(entries, "deadline.met", "report-county")
    assert acked.detail["via"] == "link" and acked.detail["note"] == "已收悉"
    assert datetime.fromisoformat(met.detail["at"]) == acked.at
    sent = of_kind(entries, "message.delivered", "report-county")[0].at
    assert 0.4 <= (acked.at - sent).total_seconds() <= 2.0


def test_a_report_nobody_acknowledges_is_warned_about_then_missed_on_time(
    service: ServeProcess, sim: SimulatorThread
) -> None:
    """The county stays silent, the deadline 5 s away: a warning 2 s before, the miss at it, each to the second."""
    for crew in ("wang", "li"):
        sim.respond(person(crew), after_ms=100)
    occurred = datetime.now(UTC) - timedelta(hours=1) + timedelta(seconds=5)
    incident_id = report(service, occurred_at=occurred.isoformat())
    entries = finished_log(service, incident_id)

    due = occurred.replace(microsecond=occurred.microsecond // 1000 * 1000) + timedelta(hours=1)
    (warned,) = of_kind(entries, "deadline.warned", "report-county")
    (missed,) = of_kind(entries, "deadline.missed", "report-county")
    assert abs((warned.at - (due - timedelta(seconds=2))).total_seconds()) < 1.0
    assert abs((missed.at - due).total_seconds()) < 1.0
    assert of_kind(entries, "deadline.met", "report-county") == []
    warnings = [r for r in messages(sim, incident_id, "report-county") if r["body"]["delivery_key"].endswith("/50")]
    assert warnings and "时限预警" in warnings[0]["body"]["text"]


def test_scripted_answers_are_sent_once_per_link_and_the_service_accepts_them(
    service: ServeProcess, sim: SimulatorThread
) -> None:
    """Every answer the simulator sent got 200 from the service; none was sent twice for one link."""
    sim.respond("*", after_ms=50)
    incident_id = report(service)
    finished_log(service, incident_id)
    answers = [a for a in sim.answers() if a["status"] is not None]
    assert answers and all(a["status"] == 200 for a in answers), answers
    assert len({a["link_id"] for a in answers}) == len(answers)



def test_a_task_confirmed_by_link_with_a_note_is_completed_in_time_without_a_reminder(
    service: ServeProcess, sim: SimulatorThread
) -> None:
    """赵队长 confirms the valve closed 0.5 s after the task arrives: completed with his note, met at that moment."""
    sim.respond(person("zhao"), after_ms=500, note="阀门已关")
    incident_id = report(service, "task-drill")
    entries = finished_log(service, incident_id)

    (assigned,) = of_kind(entries, "task.assigned", "close-valve")
    assert assigned.detail["names"] == ["赵队长"]
    (done,) = of_kind(entries, "task.completed", "close-valve")
    assert done.recipient == "zhao" and done.detail["note"] == "阀门已关" and done.detail["via"] == "link"
    assert done.detail["late"] is False
    (met,) = of_kind(entries, "deadline.met", "close-valve")
    assert datetime.fromisoformat(met.detail["at"]) == done.at
    assert of_kind(entries, "reminder.sent", "close-valve") == []


def test_a_task_confirmed_after_its_deadline_is_reminded_then_missed_and_logged_late(
    service: ServeProcess, sim: SimulatorThread
) -> None:
    """赵队长 lets the task sit and answers the reminder 2.5 s later: reminder at 2 s, missed at 4 s, done late."""
    sim.respond(person("zhao"), skip=1, after_ms=2500, note="已关，晚了")
    incident_id = report(service, "task-drill")
    entries = finished_log(service, incident_id, also="task.completed")

    (assigned,) = of_kind(entries, "task.assigned", "close-valve")
    due = datetime.fromisoformat(assigned.detail["deadline"])
    (reminded,) = of_kind(entries, "reminder.sent", "close-valve")
    assert abs((reminded.at - (due - timedelta(seconds=2))).total_seconds()) < 1.0
    (missed,) = of_kind(entries, "deadline.missed", "close-valve")
    assert abs((missed.at - due).total_seconds()) < 1.0
    (done,) = of_kind(entries, "task.completed", "close-valve")
    assert done.at > due and done.detail["late"] is True and done.detail["note"] == "已关，晚了"
    reminders = [r for r in messages(sim, incident_id, "close-valve") if "任务提醒" in r["body"]["text"]]
    assert [r["body"]["recipient"]["id"] for r in reminders] == ["zhao"]


def test_an_ack_after_the_chase_but_before_the_legal_deadline_still_meets_it(
    service: ServeProcess, sim: SimulatorThread
) -> None:
    """The ack window (1 s) closes long before the deadline (5 s): the county's ack at 3 s meets it; no early miss."""
    sim.respond(person("county"), after_ms=3000)
    occurred = datetime.now(UTC) - timedelta(hours=1) + timedelta(seconds=5)
    incident_id = report(service, "report-drill", occurred_at=occurred.isoformat())
    entries = finished_log(service, incident_id)

    assert of_kind(entries, "deadline.missed", "report-county") == []
    (acked,) = of_kind(entries, "ack.received", "report-county")
    (met,) = of_kind(entries, "deadline.met", "report-county")
    assert datetime.fromisoformat(met.detail["at"]) == acked.at
    assert of_kind(entries, "ack.missed", "report-county"), "the ack window's miss is still on record, by name"
