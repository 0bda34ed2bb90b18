"""The DingTalk robot channel and its twin: 加签, message forms, the 20,000-byte limit, errcodes, end to end."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from muster.errors import ChannelError
from notifications import DeliveryStatus, Message, build_channel, deliver, parse_channel_config
from notifications.channels.dingtalk import (
    MAX_MESSAGE_BYTES,
    DingTalkChannel,
    DingTalkConfig,
    DingTalkSignAuth,
    dingtalk_sign,
)
from notifications.framing import TRUNCATED_MARKERS
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

MessageFactory = Callable[..., Message]

SECRET = "SECtest"
TOKEN = "robot-token-0123456789abcdef"
VECTOR_TS_MS = 1700000000000
VECTOR_SIGN = "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g="
ACK = "https://muster.example/ack/tok"
ROBOT_URL = f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"


def make_channel(url: str = ROBOT_URL, **settings: Any) -> DingTalkChannel:
    settings.setdefault("secret", SECRET)
    return DingTalkChannel(DingTalkConfig(name="duty-robot", url=url, **settings))


def robot_message(make_message: MessageFactory, **overrides: Any) -> Message:
    return make_message(**({"channel": "duty-robot", "address": "13800000000"} | overrides))


def document(request: httpx.Request) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(request.content)
    return parsed


def answer(status: int = 200, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "https://oapi.dingtalk.com/robot/send"), **kwargs)


def sent_through(request: httpx.Request, auth: httpx.Auth | None) -> httpx.Request:
    """Send through a MockTransport and return the request as it left."""
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.send(request, auth=auth)
    return seen[0]


# Signing


def test_sign_matches_the_documented_vector() -> None:
    """SECtest at 1700000000000 ms signs as aZLL…h4g= (channels.md)."""
    assert dingtalk_sign(SECRET, VECTOR_TS_MS) == VECTOR_SIGN


def test_signed_url_carries_timestamp_and_sign_encoded_exactly_once(make_message: MessageFactory) -> None:
    """The sent query keeps the token and adds timestamp and sign=…h4g%3D, never double-encoded."""
    request = make_channel().build_request(robot_message(make_message))
    sent = sent_through(request, DingTalkSignAuth(SecretStr(SECRET), clock=lambda: 1_700_000_000.0))
    query = sent.url.query.decode()
    assert query == f"access_token={TOKEN}&timestamp={VECTOR_TS_MS}&sign=aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
    assert "%25" not in query
    assert sent.url.params["sign"] == VECTOR_SIGN


def test_each_attempt_is_signed_afresh_and_the_built_request_is_left_as_built(make_message: MessageFactory) -> None:
    """Two attempts carry their own timestamps; the request deliver() keeps has no timestamp or sign."""
    clock = iter([1_700_000_000.0, 1_700_000_030.0])
    auth = DingTalkSignAuth(SecretStr(SECRET), clock=lambda: next(clock))
    request = make_channel().build_request(robot_message(make_message))
    first, second = sent_through(request, auth), sent_through(request, auth)
    assert first.url.params["timestamp"] == "1700000000000"
    assert second.url.params["timestamp"] == "1700000030000"
    assert second.url.params["sign"] == dingtalk_sign(SECRET, 1_700_000_030_000)
    assert "sign" not in request.url.params
    assert first.content == request.content


def test_robot_without_secret_is_not_signed(make_message: MessageFactory) -> None:
    """A robot secured by keywords or IP only gets no timestamp or sign."""
    robot = make_channel(secret=None)
    assert robot.auth() is None
    assert "sign" not in sent_through(robot.build_request(robot_message(make_message)), None).url.params


# Message forms


def test_text_form_frames_the_message_and_mentions_the_recipient(make_message: MessageFactory) -> None:
    """format text: the framed text with @mobile at the end, and the mobile in at.atMobiles."""
    request = make_channel(format="text").build_request(robot_message(make_message, drill=True))
    assert document(request) == {
        "msgtype": "text",
        "text": {
            "content": "【演练】较大火灾\n\n某化工厂发生火灾，请立即到岗。\n\n收到请确认：https://muster.example/ack/tok\n@13800000000"
        },
        "at": {"atMobiles": ["13800000000"], "atUserIds": [], "isAtAll": False},
    }
    assert request.headers["content-type"].startswith("application/json")


def test_rich_message_to_the_whole_group_is_an_action_card_with_the_ack_button(make_message: MessageFactory) -> None:
    """No one to mention and an ack link: actionCard whose one button 确认收到 opens the ack link."""
    card = document(make_channel().build_request(robot_message(make_message, address="", drill=True)))
    assert card["msgtype"] == "actionCard"
    assert card["actionCard"]["singleTitle"] == "确认收到"
    assert card["actionCard"]["singleURL"] == ACK
    assert card["actionCard"]["title"] == "【演练】较大火灾"
    assert card["actionCard"]["text"].startswith("#### 【演练】较大火灾\n\n某化工厂")


def test_english_ack_button_says_acknowledge(make_message: MessageFactory) -> None:
    """An English message's button reads Acknowledge and its drill marker is [DRILL]."""
    message = robot_message(make_message, address="", language="en", subject="Fire", body="Report.", drill=True)
    card = document(make_channel().build_request(message))["actionCard"]
    assert (card["singleTitle"], card["title"]) == ("Acknowledge", "[DRILL] Fire")


def test_rich_message_that_mentions_someone_is_markdown_with_the_ack_link(make_message: MessageFactory) -> None:
    """actionCard cannot @-mention, so a mention goes as markdown: ack link as a link, @mobile in the text."""
    sent = document(make_channel().build_request(robot_message(make_message)))
    assert sent["msgtype"] == "markdown"
    assert sent["markdown"]["title"] == "较大火灾"
    assert f"[确认收到]({ACK})" in sent["markdown"]["text"]
    assert sent["markdown"]["text"].endswith("@13800000000")
    assert sent["at"]["atMobiles"] == ["13800000000"]


def test_address_that_is_not_a_mobile_is_mentioned_as_a_user_id(make_message: MessageFactory) -> None:
    """A DingTalk user id goes to at.atUserIds."""
    sent = document(make_channel().build_request(robot_message(make_message, address="manager4220")))
    assert sent["at"] == {"atMobiles": [], "atUserIds": ["manager4220"], "isAtAll": False}


def test_at_all_mentions_everyone_in_markdown(make_message: MessageFactory) -> None:
    """at_all sets isAtAll, and markdown is used because an actionCard could not carry it."""
    sent = document(make_channel(at_all=True).build_request(robot_message(make_message, address="")))
    assert (sent["msgtype"], sent["at"]["isAtAll"]) == ("markdown", True)


def test_same_message_builds_the_same_request(make_message: MessageFactory) -> None:
    """build_request is deterministic."""
    robot = make_channel()
    assert robot.build_request(robot_message(make_message)).content == robot.build_request(
        robot_message(make_message)
    ).content


# Length limit


@pytest.mark.parametrize(("form", "address"), [("text", "13800000000"), ("rich", "13800000000"), ("rich", "")])
def test_100kb_body_is_cut_to_20000_bytes_keeping_drill_marker_and_ack_link(
    make_message: MessageFactory, form: str, address: str
) -> None:
    """A 100 KB body is cut with a visible marker so the whole JSON fits 20,000 bytes, ack link kept."""
    body = "现场浓烟，请佩戴呼吸器。" * 8_000 + 'quotes " and \\ backslashes\n' * 100
    message = robot_message(make_message, body=body, address=address, drill=True)
    request = make_channel(format=form).build_request(message)
    assert MAX_MESSAGE_BYTES - 64 < len(request.content) <= MAX_MESSAGE_BYTES
    sent = json.dumps(document(request), ensure_ascii=False)
    assert TRUNCATED_MARKERS["zh"] in sent
    assert ACK in sent
    assert "【演练】" in sent


def test_body_that_fits_is_sent_whole(make_message: MessageFactory) -> None:
    """A body well within the limit carries no truncation marker."""
    request = make_channel().build_request(robot_message(make_message, body="x" * 15_000))
    assert TRUNCATED_MARKERS["zh"] not in request.content.decode()


def test_message_too_long_without_its_body_is_refused(make_message: MessageFactory) -> None:
    """If the subject alone breaks the limit, build_request raises naming the delivery."""
    with pytest.raises(ChannelError, match="inc-1/notify-duty/r1/1"):
        make_channel().build_request(robot_message(make_message, subject="标" * 10_000))


# Batching


def test_batch_request_mentions_every_recipient_once(make_message: MessageFactory) -> None:
    """One message @-mentions every mobile of the batch, each once, in order."""
    mobiles = ["13800000001", "13800000002", "13800000001", "13800000003"]
    batch = [robot_message(make_message, recipient_id=f"r{i}", address=m) for i, m in enumerate(mobiles)]
    sent = document(make_channel().build_batch_request(batch))
    assert sent["at"]["atMobiles"] == ["13800000001", "13800000002", "13800000003"]
    assert sent["markdown"]["text"].endswith("@13800000001 @13800000002 @13800000003")


def test_batch_of_messages_saying_different_things_is_refused(make_message: MessageFactory) -> None:
    """Messages with another body cannot share one request."""
    batch = [robot_message(make_message), robot_message(make_message, recipient_id="r2", body="另一条")]
    with pytest.raises(ChannelError, match="inc-1/notify-duty/r2/1 differs"):
        make_channel().build_batch_request(batch)


def test_batch_larger_than_max_batch_is_refused(make_message: MessageFactory) -> None:
    """More than max_batch messages in one request is a caller error."""
    batch = [robot_message(make_message, recipient_id=f"r{i}", address=f"1380000{i:04d}") for i in range(51)]
    with pytest.raises(ChannelError, match="at most 50"):
        make_channel().build_batch_request(batch)


# Answers


@pytest.mark.parametrize(
    ("errcode", "status", "retry_after"),
    [
        (0, DeliveryStatus.DELIVERED, None),
        (130101, DeliveryStatus.RATE_LIMITED, 600.0),
        (410100, DeliveryStatus.RATE_LIMITED, 60.0),
        (310000, DeliveryStatus.FAILED, None),
        (460101, DeliveryStatus.FAILED, None),
        (300001, DeliveryStatus.FAILED, None),
        (400102, DeliveryStatus.FAILED, None),
        (-1, DeliveryStatus.RETRY, None),
        (777777, DeliveryStatus.FAILED, None),
    ],
)
def test_errcode_decides_the_outcome(errcode: int, status: DeliveryStatus, retry_after: float | None) -> None:
    """DingTalk answers HTTP 200 with an errcode; the errcode, not the HTTP status, is the outcome."""
    result = make_channel().parse_response(answer(json={"errcode": errcode, "errmsg": "msg"}))
    assert (result.status, result.retry_after, result.http_status) == (status, retry_after, 200)
    assert f"errcode {errcode}" in result.reason


@pytest.mark.parametrize(
    ("status", "kwargs", "outcome"),
    [
        (200, {"text": "<html>portal</html>"}, DeliveryStatus.FAILED),
        (200, {"json": {"ok": True}}, DeliveryStatus.FAILED),
        (200, {"json": ["errcode", 0]}, DeliveryStatus.FAILED),
        (200, {"json": {"errcode": True}}, DeliveryStatus.FAILED),
        (502, {"text": "Bad Gateway"}, DeliveryStatus.RETRY),
        (429, {"headers": {"Retry-After": "3"}}, DeliveryStatus.RATE_LIMITED),
        (404, {"text": "not found"}, DeliveryStatus.FAILED),
    ],
)
def test_answers_without_an_errcode_never_raise(status: int, kwargs: dict[str, Any], outcome: DeliveryStatus) -> None:
    """Non-JSON or unexpected bodies become RETRY, RATE_LIMITED or FAILED with a reason."""
    result = make_channel().parse_response(answer(status, **kwargs))
    assert result.status is outcome
    assert result.reason


def test_reasons_never_carry_the_token_or_secret() -> None:
    """An errmsg or body echoing the token or secret has them cut out of the reason."""
    robot = make_channel()
    echoed = f"sign not match for {TOKEN} with {SECRET}"
    for response in (answer(json={"errcode": 310000, "errmsg": echoed}), answer(200, text=echoed)):
        reason = robot.parse_response(response).reason
        assert TOKEN not in reason
        assert SECRET not in reason


# Configuration


def test_pacing_key_names_the_robot_without_its_token(make_message: MessageFactory) -> None:
    """Same token, same key; another token, another key; the token itself never shows."""
    key = make_channel().pacing_key(robot_message(make_message))
    assert key == make_channel(secret=None).pacing_key(robot_message(make_message, address="139"))
    assert key != make_channel(url=ROBOT_URL + "x").pacing_key(robot_message(make_message))
    assert TOKEN not in key
    assert key.startswith("dingtalk:")


def test_repr_of_config_and_channel_hide_token_and_secret() -> None:
    """repr and str of the config and the channel show neither the access_token nor the 加签 secret."""
    config = DingTalkConfig(name="duty-robot", url=ROBOT_URL, secret=SECRET)
    for shown in (repr(config), str(config), repr(build_channel(config)), repr(build_channel(config).auth())):
        assert TOKEN not in shown
        assert SECRET not in shown


def test_channels_yaml_entry_parses_into_the_dingtalk_settings() -> None:
    """parse_channel_config gives a DingTalkConfig with at_all and format; unknown fields are refused."""
    entry = {"name": "duty-robot", "type": "dingtalk", "url": ROBOT_URL, "secret": SECRET, "at_all": True}
    config = parse_channel_config(entry)
    assert isinstance(config, DingTalkConfig)
    assert (config.at_all, config.format) == (True, "rich")
    with pytest.raises(ValueError, match="keyword"):
        parse_channel_config(entry | {"keyword": "应急"})


@pytest.mark.parametrize("url", ["https://oapi.dingtalk.com/robot/send", "ftp://oapi.dingtalk.com/?access_token=T"])
def test_url_must_be_a_robot_webhook_with_its_token(url: str) -> None:
    """A url without access_token, or not http(s), is refused naming the channel."""
    with pytest.raises(ChannelError, match=r"'duty-robot'.*access_token"):
        make_channel(url=url)


# The twin, and end to end


@pytest.fixture
async def robot_twin() -> AsyncIterator[Simulator]:
    """A simulator that knows robot TOKEN with 加签 secret SECtest."""
    async with Simulator(credentials={"dingtalk": {TOKEN: SECRET}}) as simulator:
        yield simulator


def sim_channel(simulator: Simulator, **settings: Any) -> DingTalkChannel:
    return make_channel(url=f"{simulator.url}/dingtalk/robot/send?access_token={TOKEN}", **settings)


async def delivered(messages: list[Message], robot: DingTalkChannel, ledger: MemoryLedger) -> list[Any]:
    return await deliver(messages, {"duty-robot": robot}, ledger=ledger, backoff_base=0.01, backoff_cap=0.05)


async def test_signed_messages_are_accepted_end_to_end(robot_twin: Simulator, make_message: MessageFactory) -> None:
    """Messages signed with the right secret are answered errcode 0 and delivered once each."""
    messages = [robot_message(make_message, recipient_id=f"r{i}", body=f"第{i}条") for i in range(3)]
    ledger = MemoryLedger()
    outcomes = await delivered(messages, sim_channel(robot_twin), ledger)
    assert [o.result.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 3
    assert [o.attempts for o in outcomes] == [1, 1, 1]
    assert [(r["signature_valid"], r["status"]) for r in robot_twin.records] == [(True, 200)] * 3


async def test_wrong_secret_gets_310000_and_fails_without_retrying(
    robot_twin: Simulator, make_message: MessageFactory
) -> None:
    """A wrong 加签 secret is refused with 310000: FAILED after one attempt, the reason names the code."""
    ledger = MemoryLedger()
    [outcome] = await delivered([robot_message(make_message)], sim_channel(robot_twin, secret="SECwrong"), ledger)
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert "errcode 310000 (sign not match)" in outcome.result.reason
    assert robot_twin.records[0]["signature_valid"] is False


async def test_scripted_transient_failure_is_retried_and_delivered_exactly_once(
    robot_twin: Simulator, make_message: MessageFactory
) -> None:
    """Two 503s, then errcode 0: delivered on the third attempt, each attempt freshly signed."""
    robot_twin.script("/dingtalk/robot/send", fail_times=2)
    ledger = MemoryLedger()
    [outcome] = await delivered([robot_message(make_message)], sim_channel(robot_twin), ledger)
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [r["status"] for r in robot_twin.records] == [503, 503, 200]
    assert [o.result.status for o in ledger.outcomes] == [DeliveryStatus.DELIVERED]


async def test_unknown_token_gets_300001_and_fails(robot_twin: Simulator, make_message: MessageFactory) -> None:
    """A robot url with a token the twin does not know is FAILED with errcode 300001."""
    robot = make_channel(url=f"{robot_twin.url}/dingtalk/robot/send?access_token=other")
    [outcome] = await delivered([robot_message(make_message)], robot, MemoryLedger())
    assert outcome.result.status is DeliveryStatus.FAILED
    assert "errcode 300001" in outcome.result.reason


async def test_batch_reaches_the_twin_mentioning_everyone(robot_twin: Simulator, make_message: MessageFactory) -> None:
    """A signed batch request is accepted and arrives with every mobile in at.atMobiles."""
    batch = [robot_message(make_message, recipient_id=f"r{i}", address=f"1390000000{i}") for i in range(3)]
    robot = sim_channel(robot_twin)
    async with httpx.AsyncClient() as client:
        response = await client.send(robot.build_batch_request(batch), auth=robot.auth())
    assert robot.parse_response(response).status is DeliveryStatus.DELIVERED
    assert robot_twin.records[0]["body"]["at"]["atMobiles"] == ["13900000000", "13900000001", "13900000002"]


async def test_twin_answers_130101_to_the_21st_message_within_a_minute(make_message: MessageFactory) -> None:
    """The twin allows 20 messages a minute per robot; the 21st is answered errcode 130101."""
    async with Simulator(credentials={"dingtalk": {TOKEN: ""}}) as simulator:
        robot = make_channel(url=f"{simulator.url}/dingtalk/robot/send?access_token={TOKEN}", secret=None)
        async with httpx.AsyncClient() as client:
            codes = [
                (await client.send(robot.build_request(robot_message(make_message)))).json()["errcode"]
                for _ in range(21)
            ]
    assert codes == [0] * 20 + [130101]


async def test_twin_refuses_a_signature_older_than_an_hour(robot_twin: Simulator, make_message: MessageFactory) -> None:
    """A correct sign made 61 minutes ago is refused with 310000 invalid timestamp."""
    robot = sim_channel(robot_twin)
    stale = DingTalkSignAuth(SecretStr(SECRET), clock=lambda: time.time() - 61 * 60)
    async with httpx.AsyncClient() as client:
        response = await client.send(robot.build_request(robot_message(make_message)), auth=stale)
    assert response.json() == {"errcode": 310000, "errmsg": "invalid timestamp"}


async def test_twin_refuses_a_body_over_20000_bytes_with_460101(robot_twin: Simulator) -> None:
    """A hand-made message over 20,000 bytes is answered errcode 460101."""
    body = json.dumps({"msgtype": "text", "text": {"content": "x" * 20_001}}).encode()
    robot = sim_channel(robot_twin)
    request = httpx.Request("POST", robot.config.url, content=body, headers={"content-type": "application/json"})
    async with httpx.AsyncClient() as client:
        response = await client.send(request, auth=robot.auth())
    assert response.json()["errcode"] == 460101


async def test_records_never_hold_the_token_or_secret(robot_twin: Simulator, make_message: MessageFactory) -> None:
    """What the twin records (path, headers, body) carries neither the access_token nor the secret."""
    await delivered([robot_message(make_message)], sim_channel(robot_twin), MemoryLedger())
    recorded = json.dumps(robot_twin.records, ensure_ascii=False)
    assert TOKEN not in recorded
    assert SECRET not in recorded


async def test_deliver_sends_same_text_to_many_as_one_mentioning_message(
    robot_twin: Simulator, make_message: MessageFactory
) -> None:
    """deliver() batches three same-text messages into one robot message @-mentioning all three, each delivered."""
    batch = [robot_message(make_message, recipient_id=f"r{i}", address=f"1390000000{i}") for i in range(3)]
    outcomes = await delivered(batch, sim_channel(robot_twin), MemoryLedger())
    assert [o.result.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 3
    [record] = robot_twin.records
    assert record["body"]["at"]["atMobiles"] == ["13900000000", "13900000001", "13900000002"]
