"""End to end: `muster trigger` → signed messages at the simulator → a verifiable log → a readable PDF."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notifications.simulator import SimulatorThread
from reports import extract_text

ROOT = Path(__file__).resolve().parents[2]
MUSTER = str(Path(sys.executable).with_name("muster"))
SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLWUyZS10ZXN0cy0xMjM0NTY="

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorThread]:
    """The responder simulator on loopback, checking Standard Webhooks signatures."""
    with SimulatorThread(webhook_secret=SECRET) as sim:
        yield sim


def _env(home: Path, simulator: SimulatorThread, prefect_api: str) -> dict[str, str]:
    return os.environ | {
        "MUSTER_HOME": str(home),
        "MUSTER_RESPONDERS_URL": simulator.url,
        "MUSTER_WEBHOOK_SECRET": SECRET,
        "PREFECT_API_URL": prefect_api,
    }


def _muster(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MUSTER, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def triggered(tmp_path_factory: pytest.TempPathFactory, simulator: SimulatorThread, prefect_api: str) -> dict[str, Any]:
    """Trigger gas-explosion once for a 较大 accident (4 deaths) and keep what happened."""
    home = tmp_path_factory.mktemp("muster-home")
    simulator.reset()
    env = _env(home, simulator, prefect_api)
    result = _muster(
        "trigger",
        "gas-explosion",
        "--incident",
        "examples/demo/incident.yaml",
        "--set",
        "deaths=4",
        "--config",
        "examples/demo",
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return {"summary": json.loads(result.stdout), "records": simulator.records(), "env": env, "home": home}


def test_trigger_json_has_the_outcome_fields(triggered: dict[str, Any]) -> None:
    """`trigger --json` prints one object with the incident, run, grade, report and counts."""
    summary = triggered["summary"]
    assert summary["grade"] == "relatively_serious"
    assert summary["level"] == "II"
    assert summary["sent"] == summary["delivered"] > 0
    assert summary["failed"] == 0
    assert summary["run_id"] and summary["incident_id"].startswith("INC-")
    assert Path(summary["report"]).is_file()


def test_every_message_arrived_signed(triggered: dict[str, Any]) -> None:
    """Every request the simulator received carried a valid Standard Webhooks signature."""
    records = triggered["records"]
    assert records
    assert all(r["signature_valid"] is True and r["status"] == 200 for r in records)


def test_messages_reach_each_role_holder_in_their_language(triggered: dict[str, Any]) -> None:
    """The rescue step reaches all four holders of its roles, Chinese speakers in Chinese, Alex in English."""
    rescue = {
        r["body"]["recipient"]["id"]: r["body"]
        for r in triggered["records"]
        if r["path"] == "/webhook/muster" and r["body"]["step_id"] == "rescue"
    }
    assert set(rescue) == {"wang-fang", "alex-morgan", "zhao-lei", "sun-li"}
    assert "燃气爆炸" in rescue["wang-fang"]["text"] and "王芳" in rescue["wang-fang"]["text"]
    assert "Gas explosion" in rescue["alex-morgan"]["text"]
    assert rescue["alex-morgan"]["language"] == "en"


def test_rescue_goes_out_before_the_upward_report(triggered: dict[str, Any]) -> None:
    """People first: every rescue message arrives before any message of the 1-hour report."""
    order = [r["body"]["step_id"] for r in triggered["records"] if r["path"] == "/webhook/muster"]
    assert max(i for i, s in enumerate(order) if s == "rescue") < min(
        i for i, s in enumerate(order) if s == "report-county"
    )


def test_county_report_carries_the_six_items(triggered: dict[str, Any]) -> None:
    """The 1-hour report to the county holds the six items of a Decree 493 art. 12 report."""
    texts = [
        r["body"]["text"]
        for r in triggered["records"]
        if r["path"] == "/webhook/muster" and r["body"]["step_id"] == "report-county" and r["body"]["language"] == "zh"
    ]
    assert texts
    for item in ("一、事故单位", "二、时间地点", "三、事故经过", "四、伤亡与损失", "五、已采取措施", "六、其他"):
        assert item in texts[0]
    assert "较大" in texts[0]


def test_higher_level_steps_run_for_a_relatively_serious_accident(triggered: dict[str, Any]) -> None:
    """At level II the public broadcast is called and the city office gets its report."""
    paths = [r["path"] for r in triggered["records"]]
    assert "/webhook/broadcast" in paths
    steps = {r["body"]["step_id"] for r in triggered["records"] if r["path"] == "/webhook/muster"}
    assert "report-city" in steps


def test_log_verifies_and_shows_the_timeline(triggered: dict[str, Any]) -> None:
    """`muster verify` passes on the fresh log, and `muster log --json` lists the run's entries."""
    incident = triggered["summary"]["incident_id"]
    verified = _muster("verify", incident, env=triggered["env"])
    assert verified.returncode == 0, verified.stderr
    entries = json.loads(_muster("log", incident, "--json", env=triggered["env"]).stdout)
    kinds = [e["kind"] for e in entries]
    assert kinds[:2] == ["incident.reported", "incident.graded"]
    assert "deadline.met" in kinds and kinds[-1] == "report.generated"
    assert all(e["at"].endswith("Z") and len(e["at"]) == 24 for e in entries)


def test_pdf_text_holds_the_chinese_title_and_step_names(triggered: dict[str, Any]) -> None:
    """The PDF's extracted text gives back the Chinese title and the names of the steps."""
    text = extract_text(Path(triggered["summary"]["report"]))
    assert "城东燃气调压站燃气爆炸事故" in text
    for step in ("组织抢救遇险人员、救治伤员", "切断气源、控制危险源", "1小时内向县级应急管理部门报告"):
        assert step in text


def test_verify_names_the_first_altered_entry(triggered: dict[str, Any]) -> None:
    """Altering one stored field makes `muster verify` exit 1 and name that entry (run last: it tampers)."""
    incident = triggered["summary"]["incident_id"]
    db = sqlite3.connect(triggered["home"] / "muster.db")
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("UPDATE entries SET recipient = 'someone-else' WHERE incident_id = ? AND seq = 9", (incident,))
    db.commit()
    db.close()
    result = _muster("verify", incident, env=triggered["env"])
    assert result.returncode == 1
    assert "#9" in result.stderr
