"""Ack and task links at the service: a page on GET, a record on POST, and every bad token refused with why."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from flows import RunOptions
from incidents import EntryKind, Incident, SQLiteActionLog, report_incident
from muster.service import RunLauncher, ServiceConfig, ServiceState, create_app
from responders import AckClaim, ack_key, issue_ack_token

KEY = bytes(range(32))


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, SQLiteActionLog, str]]:
    """The real app over a log holding one incident; links signed with a known key."""
    log = SQLiteActionLog(tmp_path / "muster.db")
    incident = Incident(type="gas_explosion", title="城东调压站燃气泄漏")
    report_incident(log, incident, source="test")
    state = ServiceState(
        config=ServiceConfig(),
        log=log,
        sources=[],
        prefect_api="http://unused",
        launcher=RunLauncher(RunOptions(home=str(tmp_path), config_dir=str(tmp_path)), log),
        ack_keys=[KEY],
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url="http://m") as client:
        yield client, log, incident.id
    log.close()


def _token(
    incident_id: str, *, responder: str = "wang", purpose: str = "ack", expires_in_s: int = 3600, key: bytes = KEY
) -> str:
    claim = AckClaim(
        incident_id=incident_id,
        step_id="rescue",
        responder_id=responder,
        round=0,
        purpose=purpose,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in_s),
    )  # type: ignore[arg-type]
    return issue_ack_token(claim, key)


async def test_get_shows_a_confirmation_page_and_records_nothing(
    service: tuple[httpx.AsyncClient, SQLiteActionLog, str],
) -> None:
    """Opening the link (as a chat preview would) only shows the page with its confirm button."""
    client, log, incident_id = service
    page = await client.get(f"/ack/{_token(incident_id)}")
    assert page.status_code == 200 and 'id="confirm"' in page.text and "城东调压站燃气泄漏" in page.text
    assert log.of_kind(incident_id, EntryKind.ACK_RECEIVED) == []


async def test_post_records_the_ack_with_its_note_once(
    service: tuple[httpx.AsyncClient, SQLiteActionLog, str],
) -> None:
    """The form post records the ack with the note; the same link posted again is a replay (410)."""
    client, log, incident_id = service
    token = _token(incident_id)
    done = await client.post(
        f"/ack/{token}",
        content="note=%E5%B7%B2%E5%88%B0%E8%BE%BE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "已确认收到" in done.text
    (entry,) = log.of_kind(incident_id, EntryKind.ACK_RECEIVED)
    assert entry.recipient == "wang" and entry.detail["note"] == "已到达" and entry.detail["via"] == "link"
    again = await client.post(
        f"/ack/{token}", content="note=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert again.status_code == 410 and "already used" in again.text
    assert len(log.of_kind(incident_id, EntryKind.ACK_RECEIVED)) == 1


def _tampered(token: str, responder: str) -> str:
    payload, mac = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields[3] = responder  # claim to be someone else, keeping the original signature
    forged = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{forged}.{mac}"


@pytest.mark.parametrize(
    ("make", "status", "words"),
    [
        (lambda i: _tampered(_token(i), "li"), 403, "not valid"),
        (lambda i: _token(i)[:-3] + "AAA", 403, "not valid"),
        (lambda i: _token(i, key=bytes(32)), 403, "not valid"),
        (lambda i: _token(i, expires_in_s=-5), 410, "expired"),
        (lambda i: "garbage-that-is-no-token", 403, "not valid"),
    ],
    ids=["other-responder", "altered-mac", "other-key", "expired", "malformed"],
)
async def test_bad_tokens_get_403_or_410_with_a_page_that_says_why(
    service: tuple[httpx.AsyncClient, SQLiteActionLog, str], make: object, status: int, words: str
) -> None:
    """Tampered, foreign-key, malformed and expired links are refused on GET, POST and the JSON API alike."""
    client, log, incident_id = service
    token = make(incident_id)  # type: ignore[operator]
    page = await client.get(f"/ack/{token}")
    assert page.status_code == status and words in page.text
    posted = await client.post(
        f"/ack/{token}", content="note=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert posted.status_code == status
    api = await client.post("/v1/acks", json={"token": token, "note": ""})
    assert api.status_code == status and words in api.json()["error"]
    assert log.of_kind(incident_id, EntryKind.ACK_RECEIVED) == []


async def test_the_json_api_confirms_a_task_done(service: tuple[httpx.AsyncClient, SQLiteActionLog, str]) -> None:
    """A task link's token confirms the task through the JSON API, recorded as task.completed."""
    client, log, incident_id = service
    response = await client.post("/v1/acks", json={"token": _token(incident_id, purpose="task"), "note": "阀门已关"})
    assert response.status_code == 200 and response.json()["status"] == "task.completed"
    (entry,) = log.of_kind(incident_id, EntryKind.TASK_COMPLETED)
    assert entry.detail["note"] == "阀门已关" and entry.detail["via"] == "api"


def test_the_service_key_is_shared_through_the_data_directory(tmp_path: Path) -> None:
    """The flow and the service read the same key from MUSTER_HOME, so links the flow signs verify at the service."""
    assert ack_key(tmp_path) == ack_key(tmp_path)
