"""The responder simulator: a real loopback server that checks signatures, records, and misbehaves on cue."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta

import httpx
import pytest

from muster.errors import ChannelError
from notifications import sign_standard_webhook
from notifications.simulator import Simulator, SimulatorThread

BODY = b'{"type": "muster.message", "text": "hello"}'


def signed_headers(secret: str, body: bytes = BODY, *, age_s: int = 0) -> dict[str, str]:
    timestamp = int(time.time()) - age_s
    return {
        "content-type": "application/json",
        "webhook-id": "msg_test",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard_webhook(secret, "msg_test", timestamp, body),
    }


async def post(url: str, body: bytes = BODY, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers or {"content-type": "application/json"})


async def test_unsigned_simulator_accepts_and_records_everything() -> None:
    """Without a secret a webhook is answered 200 and recorded in full with no signature verdict."""
    async with Simulator() as simulator:
        response = await post(f"{simulator.url}/webhook/ops")
        [record] = simulator.records
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert record["seq"] == 1
    assert (record["path"], record["name"], record["status"]) == ("/webhook/ops", "ops", 200)
    assert record["body"] == {"type": "muster.message", "text": "hello"}
    assert record["signature_valid"] is None
    assert record["headers"]["content-type"] == "application/json"
    assert datetime.fromisoformat(record["received_at"]).utcoffset() == timedelta(0)


async def test_valid_signature_is_accepted(simulator: Simulator, webhook_secret: str) -> None:
    """A fresh Standard Webhooks signature is answered 200 and recorded as valid."""
    response = await post(f"{simulator.url}/webhook/ops", headers=signed_headers(webhook_secret))
    assert response.status_code == 200
    assert simulator.records[0]["signature_valid"] is True
    assert simulator.records[0]["headers"]["webhook-id"] == "msg_test"


async def test_missing_signature_is_refused_and_still_recorded(simulator: Simulator) -> None:
    """No signature headers: 401 invalid signature, and the record is kept with signature_valid False."""
    response = await post(f"{simulator.url}/webhook/ops")
    assert (response.status_code, response.json()) == (401, {"error": "invalid signature"})
    assert [(r["signature_valid"], r["status"]) for r in simulator.records] == [(False, 401)]


async def test_signature_older_than_five_minutes_is_refused(simulator: Simulator, webhook_secret: str) -> None:
    """A correct signature made six minutes ago is refused as a replay."""
    response = await post(f"{simulator.url}/webhook/ops", headers=signed_headers(webhook_secret, age_s=360))
    assert response.status_code == 401


async def test_body_that_is_not_json_is_refused() -> None:
    """A webhook body that is not a JSON object is answered 400."""
    async with Simulator() as simulator:
        response = await post(f"{simulator.url}/webhook/ops", body=b"not json")
        assert response.status_code == 400
        assert simulator.records[0]["body"] is None


async def test_script_over_http_fails_then_recovers() -> None:
    """POST /_sim/script fail_times=2: two scripted failures with Retry-After, then normal answers."""
    async with Simulator() as simulator, httpx.AsyncClient() as client:
        script = {"path": "/webhook/ops", "fail_times": 2, "fail_status": 429, "retry_after_s": 3}
        assert (await client.post(f"{simulator.url}/_sim/script", json=script)).status_code == 200
        answers = [await post(f"{simulator.url}/webhook/ops") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["retry-after"] == "3"
    assert [r["status"] for r in simulator.records] == [429, 429, 200]


async def test_permanent_status_is_answered_every_time() -> None:
    """A permanent_status script answers that status to every request on its path."""
    async with Simulator() as simulator:
        simulator.script("/webhook/ops", permanent_status=410)
        answers = [await post(f"{simulator.url}/webhook/ops") for _ in range(3)]
    assert [a.status_code for a in answers] == [410, 410, 410]


async def test_exact_path_script_wins_over_the_wildcard() -> None:
    """A '*' script applies to every path except those with their own script."""
    async with Simulator() as simulator:
        simulator.script("*", permanent_status=500)
        simulator.script("/webhook/ok")
        wild, exact = await post(f"{simulator.url}/webhook/any"), await post(f"{simulator.url}/webhook/ok")
    assert (wild.status_code, exact.status_code) == (500, 200)


async def test_invalid_script_is_refused_with_its_problems() -> None:
    """An unknown field or a bad value in a script is a 400 listing each problem."""
    async with Simulator() as simulator, httpx.AsyncClient() as client:
        response = await client.post(f"{simulator.url}/_sim/script", json={"fail_times": -1, "explode": True})
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert any(p.startswith("fail_times") for p in problems)
    assert any(p.startswith("explode") for p in problems)


async def test_scripts_and_records_can_be_read_and_cleared_over_http() -> None:
    """GET /_sim/received filters by path; DELETE clears records; DELETE /_sim/script clears scripts."""
    async with Simulator() as simulator, httpx.AsyncClient() as client:
        await client.post(f"{simulator.url}/_sim/script", json={"path": "*", "permanent_status": 503})
        await post(f"{simulator.url}/webhook/a")
        assert (await client.delete(f"{simulator.url}/_sim/script")).json() == {"ok": True}
        await post(f"{simulator.url}/webhook/b")
        only_b = (await client.get(f"{simulator.url}/_sim/received", params={"path": "/webhook/b"})).json()
        everything = (await client.get(f"{simulator.url}/_sim/received")).json()
        await client.delete(f"{simulator.url}/_sim/received")
        after_clear = (await client.get(f"{simulator.url}/_sim/received")).json()
        health = (await client.get(f"{simulator.url}/_sim/healthz")).json()
    assert [(r["path"], r["status"]) for r in everything] == [("/webhook/a", 503), ("/webhook/b", 200)]
    assert [r["seq"] for r in only_b] == [2]
    assert after_clear == []
    assert health == {"ok": True}


async def test_stop_ends_a_hang_at_once() -> None:
    """A request hanging on a scripted hang does not keep stop() waiting for its 300 s."""
    simulator = Simulator()
    url = await simulator.start()
    simulator.script(hang=True)
    hanging = asyncio.create_task(post(f"{url}/webhook/ops"))
    while not simulator.records:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await simulator.stop()
    assert time.monotonic() - started < 3
    with pytest.raises(httpx.HTTPError):
        (await hanging).raise_for_status()


async def test_busy_port_is_a_channel_error_naming_it() -> None:
    """Starting on a port already in use raises ChannelError naming the address."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ChannelError, match=f"127.0.0.1:{port}"):
            await Simulator(port=port).start()


def test_malformed_secret_is_refused_at_construction() -> None:
    """A simulator cannot be built with a secret it could never verify with."""
    with pytest.raises(ChannelError):
        Simulator(webhook_secret="whsec_***")


def test_simulator_thread_serves_synchronous_code(webhook_secret: str) -> None:
    """SimulatorThread runs in the background: scripts, records (as copies) and reset work from plain code."""
    with SimulatorThread(webhook_secret=webhook_secret) as simulator, httpx.Client() as client:
        simulator.script("/webhook/ops", fail_times=1)
        url = f"{simulator.url}/webhook/ops"
        statuses = [client.post(url, content=BODY, headers=signed_headers(webhook_secret)).status_code for _ in "ab"]
        records = simulator.records(path="/webhook/ops")
        records[0]["status"] = 999  # a copy: the simulator's own record is untouched
        assert [r["status"] for r in simulator.records()] == [503, 200]
        simulator.reset()
        assert simulator.records() == []
    assert statuses == [503, 200]
    assert all(r["signature_valid"] for r in records)


def test_serve_forever_answers_until_sigterm() -> None:
    """serve_forever (the `muster simulator` command) serves on its port and exits cleanly on SIGTERM."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"from notifications.simulator import serve_forever; serve_forever({port}, None)"
    server = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        health = httpx.get(f"http://127.0.0.1:{port}/_sim/healthz")
        assert health.json() == {"ok": True}
        response = httpx.post(f"http://127.0.0.1:{port}/webhook/ops", content=BODY)
        received = httpx.get(f"http://127.0.0.1:{port}/_sim/received").json()
        assert response.status_code == 200
        assert json.loads(BODY) == received[0]["body"]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
