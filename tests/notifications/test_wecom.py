"""The WeCom robot channel and its twin: text and markdown, byte limits, errcodes, the key kept secret, end to end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from muster.errors import ChannelError
from notifications import ChannelConfig, DeliveryStatus, Message, build_channel, deliver
from notifications.channels.wecom import (
    MAX_MARKDOWN_BYTES,
    MAX_TEXT_BYTES,
    WeComChannel,
    WeComConfig,
)
from notifications.framing import TRUNCATED_MARKERS
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

MessageFactory = Callable[..., Message]

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
ROBOT_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
ACK = "https://muster.example/ack/tok"


def make_channel(url: str = ROBOT_URL, **settings: Any) -> WeComChannel:
    return WeComChannel(WeComConfig(name="duty-wecom", url=url, **settings))


def robot_message(make_message: MessageFactory, **overrides: Any) -> Message:
    return make_message(**({"channel": "duty-wecom", "address": "13800000000"} | overrides))


def document(request: httpx.Request) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(request.content)
    return parsed


def answer(status: int = 200, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", ROBOT_URL), **kwargs)


# Message forms


def test_text_form_frames_the_message_and_mentions_by_mobile(make_message: MessageFactory) -> None:
    """format text: the framed text, and the recipient's mobile in mentioned_mobile_list."""
    request = make_channel(format="text").build_request(robot_message(make_message, drill=True))
    assert document(request) == {
        "msgtype": "text",
        "text": {
            "content": "【演练】较大火灾\n\n某化工厂发生火灾，请立即到岗。\n\n收到请确认：https://muster.example/ack/tok",
            "mentioned_list": [],
            "mentioned_mobile_list": ["13800000000"],
        },
    }
    assert str(request.url) == ROBOT_URL


def test_rich_form_is_markdown_with_the_ack_link_and_user_id_mentions(make_message: MessageFactory) -> None:
    """A rich message to a user id is markdown: title, body, [确认收到](ack link), <@userid>."""
    sent = document(make_channel().build_request(robot_message(make_message, address="WangWei", drill=True)))
    assert sent == {
        "msgtype": "markdown",
        "markdown": {
            "content": f"### 【演练】较大火灾\n某化工厂发生火灾，请立即到岗。\n[确认收到]({ACK})\n<@WangWei>"
        },
    }


def test_rich_message_to_a_mobile_goes_as_text_so_the_mention_rings(make_message: MessageFactory) -> None:
    """Markdown cannot mention by mobile, so a message to a mobile number is text with mentioned_mobile_list."""
    sent = document(make_channel().build_request(robot_message(make_message)))
    assert sent["msgtype"] == "text"
    assert sent["text"]["mentioned_mobile_list"] == ["13800000000"]
    assert ACK in sent["text"]["content"]


def test_english_markdown_link_says_acknowledge(make_message: MessageFactory) -> None:
    """An English rich message links the ack url as [Acknowledge](…)."""
    message = robot_message(make_message, address="", language="en", subject="Fire", body="Report.")
    assert f"[Acknowledge]({ACK})" in document(make_channel().build_request(message))["markdown"]["content"]


# Length limits


def test_100kb_text_is_cut_to_2048_bytes_of_content_keeping_the_ack_link(make_message: MessageFactory) -> None:
    """A 100 KB body in a text message is cut with a marker so content fits 2,048 bytes, ack link and drill kept."""
    body = "现场浓烟，请佩戴呼吸器。" * 3_000
    content = document(make_channel().build_request(robot_message(make_message, body=body, drill=True)))["text"][
        "content"
    ]
    assert MAX_TEXT_BYTES - 8 < len(content.encode()) <= MAX_TEXT_BYTES
    assert content.startswith("【演练】较大火灾")
    assert TRUNCATED_MARKERS["zh"] in content
    assert content.endswith(f"收到请确认：{ACK}")


def test_100kb_markdown_is_cut_to_4096_bytes_keeping_the_ack_link(make_message: MessageFactory) -> None:
    """A 100 KB body in markdown is cut so content fits 4,096 bytes, with the ack link and mention after it."""
    body = "x" * 100_000
    content = document(make_channel().build_request(robot_message(make_message, body=body, address="WangWei")))[
        "markdown"
    ]["content"]
    assert MAX_MARKDOWN_BYTES - 8 < len(content.encode()) <= MAX_MARKDOWN_BYTES
    assert content.endswith(f"{TRUNCATED_MARKERS['zh']}\n[确认收到]({ACK})\n<@WangWei>")


def test_message_too_long_without_its_body_is_refused(make_message: MessageFactory) -> None:
    """A subject over 2,048 bytes alone cannot be sent: ChannelError naming the delivery."""
    with pytest.raises(ChannelError, match=r"inc-1/notify-duty/r1/1.*2048 bytes"):
        make_channel().build_request(robot_message(make_message, subject="标" * 700))


# Batching


def test_batch_request_mentions_every_recipient(make_message: MessageFactory) -> None:
    """One text message mentions every mobile and every user id of the batch, each once."""
    addresses = ["13800000001", "LiNa", "13800000002", "LiNa"]
    batch = [robot_message(make_message, recipient_id=f"r{i}", address=a) for i, a in enumerate(addresses)]
    sent = document(make_channel().build_batch_request(batch))["text"]
    assert (sent["mentioned_mobile_list"], sent["mentioned_list"]) == (["13800000001", "13800000002"], ["LiNa"])


def test_batch_with_another_ack_link_is_refused(make_message: MessageFactory) -> None:
    """Messages with different ack links cannot share one request."""
    batch = [robot_message(make_message), robot_message(make_message, recipient_id="r2", ack_url=ACK + "2")]
    with pytest.raises(ChannelError, match="differs"):
        make_channel().build_batch_request(batch)


# Answers


@pytest.mark.parametrize(
    ("errcode", "status", "retry_after"),
    [
        (0, DeliveryStatus.DELIVERED, None),
        (45009, DeliveryStatus.RATE_LIMITED, 60.0),
        (93000, DeliveryStatus.FAILED, None),
        (40058, DeliveryStatus.FAILED, None),
        (-1, DeliveryStatus.RETRY, None),
        (123456, DeliveryStatus.FAILED, None),
    ],
)
def test_errcode_decides_the_outcome(errcode: int, status: DeliveryStatus, retry_after: float | None) -> None:
    """WeCom answers HTTP 200 with an errcode, and the errcode is the outcome."""
    result = make_channel().parse_response(answer(json={"errcode": errcode, "errmsg": "m"}))
    assert (result.status, result.retry_after) == (status, retry_after)
    assert f"errcode {errcode}" in result.reason


@pytest.mark.parametrize(
    ("status", "text", "outcome"),
    [(200, "not json", DeliveryStatus.FAILED), (200, "{}", DeliveryStatus.FAILED), (503, "", DeliveryStatus.RETRY)],
)
def test_answers_without_an_errcode_never_raise(status: int, text: str, outcome: DeliveryStatus) -> None:
    """Bodies that are not WeCom's JSON become FAILED or RETRY with a reason."""
    result = make_channel().parse_response(answer(status, text=text))
    assert (result.status, bool(result.reason)) == (outcome, True)


def test_key_never_appears_in_reprs_or_reasons() -> None:
    """The key (the credential) is absent from the config's and channel's repr and from reasons echoing it."""
    config = WeComConfig(name="duty-wecom", url=ROBOT_URL)
    reason = make_channel().parse_response(answer(json={"errcode": 93000, "errmsg": f"invalid webhook url {KEY}"}))
    for shown in (repr(config), str(config), repr(build_channel(config)), reason.reason):
        assert KEY not in shown


def test_pacing_key_is_a_fingerprint_of_the_key(make_message: MessageFactory) -> None:
    """The pacing key names the robot without its key."""
    key = make_channel().pacing_key(robot_message(make_message))
    assert key.startswith("wecom:") and KEY not in key


def test_wecom_config_has_no_signing_secret() -> None:
    """WeCom robots are not signed: a secret is refused instead of being silently ignored."""
    with pytest.raises(ValidationError, match="secret"):
        WeComConfig(name="duty-wecom", url=ROBOT_URL, secret="s3cr3t")


def test_url_without_key_is_refused() -> None:
    """A url with no key cannot reach a robot."""
    with pytest.raises(ChannelError, match=r"'duty-wecom'.*key"):
        url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
        build_channel(ChannelConfig(name="duty-wecom", type="wecom", url=url))


# The twin, and end to end


@pytest.fixture
async def robot_twin() -> AsyncIterator[Simulator]:
    """A simulator that knows robot KEY."""
    async with Simulator(credentials={"wecom": {KEY: ""}}) as simulator:
        yield simulator


def sim_channel(simulator: Simulator, key: str = KEY, **settings: Any) -> WeComChannel:
    return make_channel(url=f"{simulator.url}/wecom/cgi-bin/webhook/send?key={key}", **settings)


async def delivered(messages: list[Message], robot: WeComChannel) -> list[Any]:
    return await deliver(messages, {"duty-wecom": robot}, ledger=MemoryLedger(), backoff_base=0.01, backoff_cap=0.05)


async def test_messages_are_delivered_end_to_end(robot_twin: Simulator, make_message: MessageFactory) -> None:
    """Text and markdown messages to a known key are answered errcode 0 and delivered once each."""
    messages = [robot_message(make_message), robot_message(make_message, recipient_id="r2", address="LiNa", body="2")]
    outcomes = await delivered(messages, sim_channel(robot_twin))
    assert [(o.result.status, o.attempts) for o in outcomes] == [(DeliveryStatus.DELIVERED, 1)] * 2
    assert sorted(r["body"]["msgtype"] for r in robot_twin.records) == ["markdown", "text"]


async def test_unknown_key_gets_93000_and_fails(robot_twin: Simulator, make_message: MessageFactory) -> None:
    """A wrong key is answered 93000: FAILED after one attempt, the key absent from the reason."""
    [outcome] = await delivered([robot_message(make_message)], sim_channel(robot_twin, key="wrong-key-000"))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert "errcode 93000" in outcome.result.reason
    assert "wrong-key-000" not in outcome.result.reason


async def test_scripted_transient_failure_is_retried_and_delivered_exactly_once(
    robot_twin: Simulator, make_message: MessageFactory
) -> None:
    """A 503 then errcode 0: delivered on the second attempt, once."""
    robot_twin.script("/wecom/cgi-bin/webhook/send", fail_times=1)
    [outcome] = await delivered([robot_message(make_message)], sim_channel(robot_twin))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [r["status"] for r in robot_twin.records] == [503, 200]


async def test_twin_answers_45009_to_the_21st_message_within_a_minute(
    robot_twin: Simulator, make_message: MessageFactory
) -> None:
    """The twin allows 20 messages a minute per robot; the 21st is answered errcode 45009."""
    robot = sim_channel(robot_twin)
    async with httpx.AsyncClient() as client:
        request = robot.build_request(robot_message(make_message))
        codes = [(await client.send(request)).json()["errcode"] for _ in range(21)]
    assert codes == [0] * 20 + [45009]


async def test_twin_refuses_text_over_2048_bytes(robot_twin: Simulator) -> None:
    """A hand-made text message over 2,048 bytes is refused with errcode 40058."""
    robot = sim_channel(robot_twin)
    body = json.dumps({"msgtype": "text", "text": {"content": "x" * 2049}}).encode()
    async with httpx.AsyncClient() as client:
        response = await client.post(robot.config.url, content=body)
    assert response.json()["errcode"] == 40058


async def test_records_never_hold_the_key(robot_twin: Simulator, make_message: MessageFactory) -> None:
    """The twin's records name the robot by a fingerprint and never hold the key."""
    await delivered([robot_message(make_message)], sim_channel(robot_twin))
    assert KEY not in json.dumps(robot_twin.records, ensure_ascii=False)
    assert robot_twin.records[0]["name"].startswith("robot-")
