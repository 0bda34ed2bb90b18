"""The Feishu bot channel and its twin: the body signature, text/post/card, the 20 KB limit, codes, end to end."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from muster.errors import ChannelError
from notifications import DeliveryStatus, Message, build_channel, deliver
from notifications.channels.feishu import (
    MAX_BODY_BYTES,
    FeishuChannel,
    FeishuConfig,
    FeishuSignAuth,
    feishu_sign,
)
from notifications.framing import TRUNCATED_MARKERS
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

MessageFactory = Callable[..., Message]

SECRET = "SECtest"
HOOK_ID = "2b1c7e9a-5d4f-4e1a-9c3b-7f0e8d6a5b4c"
BOT_URL = f"https://open.feishu.cn/open-apis/bot/v2/hook/{HOOK_ID}"
ACK = "https://muster.example/ack/tok"
USER = "ou_7d8a6e6df7621556ce0d21922b676706"


def make_channel(url: str = BOT_URL, **settings: Any) -> FeishuChannel:
    settings.setdefault("secret", SECRET)
    return FeishuChannel(FeishuConfig(name="duty-feishu", url=url, **settings))


def bot_message(make_message: MessageFactory, **overrides: Any) -> Message:
    return make_message(**({"channel": "duty-feishu", "address": USER} | overrides))


def document(content: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(content)
    return parsed


def answer(status: int = 200, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", BOT_URL), **kwargs)


def sent_through(request: httpx.Request, auth: httpx.Auth | None) -> httpx.Request:
    """Send through a MockTransport and return the request as it left."""
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, json={"code": 0, "msg": "success", "data": {}})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.send(request, auth=auth)
    return seen[0]


# Signing


def test_sign_matches_the_documented_vector() -> None:
    """SECtest at 1599360473 signs as bMjx…MAek= (channels.md)."""
    assert feishu_sign(SECRET, 1599360473) == "bMjxHlJJlXMW0yjKHZsmMvrFnAOfMlmWpRUsH3qMAek="


def test_each_attempt_puts_a_fresh_timestamp_and_sign_into_the_body(make_message: MessageFactory) -> None:
    """The auth rebuilds the JSON body per attempt, with a correct Content-Length, leaving the built request as is."""
    clock = iter([1599360473.0, 1599360533.0])
    auth = FeishuSignAuth(SecretStr(SECRET), clock=lambda: next(clock))
    request = make_channel().build_request(bot_message(make_message))
    first, second = sent_through(request, auth), sent_through(request, auth)
    signed = document(first.content)
    assert (signed["timestamp"], signed["sign"]) == ("1599360473", "bMjxHlJJlXMW0yjKHZsmMvrFnAOfMlmWpRUsH3qMAek=")
    assert document(second.content)["timestamp"] == "1599360533"
    assert first.headers["content-length"] == str(len(first.content))
    assert {k: v for k, v in signed.items() if k not in ("timestamp", "sign")} == document(request.content)
    assert "sign" not in document(request.content)


def test_unsigned_bot_has_no_auth(make_message: MessageFactory) -> None:
    """A bot without a secret sends the body as built."""
    bot = make_channel(secret=None)
    assert bot.auth() is None


# Message forms


def test_text_form_frames_the_message_and_mentions_the_recipient(make_message: MessageFactory) -> None:
    """format text: the framed text with an <at user_id> tag naming the recipient."""
    sent = document(make_channel(format="text").build_request(bot_message(make_message, drill=True)).content)
    assert sent == {
        "msg_type": "text",
        "content": {
            "text": "【演练】较大火灾\n\n某化工厂发生火灾，请立即到岗。\n\n收到请确认：https://muster.example/ack/tok\n"
            f'<at user_id="{USER}">王伟</at>'
        },
    }


def test_rich_form_with_an_ack_link_is_a_card_whose_button_opens_it(make_message: MessageFactory) -> None:
    """A rich message with an ack link is an interactive card: titled, body with the mention, one button."""
    card = document(make_channel().build_request(bot_message(make_message, drill=True)).content)
    assert card["msg_type"] == "interactive"
    layout = card["card"]
    assert layout["header"]["title"]["content"] == "【演练】较大火灾"
    assert layout["elements"][0]["text"]["content"] == f"某化工厂发生火灾，请立即到岗。\n<at id={USER}></at>"
    [button] = layout["elements"][1]["actions"]
    assert (button["text"]["content"], button["url"]) == ("确认收到", ACK)


def test_english_card_button_says_acknowledge(make_message: MessageFactory) -> None:
    """An English card's button reads Acknowledge and its title leads with [DRILL]."""
    message = bot_message(make_message, language="en", subject="Fire", body="Report.", drill=True)
    layout = document(make_channel().build_request(message).content)["card"]
    assert layout["header"]["title"]["content"] == "[DRILL] Fire"
    assert layout["elements"][1]["actions"][0]["text"]["content"] == "Acknowledge"


def test_rich_form_without_an_ack_link_is_a_post(make_message: MessageFactory) -> None:
    """Without an ack link a rich message is a post: title, one row per body line, a row of @-mentions."""
    sent = document(make_channel().build_request(bot_message(make_message, ack_url=None, body="一\n二")).content)
    assert sent == {
        "msg_type": "post",
        "content": {
            "post": {
                "zh_cn": {
                    "title": "较大火灾",
                    "content": [
                        [{"tag": "text", "text": "一"}],
                        [{"tag": "text", "text": "二"}],
                        [{"tag": "at", "user_id": USER, "user_name": "王伟"}],
                    ],
                }
            }
        },
    }


def test_card_body_cannot_forge_a_mention(make_message: MessageFactory) -> None:
    """Markup in the body is escaped in the card, so a body cannot @-mention everyone."""
    card = document(make_channel().build_request(bot_message(make_message, body="<at id=all></at> & co")).content)
    assert card["card"]["elements"][0]["text"]["content"].startswith("&lt;at id=all&gt;&lt;/at&gt; &amp; co")


# Length limit


@pytest.mark.parametrize("form", ["text", "rich"])
def test_100kb_body_is_cut_to_fit_20kb_signed_keeping_the_ack_link(make_message: MessageFactory, form: str) -> None:
    """A 100 KB body is cut with a marker so the signed body fits 20,000 bytes, with drill marker and ack link."""
    message = bot_message(make_message, body="现场浓烟，请佩戴呼吸器。" * 3_000, drill=True)
    request = make_channel(format=form).build_request(message)
    signed = sent_through(request, FeishuSignAuth(SecretStr(SECRET)))
    assert MAX_BODY_BYTES - 200 < len(signed.content) <= MAX_BODY_BYTES
    text = json.dumps(document(signed.content), ensure_ascii=False)
    assert TRUNCATED_MARKERS["zh"] in text
    assert ACK in text
    assert "【演练】较大火灾" in text


def test_message_too_long_without_its_body_is_refused(make_message: MessageFactory) -> None:
    """A subject alone over the limit makes build_request raise, naming the delivery."""
    with pytest.raises(ChannelError, match="inc-1/notify-duty/r1/1"):
        make_channel().build_request(bot_message(make_message, subject="标" * 8_000))


# Batching


def test_batch_request_mentions_every_recipient_once(make_message: MessageFactory) -> None:
    """One card mentions every user id of the batch, each once."""
    users = ["ou_a", "ou_b", "ou_a", "ou_c"]
    batch = [bot_message(make_message, recipient_id=f"r{i}", address=u) for i, u in enumerate(users)]
    content = document(make_channel().build_batch_request(batch).content)["card"]["elements"][0]["text"]["content"]
    assert content.endswith("\n<at id=ou_a></at> <at id=ou_b></at> <at id=ou_c></at>")


def test_batch_of_different_subjects_is_refused(make_message: MessageFactory) -> None:
    """Messages with another subject cannot share one request."""
    batch = [bot_message(make_message), bot_message(make_message, recipient_id="r2", subject="别的")]
    with pytest.raises(ChannelError, match="differs"):
        make_channel().build_batch_request(batch)


# Answers


@pytest.mark.parametrize(
    ("code", "status", "retry_after"),
    [
        (0, DeliveryStatus.DELIVERED, None),
        (11232, DeliveryStatus.RATE_LIMITED, 1.0),
        (19021, DeliveryStatus.FAILED, None),
        (19024, DeliveryStatus.FAILED, None),
        (9499, DeliveryStatus.FAILED, None),
        (424242, DeliveryStatus.FAILED, None),
    ],
)
def test_code_decides_the_outcome(code: int, status: DeliveryStatus, retry_after: float | None) -> None:
    """Feishu's code is the outcome; 19021 fails at once because a retry carries the same secret and clock."""
    result = make_channel().parse_response(answer(json={"code": code, "msg": "m", "data": {}}))
    assert (result.status, result.retry_after) == (status, retry_after)
    assert f"code {code}" in result.reason


def test_rate_limit_honours_retry_after_and_legacy_statuscode() -> None:
    """A Retry-After header sets the wait; the legacy StatusCode field is read like code."""
    result = make_channel().parse_response(answer(json={"code": 11232, "msg": "m"}, headers={"Retry-After": "7"}))
    assert result.retry_after == 7.0
    legacy = make_channel().parse_response(answer(json={"StatusCode": 0, "StatusMessage": "success"}))
    assert legacy.status is DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    ("status", "text", "outcome"),
    [
        (200, "<html/>", DeliveryStatus.FAILED),
        (200, '{"code":"0"}', DeliveryStatus.FAILED),
        (500, "oops", DeliveryStatus.RETRY),
        (503, '{"code":99991400,"msg":"busy"}', DeliveryStatus.RETRY),
    ],
)
def test_unexpected_answers_never_raise(status: int, text: str, outcome: DeliveryStatus) -> None:
    """Bodies that are not Feishu's answer, or unknown codes on a 5xx, become FAILED or RETRY with a reason."""
    result = make_channel().parse_response(answer(status, text=text))
    assert (result.status, bool(result.reason)) == (outcome, True)


def test_hook_id_and_secret_never_appear_in_reprs_keys_or_reasons(make_message: MessageFactory) -> None:
    """The webhook id and secret are absent from reprs, the pacing key, and reasons that echo them."""
    config = FeishuConfig(name="duty-feishu", url=BOT_URL, secret=SECRET)
    bot = build_channel(config)
    reason = bot.parse_response(answer(json={"code": 19001, "msg": f"bad {HOOK_ID} {SECRET}"})).reason
    key = bot.pacing_key(bot_message(make_message))
    for shown in (repr(config), str(config), repr(bot), repr(bot.auth()), key, reason):
        assert HOOK_ID not in shown
        assert SECRET not in shown


@pytest.mark.parametrize("url", ["https://open.feishu.cn/open-apis/bot/v2/", "https://open.feishu.cn/hook/"])
def test_url_must_be_a_bot_webhook(url: str) -> None:
    """A url without a hook id is refused naming the channel."""
    with pytest.raises(ChannelError, match="'duty-feishu'"):
        make_channel(url=url)


# The twin, and end to end


@pytest.fixture
async def bot_twin() -> AsyncIterator[Simulator]:
    """A simulator that knows bot HOOK_ID with secret SECtest."""
    async with Simulator(credentials={"feishu": {HOOK_ID: SECRET}}) as simulator:
        yield simulator


def sim_channel(simulator: Simulator, **settings: Any) -> FeishuChannel:
    return make_channel(url=f"{simulator.url}/feishu/open-apis/bot/v2/hook/{HOOK_ID}", **settings)


async def delivered(messages: list[Message], bot: FeishuChannel) -> list[Any]:
    return await deliver(messages, {"duty-feishu": bot}, ledger=MemoryLedger(), backoff_base=0.01, backoff_cap=0.05)


async def test_signed_messages_are_accepted_end_to_end(bot_twin: Simulator, make_message: MessageFactory) -> None:
    """Signed text, post and card messages are answered code 0 and delivered once each."""
    messages = [
        bot_message(make_message),
        bot_message(make_message, recipient_id="r2", ack_url=None, body="二"),
    ]
    outcomes = await delivered(messages, sim_channel(bot_twin))
    outcomes += await delivered([bot_message(make_message, body="三")], sim_channel(bot_twin, format="text"))
    assert [(o.result.status, o.attempts) for o in outcomes] == [(DeliveryStatus.DELIVERED, 1)] * 3
    assert sorted(r["body"]["msg_type"] for r in bot_twin.records) == ["interactive", "post", "text"]
    assert all(r["signature_valid"] for r in bot_twin.records)


async def test_wrong_secret_gets_19021_and_fails_without_retrying(
    bot_twin: Simulator, make_message: MessageFactory
) -> None:
    """A wrong secret is refused with 19021: FAILED after one attempt."""
    [outcome] = await delivered([bot_message(make_message)], sim_channel(bot_twin, secret="SECwrong"))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert "code 19021" in outcome.result.reason
    assert bot_twin.records[0]["signature_valid"] is False


async def test_scripted_transient_failure_is_retried_and_delivered_exactly_once(
    bot_twin: Simulator, make_message: MessageFactory
) -> None:
    """Two 503s, then code 0: delivered on the third attempt, signed afresh each time."""
    bot_twin.script(f"/feishu/open-apis/bot/v2/hook/{HOOK_ID}", fail_times=2)
    [outcome] = await delivered([bot_message(make_message)], sim_channel(bot_twin))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [(r["status"], r["signature_valid"]) for r in bot_twin.records] == [(503, True), (503, True), (200, True)]


async def test_twin_answers_11232_past_5_a_second(bot_twin: Simulator, make_message: MessageFactory) -> None:
    """The twin allows 5 messages a second per bot; the 6th at once is answered code 11232."""
    bot = sim_channel(bot_twin)
    request = bot.build_request(bot_message(make_message))
    async with httpx.AsyncClient() as client:
        codes = [(await client.send(request, auth=bot.auth())).json()["code"] for _ in range(6)]
    assert codes == [0] * 5 + [11232]


async def test_twin_refuses_a_signature_older_than_an_hour(bot_twin: Simulator, make_message: MessageFactory) -> None:
    """A correct sign made 61 minutes ago is refused with 19021."""
    bot = sim_channel(bot_twin)
    stale = FeishuSignAuth(SecretStr(SECRET), clock=lambda: time.time() - 61 * 60)
    async with httpx.AsyncClient() as client:
        response = await client.send(bot.build_request(bot_message(make_message)), auth=stale)
    assert response.json()["code"] == 19021


async def test_twin_refuses_a_body_over_20kb(bot_twin: Simulator) -> None:
    """A hand-made body over 20,000 bytes is answered 9499 Bad Request."""
    bot = sim_channel(bot_twin)
    body = json.dumps({"msg_type": "text", "content": {"text": "x" * 20_000}}).encode()
    request = httpx.Request("POST", bot.config.url, content=body, headers={"content-type": "application/json"})
    async with httpx.AsyncClient() as client:
        response = await client.send(request, auth=bot.auth())
    assert response.json() == {"code": 9499, "msg": "Bad Request", "data": {}}


async def test_records_hold_the_sign_but_not_the_secret(bot_twin: Simulator, make_message: MessageFactory) -> None:
    """Records carry the sign (the signature itself) but not the secret; the webhook id only in the path."""
    await delivered([bot_message(make_message)], sim_channel(bot_twin))
    [record] = bot_twin.records
    assert SECRET not in json.dumps(record, ensure_ascii=False)
    assert HOOK_ID not in json.dumps({k: v for k, v in record.items() if k != "path"}, ensure_ascii=False)
    assert record["body"]["sign"]


async def test_records_never_hold_the_webhook_id(bot_twin: Simulator, make_message: MessageFactory) -> None:
    """A record's path ends in … instead of the webhook id, so the id appears nowhere in what the twin keeps."""
    await delivered([bot_message(make_message)], sim_channel(bot_twin))
    [record] = bot_twin.records
    assert record["path"] == "/feishu/open-apis/bot/v2/hook/…"
    assert HOOK_ID not in json.dumps(bot_twin.records, ensure_ascii=False)
