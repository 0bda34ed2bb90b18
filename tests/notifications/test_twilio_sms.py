"""The Twilio SMS channel and its twin: the form, HTTP Basic, 1,600 characters and segments, error codes, end to end."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import ValidationError

from muster.errors import ChannelError
from notifications import DeliveryOutcome, DeliveryStatus, Message, build_channel, deliver, parse_channel_config
from notifications.channels.twilio_sms import (
    MAX_BODY_CHARS,
    TRUNCATED_MARKERS,
    TwilioSmsChannel,
    TwilioSmsConfig,
    e164_number,
    sms_segments,
    utf16_length,
)
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

MessageFactory = Callable[..., Message]

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "f00dfeedcafe0123456789abcdefbeef"
SENDER = "+15005550006"
SERVICE = "MG0123456789abcdef0123456789abcdef"
ACK = "https://muster.example/ack/tok"
ENDPOINT = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


def make_channel(**settings: Any) -> TwilioSmsChannel:
    fields: dict[str, Any] = {"name": "duty-sms", "account_sid": SID, "auth_token": TOKEN, "from_number": SENDER}
    return TwilioSmsChannel(TwilioSmsConfig(**(fields | settings)))


def sms_message(make_message: MessageFactory, **overrides: Any) -> Message:
    return make_message(**({"channel": "duty-sms", "address": "+86 138-0000-0000"} | overrides))


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}


def answer(status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", ENDPOINT), **kwargs)


def error(status: int, code: int, message: str = "m") -> httpx.Response:
    more = f"https://www.twilio.com/docs/errors/{code}"
    return answer(status, json={"code": code, "message": message, "more_info": more, "status": status})


# The request


def test_form_has_e164_to_sender_framed_body_and_status_callback(make_message: MessageFactory) -> None:
    """A form POST to the account's Messages.json: To normalized to E.164, From, the framed Body, StatusCallback."""
    channel = make_channel(status_callback="https://muster.example/twilio/status")
    request = channel.build_request(sms_message(make_message, drill=True))
    assert (request.method, str(request.url)) == ("POST", ENDPOINT)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "To": "+8613800000000",
        "From": SENDER,
        "Body": f"【演练】较大火灾\n\n某化工厂发生火灾，请立即到岗。\n\n收到请确认：{ACK}",
        "StatusCallback": "https://muster.example/twilio/status",
    }


def test_messaging_service_sends_without_a_from_number(make_message: MessageFactory) -> None:
    """A channel configured with a Messaging Service sends MessagingServiceSid and no From."""
    request = make_channel(from_number=None, messaging_service_sid=SERVICE).build_request(sms_message(make_message))
    sent = form(request)
    assert sent["MessagingServiceSid"] == SERVICE and "From" not in sent


def test_basic_auth_carries_sid_and_token_only_in_the_authorization_header(make_message: MessageFactory) -> None:
    """Through a MockTransport the request carries Basic sid:token; the token is nowhere else."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM" + "0" * 32, "status": "queued", "num_segments": "1"})

    channel = make_channel()
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = client.send(channel.build_request(sms_message(make_message)), auth=channel.auth())
    [sent] = seen
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert TOKEN not in str(sent.url) and TOKEN.encode() not in sent.content
    assert channel.parse_response(response).status is DeliveryStatus.DELIVERED


def test_address_that_is_not_e164_is_refused_without_printing_it(make_message: MessageFactory) -> None:
    """A local number without a country code cannot be sent: ChannelError naming the recipient, not the number."""
    with pytest.raises(ChannelError, match=r"recipient 'r1' of inc-1/notify-duty/r1/1 has no E\.164") as refused:
        make_channel().build_request(sms_message(make_message, address="13712345678"))
    assert "13712345678" not in str(refused.value)


@pytest.mark.parametrize(
    ("address", "number"),
    [("+86 138 0000 0000", "+8613800000000"), ("+1 (415) 555-0100", "+14155550100"), ("0086138", None), ("", None)],
)
def test_e164_number_drops_separators_and_refuses_the_rest(address: str, number: str | None) -> None:
    """Spaces, brackets and dashes are dropped; anything without + and a country code is not E.164."""
    assert e164_number(address) == number


# Length and segments


def test_100kb_body_is_cut_to_1600_characters_keeping_drill_marker_and_ack_link(make_message: MessageFactory) -> None:
    """A 100 KB body is cut with a marker so Body is at most 1,600 characters, the ack link still last."""
    body = form(make_channel().build_request(sms_message(make_message, body="现场浓烟" * 25_000, drill=True)))["Body"]
    assert MAX_BODY_CHARS - 2 < utf16_length(body) <= MAX_BODY_CHARS
    assert body.startswith("【演练】较大火灾")
    assert body.endswith(f"{TRUNCATED_MARKERS['zh']}\n\n收到请确认：{ACK}")


def test_emoji_count_twice_against_the_1600(make_message: MessageFactory) -> None:
    """Characters beyond the BMP are two UTF-16 units, as Twilio counts them, so fewer fit."""
    body = form(make_channel().build_request(sms_message(make_message, body="🔥" * 2_000)))["Body"]
    assert utf16_length(body) <= MAX_BODY_CHARS < len(body) * 2


def test_message_too_long_without_its_body_is_refused(make_message: MessageFactory) -> None:
    """A subject of 2,000 characters alone cannot be sent: ChannelError naming the delivery."""
    with pytest.raises(ChannelError, match=r"inc-1/notify-duty/r1/1 is over 1600 characters"):
        make_channel().build_request(sms_message(make_message, subject="标" * 2_000))


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("x" * 306, 2),
        ("[" * 80, 1),
        ("[" * 81, 2),
        ("火" * 70, 1),
        ("火" * 71, 2),
        ("火" * 1_600, 24),
    ],
)
def test_segments_are_153_gsm7_or_67_ucs2_characters(text: str, segments: int) -> None:
    """GSM-7 text is 160 in one SMS, else 153 a segment; one Chinese character makes it UCS-2: 70, else 67."""
    assert sms_segments(text) == segments


# Answers


@pytest.mark.parametrize(
    ("response", "outcome", "named"),
    [
        (answer(201, json={"sid": "SM" + "a" * 32, "status": "queued", "num_segments": "2"}), "delivered", "SMaaaa"),
        (answer(200, json={"sid": "SM" + "b" * 32, "status": "accepted"}), "delivered", "SMbbbb"),
        (answer(201, text="<html>proxy</html>"), "failed", "without a message SID"),
        (error(400, 21211), "failed", "error 21211"),
        (error(400, 21614), "failed", "not a mobile number"),
        (error(401, 20003, "Authenticate"), "failed", "check account_sid and auth_token"),
        (error(429, 20429, "Too Many Requests"), "rate_limited", "safe to retry"),
        (error(400, 21611), "rate_limited", "queue is full"),
        (error(500, 20500), "retry", "error 20500"),
        (answer(503, text="<html>unavailable</html>"), "retry", "HTTP 503"),
        (error(400, 12345), "failed", "error 12345"),
    ],
)
def test_answer_decides_the_outcome_by_status_and_error_code(
    response: httpx.Response, outcome: str, named: str
) -> None:
    """201 with a SID delivered; 429/20429 and 21611 rate limited; 5xx retried; other codes failed for good."""
    result = make_channel().parse_response(response)
    assert (result.status.value, result.http_status) == (outcome, response.status_code)
    assert named in result.reason


def test_rate_limit_waits_as_twilio_asks() -> None:
    """429 with Retry-After 2 waits 2 s; a full sender queue waits a minute."""
    asked = make_channel().parse_response(answer(429, headers={"Retry-After": "2"}, json={"code": 20429}))
    assert (asked.status, asked.retry_after) == (DeliveryStatus.RATE_LIMITED, 2.0)
    assert make_channel().parse_response(error(400, 21611)).retry_after == 60.0


def test_reasons_never_hold_the_sid_or_the_token() -> None:
    """An error echoing the account's path and the token is reported without either."""
    echoed = error(404, 20404, f"The requested resource /2010-04-01/Accounts/{SID}/Messages.json was not found {TOKEN}")
    reason = make_channel().parse_response(echoed).reason
    assert "error 20404" in reason and SID not in reason and TOKEN not in reason


# Configuration


def test_token_and_sid_never_appear_in_reprs_or_the_pacing_key(make_message: MessageFactory) -> None:
    """repr and str of config and channel, and the pacing key, hold neither the token nor the SID."""
    config = TwilioSmsConfig(name="duty-sms", account_sid=SID, auth_token=TOKEN, from_number=SENDER)
    shown = [
        repr(config),
        str(config),
        repr(build_channel(config)),
        make_channel().pacing_key(sms_message(make_message)),
    ]
    assert all(TOKEN not in text and SID not in text for text in shown)


def test_channels_yaml_entry_builds_with_the_default_url() -> None:
    """A channels.yaml entry of type twilio_sms defaults its url to api.twilio.com, paced 1 SMS a second."""
    config = parse_channel_config(
        {"name": "duty-sms", "type": "twilio_sms", "account_sid": SID, "auth_token": TOKEN, "from_number": SENDER}
    )
    channel = build_channel(config)
    assert config.url == "https://api.twilio.com"
    assert [(r.count, r.per_s) for r in channel.rate_limits] == [(1, 1)]


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"from_number": None}, "from_number or messaging_service_sid"),
        ({"account_sid": "AC123"}, "account_sid"),
        ({"status_callback": "ftp://x"}, "status_callback"),
        ({"messaging_service_sid": "SV123"}, "messaging_service_sid"),
    ],
)
def test_config_needs_an_account_a_sender_and_an_http_callback(settings: dict[str, Any], problem: str) -> None:
    """A config without a sender, with a malformed SID or a non-http callback is refused, naming the field."""
    fields: dict[str, Any] = {"name": "duty-sms", "account_sid": SID, "auth_token": TOKEN, "from_number": SENDER}
    with pytest.raises(ValidationError, match=problem):
        TwilioSmsConfig(**(fields | settings))


def test_twilio_does_not_batch(make_message: MessageFactory) -> None:
    """A Message resource has one recipient, so a batch request is refused."""
    with pytest.raises(ChannelError, match="does not batch"):
        make_channel().build_batch_request([sms_message(make_message)] * 2)


# The twin, and end to end


@pytest.fixture
async def twilio_twin() -> AsyncIterator[Simulator]:
    """A simulator that knows account SID with auth token TOKEN."""
    async with Simulator(credentials={"twilio": {SID: TOKEN}}) as simulator:
        yield simulator


def sim_channel(simulator: Simulator, **settings: Any) -> TwilioSmsChannel:
    return make_channel(url=f"{simulator.url}/twilio", **settings)


async def delivered(messages: list[Message], channel: TwilioSmsChannel) -> list[DeliveryOutcome]:
    return await deliver(messages, {"duty-sms": channel}, ledger=MemoryLedger(), backoff_base=0.01, backoff_cap=0.05)


async def test_sms_is_delivered_end_to_end_with_its_message_sid(
    twilio_twin: Simulator, make_message: MessageFactory
) -> None:
    """A signed-in create is answered 201 queued; the reason names the SM… SID and the segments."""
    [outcome] = await delivered([sms_message(make_message)], sim_channel(twilio_twin))
    assert (outcome.result.status, outcome.result.http_status, outcome.attempts) == (DeliveryStatus.DELIVERED, 201, 1)
    assert "Twilio accepted message SM" in outcome.result.reason and "1 segments" in outcome.result.reason
    [record] = twilio_twin.records
    assert record["signature_valid"] is True
    assert record["body"]["To"] == "+8613800000000" and record["body"]["From"] == SENDER


async def test_wrong_token_fails_once_with_20003(twilio_twin: Simulator, make_message: MessageFactory) -> None:
    """A wrong auth token is answered 401 20003: FAILED after one attempt, neither token in the reason."""
    [outcome] = await delivered([sms_message(make_message)], sim_channel(twilio_twin, auth_token="0" * 32))
    assert (outcome.result.status, outcome.result.http_status, outcome.attempts) == (DeliveryStatus.FAILED, 401, 1)
    assert "error 20003" in outcome.result.reason and "0" * 32 not in outcome.result.reason


async def test_scripted_transient_failure_is_retried_and_delivered_exactly_once(
    twilio_twin: Simulator, make_message: MessageFactory
) -> None:
    """A 503 then 201: delivered on the second attempt, one message created."""
    twilio_twin.script(f"/twilio/2010-04-01/Accounts/{SID}/Messages.json", fail_times=1)
    [outcome] = await delivered([sms_message(make_message)], sim_channel(twilio_twin))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [r["status"] for r in twilio_twin.records] == [503, 201]


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"To": "13800000000", "From": SENDER, "Body": "x"}, 400, 21211),
        ({"To": "+8613800000000", "Body": "x"}, 400, 21603),
        ({"To": "+8613800000000", "From": SENDER, "Body": "火" * 1_601}, 400, 21617),
        ({"To": "+8613800000000", "From": SENDER}, 400, 21602),
    ],
)
async def test_twin_refuses_what_twilio_refuses(
    twilio_twin: Simulator, fields: dict[str, str], status: int, code: int
) -> None:
    """A number without country code, no sender, a body over 1,600 or none: Twilio's error JSON."""
    async with httpx.AsyncClient(auth=(SID, TOKEN)) as client:
        response = await client.post(f"{twilio_twin.url}/twilio/2010-04-01/Accounts/{SID}/Messages.json", data=fields)
    document = response.json()
    assert (response.status_code, document["code"], document["status"]) == (status, code, status)
    assert document["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


async def test_twin_answers_20429_beyond_a_set_limit(make_message: MessageFactory) -> None:
    """With limits={"twilio": (1, 60)} the second create within a minute is 429 code 20429, retried as such."""
    async with Simulator(credentials={"twilio": {SID: TOKEN}}, limits={"twilio": (1, 60.0)}) as simulator:
        channel = sim_channel(simulator)
        request = channel.build_request(sms_message(make_message))
        async with httpx.AsyncClient(auth=channel.auth()) as client:
            answers = [await client.send(request) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 429]
    assert answers[1].json()["code"] == 20429
    assert channel.parse_response(answers[1]).status is DeliveryStatus.RATE_LIMITED


async def test_twin_counts_ucs2_segments(twilio_twin: Simulator, make_message: MessageFactory) -> None:
    """A Chinese body of 1,600 characters is answered as 24 segments."""
    [outcome] = await delivered([sms_message(make_message, body="火" * 5_000)], sim_channel(twilio_twin))
    assert "24 segments" in outcome.result.reason


async def test_records_never_hold_the_token(twilio_twin: Simulator, make_message: MessageFactory) -> None:
    """The twin records the form and a fingerprint of the account, never the auth token."""
    await delivered([sms_message(make_message)], sim_channel(twilio_twin))
    assert TOKEN not in json.dumps(twilio_twin.records, ensure_ascii=False)
    assert twilio_twin.records[0]["name"].startswith("account-")


async def test_records_never_hold_the_account_sid(twilio_twin: Simulator, make_message: MessageFactory) -> None:
    """A record's path holds … instead of the account SID; the account is named by a fingerprint."""
    await delivered([sms_message(make_message)], sim_channel(twilio_twin))
    [record] = twilio_twin.records
    assert record["path"] == "/twilio/2010-04-01/Accounts/…/Messages.json"
    assert SID not in json.dumps(twilio_twin.records, ensure_ascii=False)
