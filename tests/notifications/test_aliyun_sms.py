"""The Aliyun SMS channel and its twin: RPC signing, template variables and their limits, Codes, end to end."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, quote_plus

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from muster.errors import ChannelError
from notifications import DeliveryStatus, Message, build_channel, deliver, parse_channel_config
from notifications.channels.aliyun_sms import (
    DEFAULT_URL,
    AliyunRpcAuth,
    AliyunSmsChannel,
    AliyunSmsConfig,
    TemplateVariable,
    aliyun_signature,
    canonical_query,
    percent_encode,
)
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

MessageFactory = Callable[..., Message]

KEY_ID = "LTAI5tMusterTestKey01"
KEY_SECRET = "muster-test-access-key-secret-0001"
ACK = "https://muster.example/ack/tok"
NONCE = "45e25e9b-0a6f-4070-8c85-2956eda1b466"


def make_channel(url: str = DEFAULT_URL, **settings: Any) -> AliyunSmsChannel:
    fields: dict[str, Any] = {
        "name": "duty-sms",
        "url": url,
        "access_key_id": KEY_ID,
        "access_key_secret": KEY_SECRET,
        "sign_name": "某市应急管理局",
        "template_code": "SMS_480000001",
    }
    return AliyunSmsChannel(AliyunSmsConfig(**(fields | settings)))


def sms_message(make_message: MessageFactory, **overrides: Any) -> Message:
    return make_message(**({"channel": "duty-sms", "address": "13800000000"} | overrides))


def template_param(request: httpx.Request) -> dict[str, str]:
    parsed: dict[str, str] = json.loads(request.url.params["TemplateParam"])
    return parsed


def documented_signature(params: dict[str, str], secret: str) -> str:
    """The documented algorithm written out again: Java-style URL encoding, then the three replacements."""

    def encode(value: str) -> str:
        return quote_plus(value, safe="", encoding="utf-8").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    query = "&".join(f"{encode(k)}={encode(params[k])}" for k in sorted(params))
    string_to_sign = "GET&" + encode("/") + "&" + encode(query)
    return base64.b64encode(hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def answer(status: int = 200, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", DEFAULT_URL), **kwargs)


def sent_through(request: httpx.Request, auth: httpx.Auth) -> httpx.Request:
    """Send through a MockTransport and return the request as it left."""
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, json={"Code": "OK", "Message": "OK", "BizId": "1^0", "RequestId": "R"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.send(request, auth=auth)
    return seen[0]


# Signing


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~", "~"),
        ("+", "%2B"),
        ("/", "%2F"),
        ("-_.", "-_."),
        ("阿里", "%E9%98%BF%E9%87%8C"),
        ('{"a":"b"}', "%7B%22a%22%3A%22b%22%7D"),
    ],
)
def test_percent_encoding_follows_the_documented_rules(value: str, encoded: str) -> None:
    """RFC 3986 as Aliyun signs: space is %20 not +, * is %2A, ~ stays, UTF-8 bytes."""
    assert percent_encode(value) == encoded


def test_signature_matches_aliyuns_documented_example() -> None:
    """Aliyun's own SendSms example (testId/testSecret, 2017-07-12T02:42:19Z) signs as zJDF+Lrzhj/ThnlvIToysFRq6t4=."""
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": NONCE,
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert documented_signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_sent_request_is_signed_as_the_documented_algorithm_computes(make_message: MessageFactory) -> None:
    """The query that leaves carries the AccessKeyId, nonce, UTC timestamp and a Signature the test recomputes."""
    request = make_channel().build_request(sms_message(make_message, drill=True))
    auth = AliyunRpcAuth(KEY_ID, SecretStr(KEY_SECRET), clock=lambda: 1_700_000_000.0, nonce=lambda: NONCE)
    sent = sent_through(request, auth)
    params = dict(parse_qsl(sent.url.query.decode(), keep_blank_values=True))
    signature = params.pop("Signature")
    assert signature == documented_signature(params, KEY_SECRET)
    assert (params["AccessKeyId"], params["SignatureNonce"]) == (KEY_ID, NONCE)
    assert (params["Timestamp"], params["SignatureMethod"], params["SignatureVersion"]) == (
        "2023-11-14T22:13:20Z",
        "HMAC-SHA1",
        "1.0",
    )
    assert sent.url.query.decode() == canonical_query(params) + "&Signature=" + percent_encode(signature)
    assert sent.method == "GET"


def test_each_attempt_gets_a_fresh_nonce_and_timestamp(make_message: MessageFactory) -> None:
    """Two attempts carry different nonces and timestamps; the built request holds no key id or signature."""
    clock, nonces = iter([1_700_000_000.0, 1_700_000_005.0]), iter(["n1", "n2"])
    auth = AliyunRpcAuth(KEY_ID, SecretStr(KEY_SECRET), clock=lambda: next(clock), nonce=lambda: next(nonces))
    request = make_channel().build_request(sms_message(make_message))
    first, second = sent_through(request, auth).url.params, sent_through(request, auth).url.params
    assert (first["SignatureNonce"], second["SignatureNonce"]) == ("n1", "n2")
    assert first["Timestamp"] != second["Timestamp"]
    assert first["Signature"] != second["Signature"]
    assert "AccessKeyId" not in request.url.params and "Signature" not in request.url.params


# Template variables


def test_template_param_fills_title_content_and_link(make_message: MessageFactory) -> None:
    """By default the subject (drill-marked), body and ack link fill title, content and link."""
    request = make_channel().build_request(sms_message(make_message, drill=True, body="请立即到岗。"))
    assert template_param(request) == {"title": "（演练）较大火灾", "content": "请立即到岗。", "link": ACK}
    params = request.url.params
    assert (params["Action"], params["Version"], params["PhoneNumbers"]) == ("SendSms", "2017-05-25", "13800000000")
    assert (params["SignName"], params["TemplateCode"]) == ("某市应急管理局", "SMS_480000001")
    assert params["RegionId"] == "cn-hangzhou"


def test_english_drill_marker_is_parenthesised_not_bracketed(make_message: MessageFactory) -> None:
    """【】 is reserved for the SMS signature, so an English drill reads "(DRILL) Fire"."""
    message = sms_message(make_message, drill=True, language="en", subject="Fire")
    assert template_param(make_channel().build_request(message))["title"] == "(DRILL) Fire"


def test_long_body_and_subject_are_cut_to_35_characters_with_a_marker(make_message: MessageFactory) -> None:
    """A 100 KB body and a long subject are cut to 35 characters each, ending with …; the drill marker is kept."""
    message = sms_message(make_message, body="现场浓烟\n\n请佩戴呼吸器。" * 10_000, subject="标" * 50, drill=True)
    values = template_param(make_channel().build_request(message))
    assert len(values["content"]) == 35 and values["content"].endswith("…")
    assert "\n" not in values["content"]
    assert len(values["title"]) == 35 and values["title"].startswith("（演练）")
    assert values["link"] == ACK


def test_ack_link_longer_than_its_variable_is_refused_not_cut(make_message: MessageFactory) -> None:
    """A cut link could not be opened, so a link over its max_chars fails the build."""
    with pytest.raises(ChannelError, match=r"ack link of inc-1/notify-duty/r1/1 has 130 characters, over the 100"):
        make_channel().build_request(sms_message(make_message, ack_url="https://muster.example/ack/" + "t" * 103))


def test_custom_template_param_and_missing_values(make_message: MessageFactory) -> None:
    """Variables map to chosen fields with their own limits (default 35, 100 for a link); empty values become "-"."""
    mapping = {
        "event": {"source": "subject", "max_chars": 10},
        "grade": {"source": "severity"},
        "url": {"source": "ack_url"},
    }
    request = make_channel(template_param=mapping).build_request(sms_message(make_message, severity="", ack_url=None))
    assert template_param(request) == {"event": "较大火灾", "grade": "-", "url": "-"}
    assert (TemplateVariable(source="ack_url").limit, TemplateVariable(source="body").limit) == (100, 35)


def test_template_param_must_carry_the_subject_or_body() -> None:
    """A template without the subject or body could not show a drill marker: refused when the channel is built."""
    with pytest.raises(ChannelError, match="subject or the body"):
        make_channel(template_param={"url": {"source": "ack_url"}})


def test_address_that_is_not_a_mobile_number_is_refused(make_message: MessageFactory) -> None:
    """A recipient without a mobile number fails the build, naming the delivery."""
    with pytest.raises(ChannelError, match="inc-1/notify-duty/r1/1 has no mobile number"):
        make_channel().build_request(sms_message(make_message, address="wang.wei@duty"))


# Batching


def test_batch_sends_one_sendsms_to_every_number(make_message: MessageFactory) -> None:
    """One request lists every number once, comma-separated, with one set of template variables."""
    numbers = ["13800000001", "13800000002", "13800000001"]
    batch = [sms_message(make_message, recipient_id=f"r{i}", address=n) for i, n in enumerate(numbers)]
    request = make_channel().build_batch_request(batch)
    assert request.url.params["PhoneNumbers"] == "13800000001,13800000002"
    assert AliyunSmsChannel.max_batch == 1000


def test_batch_filling_the_template_differently_is_refused(make_message: MessageFactory) -> None:
    """Messages whose template variables differ (here the severity) cannot share one SendSms."""
    mapping = {"content": {"source": "body"}, "grade": {"source": "severity"}}
    batch = [sms_message(make_message), sms_message(make_message, recipient_id="r2", severity="重大")]
    with pytest.raises(ChannelError, match="fills the template differently"):
        make_channel(template_param=mapping).build_batch_request(batch)


# Answers


@pytest.mark.parametrize(
    ("status", "code", "message", "outcome", "retry_after"),
    [
        (200, "OK", "OK", DeliveryStatus.DELIVERED, None),
        (200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", DeliveryStatus.RATE_LIMITED, 60.0),
        (200, "isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", DeliveryStatus.RATE_LIMITED, 3600.0),
        (200, "isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:50", DeliveryStatus.RATE_LIMITED, 86400.0),
        (400, "Throttling.User", "Request was denied due to user flow control.", DeliveryStatus.RATE_LIMITED, 1.0),
        (200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", DeliveryStatus.FAILED, None),
        (200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法", DeliveryStatus.FAILED, None),
        (200, "isv.AMOUNT_NOT_ENOUGH", "账户余额不足", DeliveryStatus.FAILED, None),
        (404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", DeliveryStatus.FAILED, None),
        (200, "isp.SYSTEM_ERROR", "系统错误", DeliveryStatus.RETRY, None),
        (503, "ServiceUnavailable", "The request has failed due to a temporary failure", DeliveryStatus.RETRY, None),
        (500, "SomethingNew", "?", DeliveryStatus.RETRY, None),
    ],
)
def test_code_decides_the_outcome(
    status: int, code: str, message: str, outcome: DeliveryStatus, retry_after: float | None
) -> None:
    """OK delivers; BUSINESS_LIMIT_CONTROL waits its window; isv.* fails; system errors and 5xx retry."""
    result = make_channel().parse_response(answer(status, json={"RequestId": "R", "Code": code, "Message": message}))
    assert (result.status, result.retry_after, result.http_status) == (outcome, retry_after, status)
    assert code in result.reason


def test_signature_mismatch_reason_hides_the_string_to_sign_and_the_key() -> None:
    """SignatureDoesNotMatch quotes the server's string to sign, which holds the AccessKeyId: it is cut."""
    message = f"Specified signature is not matched. server string to sign is:GET&%2F&AccessKeyId%3D{KEY_ID}"
    result = make_channel().parse_response(answer(400, json={"Code": "SignatureDoesNotMatch", "Message": message}))
    assert result.status is DeliveryStatus.FAILED
    assert KEY_ID not in result.reason and "string to sign" not in result.reason
    assert "check access_key_secret" in result.reason


@pytest.mark.parametrize(("status", "text"), [(200, "<xml/>"), (200, "{}"), (502, "bad gateway")])
def test_answers_without_a_code_never_raise(status: int, text: str) -> None:
    """An answer without Code is FAILED on 2xx and RETRY on 5xx, with a reason."""
    result = make_channel().parse_response(answer(status, text=text))
    assert result.status is (DeliveryStatus.RETRY if status >= 500 else DeliveryStatus.FAILED)


def test_access_key_never_appears_in_reprs_or_pacing_key(make_message: MessageFactory) -> None:
    """Neither the AccessKeyId nor its secret shows in the config's, channel's or auth's repr, or the pacing key."""
    sms = make_channel()
    shown = [repr(sms.config), str(sms.config), repr(sms), repr(sms.auth()), sms.pacing_key(sms_message(make_message))]
    assert not [s for s in shown if KEY_ID in s or KEY_SECRET in s]


def test_channels_yaml_entry_parses_with_defaults() -> None:
    """A minimal entry gets the default endpoint, region and template mapping; a missing secret is refused."""
    entry = {
        "name": "duty-sms",
        "type": "aliyun_sms",
        "access_key_id": KEY_ID,
        "access_key_secret": KEY_SECRET,
        "sign_name": "某市应急管理局",
        "template_code": "SMS_1",
    }
    config = parse_channel_config(entry)
    assert isinstance(config, AliyunSmsConfig)
    assert (config.url, config.region_id) == (DEFAULT_URL, "cn-hangzhou")
    assert sorted(config.template_param) == ["content", "link", "title"]
    with pytest.raises(ValidationError, match="access_key_secret"):
        parse_channel_config({k: v for k, v in entry.items() if k != "access_key_secret"})


# The twin, and end to end


@pytest.fixture
async def sms_twin() -> AsyncIterator[Simulator]:
    """A simulator that knows AccessKey KEY_ID."""
    async with Simulator(credentials={"aliyun": {KEY_ID: KEY_SECRET}}) as simulator:
        yield simulator


def sim_channel(simulator: Simulator, **settings: Any) -> AliyunSmsChannel:
    return make_channel(url=f"{simulator.url}/aliyun/", **settings)


async def delivered(messages: list[Message], sms: AliyunSmsChannel) -> list[Any]:
    return await deliver(messages, {"duty-sms": sms}, ledger=MemoryLedger(), backoff_base=0.01, backoff_cap=0.05)


async def test_signed_sms_is_accepted_end_to_end(sms_twin: Simulator, make_message: MessageFactory) -> None:
    """A signed SendSms is answered OK and delivered once; the twin records the template variables."""
    [outcome] = await delivered([sms_message(make_message, drill=True)], sim_channel(sms_twin))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert outcome.result.reason.startswith("Aliyun SMS OK (BizId ")
    [record] = sms_twin.records
    assert (record["signature_valid"], record["status"]) == (True, 200)
    assert json.loads(record["body"]["TemplateParam"])["title"] == "（演练）较大火灾"


async def test_wrong_secret_gets_signature_does_not_match_and_fails(
    sms_twin: Simulator, make_message: MessageFactory
) -> None:
    """A wrong AccessKeySecret is refused with SignatureDoesNotMatch: FAILED after one attempt, no key in the reason."""
    [outcome] = await delivered([sms_message(make_message)], sim_channel(sms_twin, access_key_secret="wrong"))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert "SignatureDoesNotMatch" in outcome.result.reason
    assert KEY_ID not in outcome.result.reason
    assert sms_twin.records[0]["signature_valid"] is False


async def test_unknown_access_key_fails(sms_twin: Simulator, make_message: MessageFactory) -> None:
    """An AccessKeyId the twin does not know is refused 404 InvalidAccessKeyId.NotFound and fails."""
    [outcome] = await delivered([sms_message(make_message)], sim_channel(sms_twin, access_key_id="LTAIunknown"))
    assert outcome.result.status is DeliveryStatus.FAILED
    assert "InvalidAccessKeyId.NotFound" in outcome.result.reason


async def test_scripted_transient_failure_is_retried_and_delivered_exactly_once(
    sms_twin: Simulator, make_message: MessageFactory
) -> None:
    """Two 503s then OK: delivered on the third attempt, each with its own nonce (no SignatureNonceUsed)."""
    sms_twin.script("/aliyun/", fail_times=2)
    [outcome] = await delivered([sms_message(make_message)], sim_channel(sms_twin))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [r["status"] for r in sms_twin.records] == [503, 503, 200]


async def test_batch_reaches_the_twin_with_every_number(sms_twin: Simulator, make_message: MessageFactory) -> None:
    """A signed batch SendSms to three numbers is answered OK."""
    batch = [sms_message(make_message, recipient_id=f"r{i}", address=f"1390000000{i}") for i in range(3)]
    sms = sim_channel(sms_twin)
    async with httpx.AsyncClient() as client:
        response = await client.send(sms.build_batch_request(batch), auth=sms.auth())
    assert sms.parse_response(response).status is DeliveryStatus.DELIVERED
    assert sms_twin.records[0]["body"]["PhoneNumbers"] == "13900000000,13900000001,13900000002"


async def test_twin_refuses_a_replayed_nonce(sms_twin: Simulator, make_message: MessageFactory) -> None:
    """The same SignatureNonce twice within 15 minutes is refused SignatureNonceUsed, which the channel retries."""
    sms = sim_channel(sms_twin)
    auth = AliyunRpcAuth(KEY_ID, SecretStr(KEY_SECRET), nonce=lambda: "same-nonce")
    request = sms.build_request(sms_message(make_message))
    async with httpx.AsyncClient() as client:
        first, second = await client.send(request, auth=auth), await client.send(request, auth=auth)
    assert (first.json()["Code"], second.json()["Code"]) == ("OK", "SignatureNonceUsed")
    assert sms.parse_response(second).status is DeliveryStatus.RETRY


async def test_twin_limits_each_number_per_day(make_message: MessageFactory) -> None:
    """Past the per-number limit the twin answers isv.BUSINESS_LIMIT_CONTROL (limit shrunk to 2 for the test)."""
    async with Simulator(credentials={"aliyun": {KEY_ID: KEY_SECRET}}, limits={"aliyun": (2, 86400.0)}) as simulator:
        sms = sim_channel(simulator)
        request = sms.build_request(sms_message(make_message))
        async with httpx.AsyncClient() as client:
            codes = [(await client.send(request, auth=sms.auth())).json()["Code"] for _ in range(3)]
        assert codes == ["OK", "OK", "isv.BUSINESS_LIMIT_CONTROL"]


async def test_records_never_hold_the_access_key(sms_twin: Simulator, make_message: MessageFactory) -> None:
    """The twin's records hold the business parameters, never the AccessKeyId, its secret or the signature."""
    await delivered([sms_message(make_message)], sim_channel(sms_twin))
    recorded = json.dumps(sms_twin.records, ensure_ascii=False)
    assert KEY_ID not in recorded and KEY_SECRET not in recorded and "Signature" not in recorded


def test_registry_builds_the_aliyun_channel() -> None:
    """type aliyun_sms is registered and builds an AliyunSmsChannel."""
    config = AliyunSmsConfig(
        name="duty-sms", access_key_id=KEY_ID, access_key_secret=SecretStr(KEY_SECRET), sign_name="s", template_code="t"
    )
    assert isinstance(build_channel(config), AliyunSmsChannel)


async def test_deliver_sends_same_text_to_many_numbers_as_one_sendsms(
    sms_twin: Simulator, make_message: MessageFactory
) -> None:
    """deliver() batches same-text SMS on one account into one SendSms listing every number."""
    batch = [sms_message(make_message, recipient_id=f"r{i}", address=f"1390000000{i}") for i in range(3)]
    outcomes = await delivered(batch, sim_channel(sms_twin))
    assert [o.result.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 3
    [record] = sms_twin.records
    assert record["body"]["PhoneNumbers"] == "13900000000,13900000001,13900000002"


async def test_reset_forgets_the_nonces_the_twin_has_seen(sms_twin: Simulator, make_message: MessageFactory) -> None:
    """After the simulator's reset a nonce used before is accepted again: the twin's own state is cleared too."""
    sms = sim_channel(sms_twin)
    auth = AliyunRpcAuth(KEY_ID, SecretStr(KEY_SECRET), nonce=lambda: "same-nonce")
    request = sms.build_request(sms_message(make_message))
    async with httpx.AsyncClient() as client:
        before = (await client.send(request, auth=auth)).json()["Code"]
        sms_twin.reset()
        after = (await client.send(request, auth=auth)).json()["Code"]
    assert (before, after) == ("OK", "OK")
