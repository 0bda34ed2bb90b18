"""The two delivery clients, aiohttp (what runs) and httpx (what a caller may pass), against loopback servers."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import aiohttp
import httpx
import pytest
import yarl
from aiohttp import web

from muster.errors import ChannelError
from notifications import Channel, DeliveryOutcome, DeliveryResult, DeliveryStatus, Message, deliver, delivery_client
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger
from notifications.transport import MAX_ANSWER_BYTES, DeliveryClient, HttpxDeliveryClient, _transport_failure

ChannelFactory = Callable[..., Channel]
MessageFactory = Callable[..., Message]
FAST = 0.001  # backoff base: retries follow each other within milliseconds
OTHER_SECRET = "whsec_" + "QUJD" * 8

# One endpoint per way a receiver can answer: scripts for the simulator, then the channel's own settings.
ANSWERS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "ok": ({}, {}),
    "flaky": ({"fail_times": 2, "fail_status": 503}, {}),
    "refusing": ({"permanent_status": 400}, {}),
    "throttled": ({"fail_times": 1, "fail_status": 429, "retry_after_s": 0.05}, {}),
    "overloaded": ({"fail_times": 5, "fail_status": 502}, {"max_attempts": 2}),
    "hanging": ({"hang": True}, {"timeout_s": 0.2, "max_attempts": 1}),
    "other-secret": ({}, {"secret": OTHER_SECRET}),
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def _deliver_every_answer(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, client: Any
) -> tuple[list[DeliveryOutcome], dict[str, list[tuple[int | None, bool | None, Any]]]]:
    """Each scripted answer once, through ``client`` (None: deliver's own aiohttp client); outcomes and arrivals."""
    simulator.reset()
    channels = {}
    for name, (script, settings) in ANSWERS.items():
        if script:
            simulator.script(f"/webhook/{name}", **script)
        channels[name] = make_channel(name=name, url=f"{simulator.url}/webhook/{name}", **settings)
    messages = [make_message(recipient_id=name, channel=name) for name in ANSWERS]
    outcomes = await deliver(messages, channels, ledger=MemoryLedger(), client=client, backoff_base=FAST)
    arrived: dict[str, list[tuple[int | None, bool | None, Any]]] = {}
    for record in simulator.records:
        arrived.setdefault(record["name"], []).append((record["status"], record["signature_valid"], record["body"]))
    return outcomes, arrived


def _seen(outcomes: list[DeliveryOutcome]) -> list[tuple[object, ...]]:
    return [(o.message.channel, o.result, o.attempts) for o in outcomes]


async def test_aiohttp_and_httpx_clients_give_the_same_result_for_the_same_answers(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """Delivered, retried, refused, throttled, exhausted, timed out, bad signature: equal results, equal arrivals."""
    through_aiohttp, arrived_aiohttp = await _deliver_every_answer(simulator, make_channel, make_message, None)
    async with httpx.AsyncClient() as client:
        through_httpx, arrived_httpx = await _deliver_every_answer(simulator, make_channel, make_message, client)

    assert _seen(through_aiohttp) == _seen(through_httpx)
    assert arrived_aiohttp == arrived_httpx
    assert {name: [status for status, _, _ in answers] for name, answers in arrived_aiohttp.items()} == {
        "ok": [200],
        "flaky": [503, 503, 200],
        "refusing": [400],
        "throttled": [429, 200],
        "overloaded": [502, 502],
        "hanging": [None],
        "other-secret": [401],
    }
    signed = {name: {valid for _, valid, _ in answers} for name, answers in arrived_aiohttp.items()}
    assert signed == {name: {name != "other-secret"} for name in ANSWERS}  # every attempt signed afresh
    assert [o.result.reason for o in through_aiohttp if o.message.channel == "hanging"] == [
        f"gave up after 1 attempt; last: no answer from {simulator.url} within 0.2 s"
    ]


async def test_both_clients_say_the_same_about_a_refused_connection(
    make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """Nobody listening: both fail naming the host and port, never the path; only the library's own detail differs."""
    port = closed_port()
    channels = {"sim-webhook": make_channel(url=f"http://127.0.0.1:{port}/webhook/secret-path", max_attempts=1)}
    [via_aiohttp] = await deliver([make_message()], channels, ledger=MemoryLedger())
    async with httpx.AsyncClient() as client:
        [via_httpx] = await deliver([make_message()], channels, ledger=MemoryLedger(), client=client)
    expected = f"gave up after 1 attempt; last: could not connect to http://127.0.0.1:{port}: "
    for outcome in (via_aiohttp, via_httpx):
        assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
        assert outcome.result.reason.startswith(expected)
        assert "secret-path" not in outcome.result.reason


# --- answers as they come over the wire --------------------------------------------------------------------------

HUGE = b"x" * (3 * MAX_ANSWER_BYTES)
DOCUMENT = {"ok": True, "text": "收到" * 100}


async def _huge(request: web.Request) -> web.Response:
    return web.Response(body=HUGE, content_type="text/plain")


async def _gzipped(request: web.Request) -> web.Response:
    body = gzip.compress(json.dumps(DOCUMENT).encode())
    return web.Response(body=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})


@pytest.fixture
async def answering() -> AsyncIterator[str]:
    """A loopback server answering GET /huge with 192 KiB and GET /gzipped with a gzip-encoded JSON body."""
    app = web.Application()
    app.router.add_get("/huge", _huge)
    app.router.add_get("/gzipped", _gzipped)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture(params=["aiohttp", "httpx"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[DeliveryClient]:
    """Each delivery client in turn: the one delivery_client() opens, and one over a plain httpx.AsyncClient."""
    if request.param == "aiohttp":
        async with delivery_client() as opened:
            yield opened
    else:
        async with httpx.AsyncClient() as plain:
            yield HttpxDeliveryClient(plain)


async def test_an_answer_is_read_up_to_64_kib_only(answering: str, client: DeliveryClient) -> None:
    """A 192 KiB answer reaches the channel cut to 64 KiB, its length saying so."""
    response = await client.send(httpx.Request("GET", f"{answering}/huge"), None, 5.0)
    assert response.status_code == 200
    assert response.content == HUGE[:MAX_ANSWER_BYTES]
    assert response.headers["content-length"] == str(MAX_ANSWER_BYTES)


async def test_a_gzipped_answer_reaches_the_channel_decoded(answering: str, client: DeliveryClient) -> None:
    """The channel reads the JSON itself: decoded, and no longer labelled as gzip."""
    response = await client.send(httpx.Request("GET", f"{answering}/gzipped"), None, 5.0)
    assert response.json() == DOCUMENT
    assert "content-encoding" not in response.headers


# --- signing and proxies on the aiohttp client ---------------------------------------------------------------------


class _ChallengeAuth(httpx.Auth):
    """An auth in two steps (send, read the challenge, send again), which delivery does not do."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        request.headers["authorization"] = f"Answer {response.status_code}"
        yield request


async def test_an_auth_asking_for_a_second_request_is_a_channel_error(simulator: Simulator) -> None:
    """Muster signs in one step; an auth wanting a second round trip stops with a ChannelError naming it."""
    async with delivery_client() as client:
        with pytest.raises(ChannelError, match="_ChallengeAuth asked for a second request"):
            await client.send(httpx.Request("GET", f"{simulator.url}/_sim/healthz"), _ChallengeAuth(), 5.0)


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback HTTP proxy that answers every request itself with 200 and notes the url it was asked for."""
    asked: list[str] = []

    async def forward(request: web.Request) -> web.Response:
        asked.append(request.raw_path)  # a proxied request carries the whole url
        await request.read()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", asked
    finally:
        await runner.cleanup()


async def test_http_proxy_from_the_environment_is_used_and_no_proxy_is_respected(
    proxy: tuple[str, list[str]], simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY carries a request to another host; a host listed in NO_PROXY is reached directly."""
    proxy_url, asked = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "localhost, .internal.example,127.0.0.1")
    async with delivery_client() as client:
        far = await client.send(httpx.Request("POST", "http://responder.example/webhook/ops", content=b"{}"), None, 5.0)
        near = await client.send(httpx.Request("GET", f"{simulator.url}/_sim/healthz"), None, 5.0)
    assert (far.status_code, near.status_code) == (200, 200)
    assert asked == ["http://responder.example/webhook/ops"]


def test_an_error_quoting_the_signed_url_shows_only_its_origin() -> None:
    """A signature added to the query (DingTalk, Aliyun) is cut with the token when an error quotes the url."""
    url = httpx.URL("https://oapi.dingtalk.com/robot/send?access_token=tok-123")
    signed = f"{url}&timestamp=1700000000000&sign=c2lnbmF0dXJl"
    result = _transport_failure(aiohttp.InvalidURL(yarl.URL(signed)), url, 10.0)
    assert result == DeliveryResult(DeliveryStatus.FAILED, "the channel url cannot be used: …")
    refused = _transport_failure(aiohttp.ClientConnectionError(f"lost {signed} midway"), url, 10.0)
    assert refused.reason == "connection to https://oapi.dingtalk.com failed: ClientConnectionError: lost … midway"
