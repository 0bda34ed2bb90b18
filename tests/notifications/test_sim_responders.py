"""The simulator's scripted responders: who answers which ack link, when, how, and only once."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web

from notifications.simulator import Simulator

TOKEN_WANG = "eyJpIjoiaW5jLTEiLCJyIjoid2FuZyJ9.c2lnbmF0dXJlLXdhbmc"
TOKEN_LI = "eyJpIjoiaW5jLTEiLCJyIjoibGkifQ.c2lnbmF0dXJlLWxp"


@dataclass
class AnswerDesk:
    """A stand-in for the service's answer routes on loopback: records each answer it gets."""

    url: str = ""
    got: list[tuple[str, str, str, float]] = field(default_factory=list)  # (via, token, note, loop time)


@pytest.fixture
async def desk() -> AsyncIterator[AnswerDesk]:
    found = AnswerDesk()
    loop = asyncio.get_running_loop()

    async def by_link(request: web.Request) -> web.Response:
        form = await request.post()
        found.got.append(("link", request.match_info["token"], str(form.get("note", "")), loop.time()))
        return web.Response(text="<p>已确认</p>", content_type="text/html")

    async def by_api(request: web.Request) -> web.Response:
        body = await request.json()
        found.got.append(("api", body["token"], body["note"], loop.time()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/ack/{token}", by_link)
    app.router.add_post("/v1/acks", by_api)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    found.url = f"http://{host}:{port}"
    yield found
    await runner.cleanup()


def webhook_body(address: str, link: str) -> bytes:
    return json.dumps({"recipient": {"address": address}, "text": f"请确认 {link}", "ack_url": link}).encode()


async def post(simulator: Simulator, path: str, content: bytes, content_type: str = "application/json") -> int:
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{simulator.url}{path}", content=content, headers={"content-type": content_type})
    return answer.status_code


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)


async def test_a_named_responder_answers_their_link_after_the_delay_and_others_stay_silent(desk: AnswerDesk) -> None:
    async with Simulator() as simulator:
        simulator.respond('"address": "wang"', after_ms=200, note="到")
        sent = asyncio.get_running_loop().time()
        assert await post(simulator, "/webhook/crew", webhook_body("wang", f"{desk.url}/ack/{TOKEN_WANG}")) == 200
        assert await post(simulator, "/webhook/crew", webhook_body("li", f"{desk.url}/ack/{TOKEN_LI}")) == 200
        await settle(0.6)
    assert [(via, token, note) for via, token, note, _ in desk.got] == [("link", TOKEN_WANG, "到")]
    assert 0.18 <= desk.got[0][3] - sent <= 0.5
    (answer,) = simulator.answers
    assert answer["status"] == 200 and answer["link_id"] == TOKEN_WANG[-12:] and answer["match"] == '"address": "wang"'


async def test_everyone_answers_by_api_once_per_link_even_when_the_link_appears_twice(desk: AnswerDesk) -> None:
    async with Simulator() as simulator:
        simulator.respond("*", after_ms=0, via="api", note="收到")
        link = f"{desk.url}/ack/{TOKEN_LI}"
        assert await post(simulator, "/webhook/crew", webhook_body("li", link)) == 200  # in text and in ack_url
        assert await post(simulator, "/webhook/crew", webhook_body("li", link)) == 200  # the same link again
        await settle()
    assert [(via, token, note) for via, token, note, _ in desk.got] == [("api", TOKEN_LI, "收到")]


async def test_skip_answers_only_the_repeat_and_never_answers_nothing(desk: AnswerDesk) -> None:
    async with Simulator() as simulator:
        simulator.respond('"address": "li"', skip=1)
        simulator.respond('"address": "wang"', after_ms=None)
        first, repeat = f"{desk.url}/ack/{TOKEN_LI}.r0", f"{desk.url}/ack/{TOKEN_LI}.r1"
        for body in (webhook_body("li", first), webhook_body("li", repeat), webhook_body("wang", first + "w")):
            assert await post(simulator, "/webhook/crew", body) == 200
        await settle()
    assert [token for _, token, _, _ in desk.got] == [f"{TOKEN_LI}.r1"]


async def test_a_refused_message_is_not_answered(desk: AnswerDesk) -> None:
    """Only what a person actually got is answered: a scripted failure means no answer."""
    async with Simulator() as simulator:
        simulator.respond("*")
        simulator.script("/webhook/crew", permanent_status=500)
        assert await post(simulator, "/webhook/crew", webhook_body("li", f"{desk.url}/ack/{TOKEN_LI}")) == 500
        await settle()
    assert desk.got == []


async def test_a_form_encoded_sms_link_is_found_and_answered(desk: AnswerDesk) -> None:
    """An SMS through the Twilio twin carries the link form-encoded; the person with that number answers it."""
    sid, token = "AC" + "0" * 32, "twilio-auth-token-for-tests"
    async with Simulator(credentials={"twilio": {sid: token}}) as simulator:
        simulator.respond("%2B8613800000001", after_ms=0)
        form = urllib.parse.urlencode(
            {"To": "+8613800000001", "From": "+15005550006", "Body": f"请确认 {desk.url}/ack/{TOKEN_WANG}"}
        )
        async with httpx.AsyncClient(auth=(sid, token)) as client:
            answer = await client.post(
                f"{simulator.url}/twilio/2010-04-01/Accounts/{sid}/Messages.json",
                content=form.encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        assert answer.status_code == 201, answer.text
        await settle()
    assert [token for _, token, _, _ in desk.got] == [TOKEN_WANG]


async def test_responders_are_scripted_and_read_over_http(desk: AnswerDesk) -> None:
    async with Simulator() as simulator, httpx.AsyncClient(base_url=simulator.url) as control:
        bad = await control.post("/_sim/responders", json={"match": "x", "after_ms": -1})
        assert bad.status_code == 400 and "after_ms" in bad.text
        ok = await control.post("/_sim/responders", json={"match": "*", "after_ms": 0, "via": "api"})
        assert ok.status_code == 200
        assert await post(simulator, "/webhook/crew", webhook_body("li", f"{desk.url}/ack/{TOKEN_LI}")) == 200
        await settle()
        answers = (await control.get("/_sim/answers")).json()
        assert [a["status"] for a in answers] == [200]
        assert (await control.delete("/_sim/responders")).status_code == 200
        assert await post(simulator, "/webhook/crew", webhook_body("wang", f"{desk.url}/ack/{TOKEN_WANG}")) == 200
        await settle()
    assert [token for _, token, _, _ in desk.got] == [TOKEN_LI]
