"""The generic webhook channel: its payload, its size limit, and what its answers mean."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from muster.errors import ChannelError
from notifications import Channel, ChannelConfig, DeliveryResult, DeliveryStatus, Message, build_channel
from notifications.channels.webhook import MAX_BODY_BYTES, TRUNCATED_MARKER

ChannelFactory = Callable[..., Channel]
MessageFactory = Callable[..., Message]


def answer(channel: Channel, status: int, **kwargs: object) -> DeliveryResult:
    request = httpx.Request("POST", "http://127.0.0.1:9/webhook/ops")
    return channel.parse_response(httpx.Response(status, request=request, **kwargs))  # type: ignore[arg-type]


def test_payload_carries_the_documented_fields(make_channel: ChannelFactory, make_message: MessageFactory) -> None:
    """The JSON body has exactly the fields of the generic webhook payload, with the framed text."""
    request = make_channel().build_request(make_message(drill=True))
    payload = json.loads(request.content)
    assert request.method == "POST"
    assert str(request.url) == "http://127.0.0.1:9/webhook/ops"
    assert request.headers["content-type"] == "application/json"
    assert payload == {
        "type": "muster.message",
        "incident_id": "inc-1",
        "step_id": "notify-duty",
        "delivery_key": "inc-1/notify-duty/r1/1",
        "recipient": {"id": "r1", "name": "王伟", "address": "r1@duty", "role": "duty_officer"},
        "language": "zh",
        "subject": "较大火灾",
        "text": "【演练】较大火灾\n\n某化工厂发生火灾，请立即到岗。\n\n收到请确认：https://muster.example/ack/tok",
        "drill": True,
        "ack_url": "https://muster.example/ack/tok",
        "severity": "较大",
    }


def test_same_message_builds_the_same_request(make_channel: ChannelFactory, make_message: MessageFactory) -> None:
    """build_request is deterministic: same message, same body and webhook-id."""
    channel = make_channel()
    first, second = channel.build_request(make_message()), channel.build_request(make_message())
    assert first.content == second.content
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_oversized_body_is_truncated_with_a_marker_and_fits(
    make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """A body past 64 KiB is cut with '…(truncated)' so the whole JSON fits, keeping the ack link."""
    body = "火灾现场情况。" * 10_000 + 'with "quotes" and \\ backslashes\n' * 100
    request = make_channel().build_request(make_message(body=body))
    text = json.loads(request.content)["text"]
    assert len(request.content) <= MAX_BODY_BYTES
    assert len(request.content) > MAX_BODY_BYTES - 64  # cut as little as possible
    assert TRUNCATED_MARKER in text
    assert text.endswith("收到请确认：https://muster.example/ack/tok")


def test_body_just_within_the_limit_is_not_truncated(
    make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """A body that fits is sent whole, without the marker."""
    request = make_channel().build_request(make_message(body="x" * 60_000))
    assert TRUNCATED_MARKER not in json.loads(request.content)["text"]


def test_message_too_large_without_its_body_is_refused(
    make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """If even an empty body cannot fit, build_request raises a ChannelError naming the delivery."""
    with pytest.raises(ChannelError, match="inc-1/notify-duty/r1/1"):
        make_channel().build_request(make_message(subject="s" * MAX_BODY_BYTES))


def test_2xx_answers_are_delivered(make_channel: ChannelFactory) -> None:
    """200, 202 and 204 mean the message was accepted."""
    for status in (200, 202, 204):
        result = answer(make_channel(), status)
        assert (result.status, result.http_status) == (DeliveryStatus.DELIVERED, status)


def test_429_is_rate_limited_with_retry_after(make_channel: ChannelFactory) -> None:
    """429 is RATE_LIMITED and carries the Retry-After wait in seconds."""
    result = answer(make_channel(), 429, headers={"Retry-After": "7"})
    assert result == DeliveryResult(DeliveryStatus.RATE_LIMITED, "HTTP 429 rate limited (Retry-After 7 s)", 429, 7.0)


def test_429_retry_after_as_an_http_date_is_understood(make_channel: ChannelFactory) -> None:
    """A Retry-After given as an HTTP date in the past means retry now."""
    result = answer(make_channel(), 429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert (result.status, result.retry_after) == (DeliveryStatus.RATE_LIMITED, 0.0)


def test_503_408_and_425_are_retried(make_channel: ChannelFactory) -> None:
    """Server errors, request timeout and too-early are transient: RETRY with the body in the reason."""
    for status in (503, 500, 408, 425):
        result = answer(make_channel(), status, json={"error": "down for maintenance"})
        assert result.status is DeliveryStatus.RETRY
        assert result.reason == f'HTTP {status}: {{"error":"down for maintenance"}}'


def test_400_fails_for_good_with_status_and_snippet(make_channel: ChannelFactory) -> None:
    """Other 4xx answers are FAILED, naming the status and a short start of the body."""
    result = answer(make_channel(), 400, text="bad payload: " + "x" * 1000)
    assert (result.status, result.http_status) == (DeliveryStatus.FAILED, 400)
    assert result.reason.startswith("HTTP 400: bad payload: xxx")
    assert len(result.reason) < 250


def test_redirect_is_not_followed_and_fails(make_channel: ChannelFactory) -> None:
    """A 3xx answer fails, telling the operator to configure the final address."""
    result = answer(make_channel(), 301, headers={"Location": "https://elsewhere.example/"})
    assert result.status is DeliveryStatus.FAILED
    assert "redirect" in result.reason


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "not a url", "http://"])
def test_channel_url_must_be_http_or_https(url: str) -> None:
    """A webhook channel refuses a url that is not http(s) with a host."""
    with pytest.raises(ChannelError, match=r"'ops'.*http"):
        build_channel(ChannelConfig(name="ops", type="webhook", url=url))


def test_malformed_secret_is_refused_when_the_channel_is_built() -> None:
    """A bad secret fails at configuration time, naming the channel and not the secret."""
    with pytest.raises(ChannelError, match="'ops'") as raised:
        build_channel(ChannelConfig(name="ops", type="webhook", url="http://127.0.0.1:9/", secret="whsec_%%%%"))
    assert "%%%%" not in str(raised.value)
