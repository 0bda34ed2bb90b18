"""The service's intake: every format, the door's guards, dedup, updates that widen a running plan."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows import RunOptions, prefect_api
from incidents import EntryKind, SQLiteActionLog
from muster.service import RunLauncher, ServiceState, create_app, load_service_config
from notifications.simulator import SimulatorThread

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLXNlcnZpY2UtdGVzdHMtMTIz"
DUTY = {"Authorization": "Bearer duty-office-demo-token"}
PROMETHEUS = {"Authorization": "Bearer prometheus-demo-token"}
CAP = {"Authorization": "Bearer cap-demo-token", "Content-Type": "application/cap+xml"}
ROUTING_KEY = "0123456789abcdef0123456789abcdef"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorThread]:
    """The responder simulator, checking the webhook signature the demo channels use."""
    with SimulatorThread(webhook_secret=SECRET) as sim:
        yield sim


@pytest.fixture
async def service(
    tmp_path: Path, simulator: SimulatorThread, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, SQLiteActionLog]]:
    """The real app over a fresh action log, runs started in this process against the test Prefect server."""
    monkeypatch.setenv("MUSTER_RESPONDERS_URL", simulator.url)
    monkeypatch.setenv("MUSTER_WEBHOOK_SECRET", SECRET)
    simulator.reset()
    options = RunOptions(home=str(tmp_path), config_dir=str(DEMO))
    log = SQLiteActionLog(tmp_path / "muster.db")
    config = load_service_config(DEMO)
    state = ServiceState(
        config=config,
        log=log,
        launcher=RunLauncher(options, log),
        sources=list(config.sources),
        prefect_api=prefect_api,
    )
    with prefect_api_context(prefect_api):
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://muster") as client:
            yield client, log
        await state.launcher.shutdown(60)
    log.close()


def prefect_api_context(url: str) -> Any:
    return prefect_api(url)


def _entries(log: SQLiteActionLog) -> list[Any]:
    return [e for summary in log.incidents() for e in log.entries(summary.incident_id)]


async def _until(predicate: Any, timeout: float = 60.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out waiting")


def _incident(**fields: Any) -> dict[str, Any]:
    return {
        "playbook": "gas-explosion",
        "incident": {"title": "城东燃气调压站燃气泄漏", "type": "gas_explosion", "location": "城东调压站"} | fields,
    }


async def test_muster_json_is_logged_before_the_answer_and_starts_the_plan(
    service: tuple[httpx.AsyncClient, SQLiteActionLog], simulator: SimulatorThread
) -> None:
    """An accepted report is in the action log when the 202 comes back, and the rescue messages follow."""
    client, log = service
    response = await client.post("/v1/incidents", json=_incident(), headers=DUTY)
    assert response.status_code == 202, response.text
    incident_id = response.json()["incident_id"]
    kinds = [e.kind for e in log.entries(incident_id)]
    assert kinds[:2] == ["incident.reported", "incident.graded"]
    assert log.entries(incident_id)[0].detail["source"] == "muster:duty-office"
    await _until(lambda: any(r["body"] and r["body"].get("step_id") == "rescue" for r in simulator.records()))


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 403), (PROMETHEUS, 403), ({"Authorization": "Basic eDp5"}, 401)],
    ids=["missing", "wrong", "other-source", "not-bearer"],
)
async def test_a_missing_or_wrong_token_is_refused_and_records_nothing(
    service: tuple[httpx.AsyncClient, SQLiteActionLog], headers: dict[str, str], status: int
) -> None:
    """401 without a bearer token, 403 with one that is wrong or belongs to a source of another format."""
    client, log = service
    response = await client.post("/v1/incidents", json=_incident(), headers=headers)
    assert response.status_code == status
    assert _entries(log) == []


async def test_an_oversized_body_is_refused_with_413(service: tuple[httpx.AsyncClient, SQLiteActionLog]) -> None:
    """A body over max_body_bytes is refused before it is parsed, and nothing is recorded."""
    client, log = service
    body = json.dumps(_incident(description="x" * 1_100_000))
    response = await client.post("/v1/incidents", content=body, headers=DUTY | {"Content-Type": "application/json"})
    assert response.status_code == 413
    assert _entries(log) == []


async def test_a_wrong_content_type_is_refused_with_415(service: tuple[httpx.AsyncClient, SQLiteActionLog]) -> None:
    """JSON endpoints take application/json only."""
    client, log = service
    response = await client.post("/v1/incidents", content=b"title=x", headers=DUTY | {"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    assert _entries(log) == []


async def test_malformed_json_says_where_it_broke(service: tuple[httpx.AsyncClient, SQLiteActionLog]) -> None:
    """Malformed JSON gets 400 with line and column, and nothing is recorded."""
    client, log = service
    response = await client.post(
        "/v1/incidents", content=b'{"incident": {"title": }', headers=DUTY | {"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "line 1 column" in response.json()["error"]
    assert _entries(log) == []


async def test_invalid_fields_get_422_with_field_paths(service: tuple[httpx.AsyncClient, SQLiteActionLog]) -> None:
    """A wrong field is reported by its path (incident.deaths), and nothing is recorded."""
    client, log = service
    response = await client.post("/v1/incidents", json=_incident(deaths="many"), headers=DUTY)
    assert response.status_code == 422
    assert any(p["path"] == "incident.deaths" for p in response.json()["problems"])
    assert _entries(log) == []


async def test_an_unknown_playbook_is_refused_before_anything_is_recorded(
    service: tuple[httpx.AsyncClient, SQLiteActionLog],
) -> None:
    """Naming a playbook that does not exist gets 422 naming the known ones, and leaves no partial record."""
    client, log = service
    response = await client.post("/v1/incidents", json=_incident() | {"playbook": "volcano"}, headers=DUTY)
    assert response.status_code == 422
    assert "gas-explosion" in json.dumps(response.json())
    assert _entries(log) == []


async def test_an_incident_without_a_type_takes_its_plans_type(
    service: tuple[httpx.AsyncClient, SQLiteActionLog],
) -> None:
    """A report that names its plan but not its type gets the plan's type, so a fire keeps its 7-day window."""
    client, log = service
    body = {"playbook": "crowded-venue-fire", "incident": {"title": "商场三楼起火"}}
    response = await client.post("/v1/incidents", json=body, headers=DUTY)
    assert response.status_code == 202, response.text
    (reported,) = log.of_kind(response.json()["incident_id"], EntryKind.INCIDENT_REPORTED)
    assert reported.detail["incident"]["type"] == "venue_fire"


async def test_an_update_naming_no_open_incident_is_unknown_and_records_nothing(
    service: tuple[httpx.AsyncClient, SQLiteActionLog],
) -> None:
    """An update whose dedup_key matches nothing open says so (status unknown); no incident is opened for it."""
    client, log = service
    body = {"action": "update", "dedup_key": "never-reported", "incident": {"deaths": 2}}
    response = await client.post("/v1/incidents", json=body, headers=DUTY)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "unknown"
    assert _entries(log) == []


async def test_pagerduty_trigger_repeat_acknowledge_resolve(
    service: tuple[httpx.AsyncClient, SQLiteActionLog],
) -> None:
    """PagerDuty v2: 202 in PagerDuty's shape; a repeat attaches without a second run; ack and resolve are logged."""
    client, log = service
    trigger = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "station-7-methane",
        "payload": {
            "summary": "Methane 4.6% LEL at station 7",
            "source": "scada-7",
            "severity": "critical",
            "custom_details": {"location": "城东调压站"},
        },
    }
    first = await client.post("/v2/enqueue", json=trigger)
    assert first.status_code == 202
    assert first.json() | {"incident_id": None} == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "station-7-methane",
        "incident_id": None,
    }
    incident_id = first.json()["incident_id"]
    repeat = await client.post("/v2/enqueue", json=trigger)
    assert repeat.json()["incident_id"] == incident_id
    await client.post(
        "/v2/enqueue",
        json={"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": "station-7-methane"},
    )
    await client.post(
        "/v2/enqueue", json={"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "station-7-methane"}
    )
    kinds = [e.kind for e in log.entries(incident_id)]
    assert kinds.count("incident.reported") == 1
    assert "incident.repeated" in kinds and "ack.received" in kinds and "incident.closed" in kinds
    assert len(log.incidents()) == 1
    await _until(lambda: "run.finished" in [e.kind for e in log.entries(incident_id)])
    assert [e.kind for e in log.entries(incident_id)].count("run.started") == 1


async def test_pagerduty_bad_event_gets_400_in_pagerduty_shape(
    service: tuple[httpx.AsyncClient, SQLiteActionLog],
) -> None:
    """An invalid PagerDuty event is answered like PagerDuty answers it, and nothing is recorded."""
    client, log = service
    response = await client.post(
        "/v2/enqueue",
        json={
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "payload": {"summary": "x", "source": "y", "severity": "fatal"},
        },
    )
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert any("payload.severity" in e for e in response.json()["errors"])
    assert _entries(log) == []


def _alertmanager(status: str) -> dict[str, Any]:
    labels = {"alertname": "GasLeakHigh", "site": "east-station", "severity": "page"}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="GasLeakHigh"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "muster",
        "groupLabels": {"alertname": "GasLeakHigh"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "燃气浓度超限 Gas concentration over limit"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels | {"instance": "sensor-12"},
                "annotations": {"description": "CH4 25% LEL"},
                "startsAt": "2026-11-29T08:10:00Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-29T09:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "c0ffee",
            }
        ],
    }


async def test_an_alertmanager_group_opens_one_incident_and_resolved_closes_it(
    service: tuple[httpx.AsyncClient, SQLiteActionLog],
) -> None:
    """One incident per alert group, its plan chosen by the mapping rules; the resolved webhook closes it."""
    client, log = service
    opened = await client.post("/v1/alertmanager", json=_alertmanager("firing"), headers=PROMETHEUS)
    assert opened.status_code == 202
    (result,) = opened.json()["results"]
    assert result["status"] == "new" and result["playbook"] == "gas-explosion"
    closed = await client.post("/v1/alertmanager", json=_alertmanager("resolved"), headers=PROMETHEUS)
    assert closed.json()["results"][0] == result | {"status": "closed", "playbook": None, "grade": None}
    assert log.latest(result["incident_id"], [EntryKind.INCIDENT_CLOSED]) is not None


EXERCISE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>RD-YJ-2026-1129-01</identifier>
  <sender>rdyjglj@12379.cn</sender>
  <sent>2026-11-29T09:30:00+08:00</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Restricted</scope>
  {references}
  <info>
    <language>zh-CN</language>
    <category>Safety</category>
    <event>危险化学品泄漏</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>洋口化学工业园B罐区液氨泄漏</headline>
    <description>B罐区3号液氨储罐出料管线法兰泄漏。</description>
    <area><areaDesc>江苏省南通市如东县洋口化学工业园</areaDesc></area>
  </info>
</alert>"""


async def test_a_cap_exercise_is_a_drill_and_cancel_closes_it(
    service: tuple[httpx.AsyncClient, SQLiteActionLog],
) -> None:
    """CAP status Exercise starts a drill; a Cancel referencing the alert closes the incident."""
    client, log = service
    alert = EXERCISE.format(status="Exercise", msg_type="Alert", references="")
    response = await client.post("/v1/cap", content=alert.encode(), headers=CAP)
    assert response.status_code == 202, response.text
    (result,) = response.json()["results"]
    assert result["playbook"] == "hazchem-leak"
    reported = log.entries(result["incident_id"])[0]
    assert reported.detail["incident"]["drill"] is True
    cancel = EXERCISE.format(
        status="Exercise",
        msg_type="Cancel",
        references="<references>rdyjglj@12379.cn,RD-YJ-2026-1129-01,2026-11-29T09:30:00+08:00</references>",
    )
    cancel = cancel.replace("RD-YJ-2026-1129-01</identifier>", "RD-YJ-2026-1129-02</identifier>")
    closed = await client.post("/v1/cap", content=cancel.encode(), headers=CAP)
    assert closed.json()["results"][0]["status"] == "closed"


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>',
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>',
        "<alert><unclosed></alert>",
    ],
    ids=["entity-expansion", "external-entity", "malformed"],
)
async def test_hostile_or_malformed_cap_is_refused_and_records_nothing(
    service: tuple[httpx.AsyncClient, SQLiteActionLog], xml: str
) -> None:
    """Entity expansion, external entities and broken XML get 422 with a reason, never the file's content."""
    client, log = service
    response = await client.post("/v1/cap", content=xml.encode(), headers=CAP)
    assert response.status_code == 422
    assert "root:" not in response.text
    assert _entries(log) == []


async def test_an_update_that_raises_the_grade_widens_the_running_plan(
    service: tuple[httpx.AsyncClient, SQLiteActionLog], simulator: SimulatorThread
) -> None:
    """More deaths re-grade the incident, log the 补报, raise the level and run the higher level's steps."""
    client, log = service
    simulator.script(path="/webhook/muster", delay_ms=300)  # keep the first run going while the update lands
    try:
        first = await client.post("/v1/incidents", json=_incident() | {"dedup_key": "east-7"}, headers=DUTY)
        incident_id = first.json()["incident_id"]
        await _until(lambda: "step.started" in [e.kind for e in log.entries(incident_id)])  # the plan is running
        update = {"action": "update", "dedup_key": "east-7", "incident": {"deaths": 4}}
        response = await client.post("/v1/incidents", json=update, headers=DUTY)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "updated" and response.json()["grade"] == "relatively_serious"
        await _until(lambda: "report.generated" in [e.kind for e in log.entries(incident_id)], timeout=90)
    finally:
        simulator.clear_scripts()
    entries = log.entries(incident_id)
    kinds = [e.kind for e in entries]
    assert "report.supplementary" in kinds
    supplementary = next(e for e in entries if e.kind == "report.supplementary")
    assert supplementary.detail["required"] is True and supplementary.detail["within_days"] == 30
    levels = [e.detail["level"] for e in entries if e.kind == "level.set"]
    assert levels[0] == "IV" and levels[-1] == "II"
    started = {e.step for e in entries if e.kind == "step.started"}
    assert {"report-city", "report-province", "broadcast-warning"} <= started
    assert log.verify(incident_id) == len(entries)


def test_environment_is_not_leaked_by_fixtures() -> None:
    """The service fixture restores the environment it changed (monkeypatch), so other tests see the defaults."""
    assert os.environ.get("MUSTER_WEBHOOK_SECRET", "") != SECRET
