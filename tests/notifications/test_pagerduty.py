"""The PagerDuty Events v2 channel and its twin: events, dedup keys, severities, limits, answers, alerts end to end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from muster.errors import ChannelError
from notifications import DeliveryOutcome, DeliveryStatus, Message, build_channel, deliver, parse_channel_config
from notifications.channels.pagerduty import (
    DEFAULT_URL,
    MAX_BODY_BYTES,
    MAX_SUMMARY_CHARS,
    PagerDutyChannel,
    PagerDutyConfig,
    pagerduty_dedup_key,
    pagerduty_severity,
    pagerduty_status_request,
)
from notifications.framing import TRUNCATED_MARKERS
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

MessageFactory = Callable[..., Message]

ROUTING_KEY = "R0MUSTERPAGERDUTYKEY0000000000AB"
ACK = "https://muster.example/ack/tok"


def make_config(**settings: Any) -> PagerDutyConfig:
    return PagerDutyConfig(**({"name": "duty-pd", "routing_key": ROUTING_KEY} | settings))


def make_channel(**settings: Any) -> PagerDutyChannel:
    return PagerDutyChannel(make_config(**settings))


def pd_message(make_message: MessageFactory, **overrides: Any) -> Message:
    return make_message(**({"channel": "duty-pd", "severity": "relatively_serious"} | overrides))


def event(request: httpx.Request) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(request.content)
    return parsed


def answer(status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", DEFAULT_URL), **kwargs)


# The event


def test_trigger_event_carries_summary_severity_details_and_the_ack_link(make_message: MessageFactory) -> None:
    """A trigger: routing key, dedup_key, payload (summary, source, severity, component, group, class, details)."""
    channel = make_channel(source="muster.county", component="duty-office", group="fire", **{"class": "hazchem"})
    request = channel.build_request(pd_message(make_message, drill=True))
    assert (request.method, str(request.url)) == ("POST", DEFAULT_URL)
    assert event(request) == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": pagerduty_dedup_key("inc-1", "notify-duty", "r1"),
        "client": "Muster",
        "links": [{"href": ACK, "text": "确认收到"}],
        "payload": {
            "summary": "【演练】较大火灾 — 某化工厂发生火灾，请立即到岗。",
            "source": "muster.county",
            "severity": "error",
            "component": "duty-office",
            "group": "fire",
            "class": "hazchem",
            "custom_details": {
                "incident_id": "inc-1",
                "step_id": "notify-duty",
                "recipient_id": "r1",
                "recipient": "王伟",
                "role": "duty_officer",
                "grade": "relatively_serious",
                "drill": True,
                "ack_url": ACK,
                "subject": "【演练】较大火灾",
                "body": "某化工厂发生火灾，请立即到岗。",
            },
        },
    }


def test_event_time_is_the_incidents_occurred_at_in_utc(make_message: MessageFactory) -> None:
    """A message's occurred_at is sent as payload.timestamp, ISO 8601 in UTC; the same message builds the same event."""
    occurred = datetime(2024, 5, 1, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    message = pd_message(make_message, occurred_at=occurred)
    channel = make_channel()
    assert event(channel.build_request(message))["payload"]["timestamp"] == "2024-05-01T08:30:00+00:00"
    assert channel.build_request(message).content == channel.build_request(message).content


def test_event_without_occurred_at_carries_no_timestamp(make_message: MessageFactory) -> None:
    """Without occurred_at the payload has no timestamp: PagerDuty stamps the time it receives the event."""
    assert "timestamp" not in event(make_channel().build_request(pd_message(make_message)))["payload"]


def test_occurred_at_without_a_time_zone_is_refused_naming_the_channel(make_message: MessageFactory) -> None:
    """A naive occurred_at cannot be put in UTC: ChannelError naming the channel and the message."""
    message = pd_message(make_message, occurred_at=datetime(2024, 5, 1, 16, 30))
    with pytest.raises(ChannelError, match=r"'duty-pd': message inc-1/notify-duty/r1/1 has an occurred_at without"):
        make_channel().build_request(message)


@pytest.mark.parametrize(
    ("grade", "severity"),
    [
        ("extraordinarily_serious", "critical"),
        ("serious", "critical"),
        ("relatively_serious", "error"),
        ("ordinary", "warning"),
        ("较大", "error"),
        ("", "info"),
        ("unheard_of", "info"),
    ],
)
def test_incident_grade_maps_to_pagerduty_severity(grade: str, severity: str) -> None:
    """特别重大/重大 are critical, 较大 error, 一般 warning, anything else info."""
    assert pagerduty_severity(grade) == severity


def test_dedup_key_is_stable_across_builds_and_rounds_and_distinct_per_recipient(make_message: MessageFactory) -> None:
    """The same incident, step and recipient give one dedup_key whatever the round; another recipient another key."""
    channel = make_channel()
    first = event(channel.build_request(pd_message(make_message)))["dedup_key"]
    again = event(channel.build_request(pd_message(make_message)))["dedup_key"]
    round_2 = event(channel.build_request(pd_message(make_message, delivery_key="inc-1/notify-duty/r1/2")))["dedup_key"]
    other = event(channel.build_request(pd_message(make_message, recipient_id="r2")))["dedup_key"]
    assert first == again == round_2 != other


def test_dedup_key_stays_within_255_characters_and_is_unambiguous() -> None:
    """A 1,000-character incident id still gives a key ≤ 255; ids split differently give different keys."""
    assert len(pagerduty_dedup_key("i" * 1_000, "s" * 1_000, "r" * 1_000)) <= 255
    assert pagerduty_dedup_key("a/b", "c", "d") != pagerduty_dedup_key("a", "b/c", "d")


def test_status_request_acknowledges_or_resolves_by_dedup_key() -> None:
    """pagerduty_status_request builds {routing_key, event_action, dedup_key} and nothing else."""
    request = pagerduty_status_request(make_config(), action="acknowledge", dedup_key="muster/inc-1/abc")
    assert event(request) == {
        "routing_key": ROUTING_KEY,
        "event_action": "acknowledge",
        "dedup_key": "muster/inc-1/abc",
    }
    with pytest.raises(ChannelError, match="1 to 255"):
        pagerduty_status_request(make_config(), action="resolve", dedup_key="k" * 256)


def test_channel_configured_to_resolve_sends_no_payload(make_message: MessageFactory) -> None:
    """event_action resolve sends the dedup_key of the message's alert and no payload."""
    sent = event(make_channel(event_action="resolve").build_request(pd_message(make_message)))
    assert sent == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": pagerduty_dedup_key("inc-1", "notify-duty", "r1"),
    }


# Limits


def test_100kb_body_cuts_the_summary_to_1024_and_keeps_the_ack_link(make_message: MessageFactory) -> None:
    """A 100 KB body: summary cut to 1,024 characters led by the drill marker; body and ack link in the event."""
    sent = event(make_channel().build_request(pd_message(make_message, body="浓烟" * 50_000, drill=True)))
    summary = sent["payload"]["summary"]
    assert len(summary) == MAX_SUMMARY_CHARS and summary.startswith("【演练】较大火灾") and summary.endswith("…")
    assert sent["links"] == [{"href": ACK, "text": "确认收到"}]
    assert sent["payload"]["custom_details"]["ack_url"] == ACK


def test_1mb_body_is_cut_so_the_event_fits_512kb(make_message: MessageFactory) -> None:
    """A 1 MB body is cut with a marker so the whole event is at most 512 KB, the ack link kept."""
    request = make_channel().build_request(pd_message(make_message, body="x" * 1_000_000))
    assert MAX_BODY_BYTES - 16 < len(request.content) <= MAX_BODY_BYTES
    sent = event(request)
    assert sent["payload"]["custom_details"]["body"].endswith(TRUNCATED_MARKERS["zh"])
    assert sent["links"][0]["href"] == ACK


# Answers


@pytest.mark.parametrize(
    ("response", "outcome", "named"),
    [
        (answer(202, json={"status": "success", "message": "Event processed", "dedup_key": "k1"}), "delivered", "k1"),
        (
            answer(400, json={"status": "invalid event", "message": "Event object is invalid", "errors": ["bad"]}),
            "failed",
            "do not retry",
        ),
        (answer(429, json={"status": "throttle exceeded", "message": "slow down"}), "rate_limited", "120 events"),
        (answer(500, text="oops"), "retry", "HTTP 500"),
        (answer(503, text=""), "retry", "an empty body"),
        (answer(202, text="<html>proxy</html>"), "failed", "without success"),
        (answer(404, text="Not Found"), "failed", "HTTP 404"),
    ],
)
def test_answer_decides_the_outcome(response: httpx.Response, outcome: str, named: str) -> None:
    """202 success delivered; 400 failed and never retried; 429 rate limited; 5xx retried; other answers failed."""
    result = make_channel().parse_response(response)
    assert (result.status.value, result.http_status) == (outcome, response.status_code)
    assert named in result.reason


def test_invalid_event_reason_names_pagerdutys_errors_without_the_routing_key() -> None:
    """400 errors are quoted in the reason, with the routing key cut out of them."""
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": [f"bad key {ROUTING_KEY}"]}
    reason = make_channel().parse_response(answer(400, json=body)).reason
    assert "invalid event: Event object is invalid" in reason and ROUTING_KEY not in reason


def test_429_waits_as_asked_when_pagerduty_says() -> None:
    """A Retry-After on a 429 is kept; without one delivery backs off on its own."""
    result = make_channel().parse_response(answer(429, headers={"Retry-After": "5"}, json={}))
    assert (result.status, result.retry_after) == (DeliveryStatus.RATE_LIMITED, 5.0)
    assert make_channel().parse_response(answer(429, json={})).retry_after is None


# Configuration


def test_routing_key_never_appears_in_reprs_or_the_pacing_key(make_message: MessageFactory) -> None:
    """repr and str of config and channel and the pacing key never hold the routing key."""
    config = make_config()
    shown = [
        repr(config),
        str(config),
        repr(build_channel(config)),
        make_channel().pacing_key(pd_message(make_message)),
    ]
    assert all(ROUTING_KEY not in text for text in shown)


def test_routing_key_of_another_length_is_refused_without_showing_it() -> None:
    """A routing key that is not 32 letters and digits is refused, and the error does not echo it."""
    with pytest.raises(ValidationError, match="32 letters and digits") as refused:
        make_config(routing_key="short-key-value")
    assert "short-key-value" not in str(refused.value)


def test_channels_yaml_entry_with_class_builds_with_defaults() -> None:
    """type pagerduty defaults url, event_action trigger and source muster, takes class, paces 120 a minute."""
    config = parse_channel_config({"name": "duty-pd", "type": "pagerduty", "routing_key": ROUTING_KEY, "class": "fire"})
    assert isinstance(config, PagerDutyConfig)
    assert (config.url, config.event_action, config.source, config.event_class) == (
        DEFAULT_URL,
        "trigger",
        "muster",
        "fire",
    )
    assert [(r.count, r.per_s) for r in build_channel(config).rate_limits] == [(120, 60)]


def test_pagerduty_does_not_batch(make_message: MessageFactory) -> None:
    """One alert per recipient, so a batch request is refused."""
    with pytest.raises(ChannelError, match="does not batch"):
        make_channel().build_batch_request([pd_message(make_message)] * 2)


# The twin, and end to end


@pytest.fixture
async def pd_twin() -> AsyncIterator[Simulator]:
    """A simulator that knows routing key ROUTING_KEY."""
    async with Simulator(credentials={"pagerduty": {ROUTING_KEY: ""}}) as simulator:
        yield simulator


def sim_channel(simulator: Simulator, **settings: Any) -> PagerDutyChannel:
    return make_channel(url=f"{simulator.url}/pagerduty/v2/enqueue", **settings)


async def delivered(messages: list[Message], channel: PagerDutyChannel) -> list[DeliveryOutcome]:
    return await deliver(messages, {"duty-pd": channel}, ledger=MemoryLedger(), backoff_base=0.01, backoff_cap=0.05)


async def alerts(simulator: Simulator) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        listed: list[dict[str, Any]] = (await client.get(f"{simulator.url}/_sim/pagerduty/alerts")).json()
    return listed


async def test_trigger_is_delivered_and_opens_one_alert(pd_twin: Simulator, make_message: MessageFactory) -> None:
    """A trigger to a known routing key is answered 202 success with its dedup_key and opens one alert."""
    [outcome] = await delivered([pd_message(make_message)], sim_channel(pd_twin))
    key = pagerduty_dedup_key("inc-1", "notify-duty", "r1")
    assert (outcome.result.status, outcome.result.http_status, outcome.attempts) == (DeliveryStatus.DELIVERED, 202, 1)
    assert key in outcome.result.reason
    [alert] = await alerts(pd_twin)
    assert (alert["dedup_key"], alert["status"], alert["opened"], alert["triggers"]) == (key, "triggered", 1, 1)


async def test_unknown_routing_key_fails_once_without_retrying(
    pd_twin: Simulator, make_message: MessageFactory
) -> None:
    """A routing key the service does not know is 400 invalid event: FAILED after one attempt, key not shown."""
    other_key = "R0SOMEONEELSESKEY000000000000000"
    [outcome] = await delivered([pd_message(make_message)], sim_channel(pd_twin, routing_key=other_key))
    assert (outcome.result.status, outcome.result.http_status, outcome.attempts) == (DeliveryStatus.FAILED, 400, 1)
    assert "Invalid routing key" in outcome.result.reason and other_key not in outcome.result.reason


async def test_retry_after_a_scripted_failure_keeps_the_dedup_key_and_one_alert(
    pd_twin: Simulator, make_message: MessageFactory
) -> None:
    """A 503 then 202: delivered on the second attempt with the same dedup_key, one alert opened once."""
    pd_twin.script("/pagerduty/v2/enqueue", fail_times=1)
    [outcome] = await delivered([pd_message(make_message)], sim_channel(pd_twin))
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [r["status"] for r in pd_twin.records] == [503, 202]
    assert len({r["body"]["dedup_key"] for r in pd_twin.records}) == 1
    assert [(a["opened"], a["triggers"]) for a in await alerts(pd_twin)] == [(1, 1)]


async def test_next_round_joins_the_open_alert_instead_of_paging_again(
    pd_twin: Simulator, make_message: MessageFactory
) -> None:
    """Round 2 of the same step and recipient triggers the same dedup_key: counted, marked duplicate, no new alert."""
    channel = sim_channel(pd_twin)
    await delivered([pd_message(make_message)], channel)
    await delivered([pd_message(make_message, delivery_key="inc-1/notify-duty/r1/2")], channel)
    assert [r["duplicate"] for r in pd_twin.records] == [False, True]
    assert [(a["opened"], a["triggers"]) for a in await alerts(pd_twin)] == [(1, 2)]


async def test_acknowledge_then_resolve_then_trigger_opens_a_new_alert(
    pd_twin: Simulator, make_message: MessageFactory
) -> None:
    """The status events acknowledge and resolve the alert; a trigger after resolve opens it again."""
    channel = sim_channel(pd_twin)
    config = make_config(url=channel.config.url)
    key = pagerduty_dedup_key("inc-1", "notify-duty", "r1")
    async with httpx.AsyncClient() as client:
        await client.send(channel.build_request(pd_message(make_message)))
        acked = await client.send(pagerduty_status_request(config, action="acknowledge", dedup_key=key))
        assert ((await alerts(pd_twin))[0]["status"], acked.json()["dedup_key"]) == ("acknowledged", key)
        await client.send(pagerduty_status_request(config, action="resolve", dedup_key=key))
        assert (await alerts(pd_twin))[0]["status"] == "resolved"
        await client.send(channel.build_request(pd_message(make_message)))
    [alert] = await alerts(pd_twin)
    assert (alert["status"], alert["opened"], alert["acknowledgements"], alert["resolves"]) == ("triggered", 2, 1, 1)


async def test_twin_names_every_problem_of_an_invalid_event(pd_twin: Simulator) -> None:
    """A trigger with a short key, a bad action and no payload is 400 invalid event listing each problem."""
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{pd_twin.url}/pagerduty/v2/enqueue", json={"routing_key": "short", "event_action": "page"}
        )
    assert response.status_code == 400
    document = response.json()
    assert (document["status"], document["message"]) == ("invalid event", "Event object is invalid")
    assert document["errors"] == [
        "Length of 'routing_key' is incorrect (should be 32 characters)",
        "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)",
    ]


async def test_twin_refuses_a_trigger_without_summary_or_with_a_bad_severity(pd_twin: Simulator) -> None:
    """payload.summary, source and a known severity are required on trigger."""
    event_body = {"routing_key": ROUTING_KEY, "event_action": "trigger", "payload": {"severity": "loud"}}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{pd_twin.url}/pagerduty/v2/enqueue", json=event_body)
    assert response.json()["errors"] == [
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
    ]


async def test_twin_throttles_beyond_the_limit_and_the_channel_rate_limits(make_message: MessageFactory) -> None:
    """With limits={"pagerduty": (2, 60)} the third event within a minute is 429 throttle exceeded."""
    async with Simulator(credentials={"pagerduty": {ROUTING_KEY: ""}}, limits={"pagerduty": (2, 60.0)}) as simulator:
        channel = sim_channel(simulator)
        async with httpx.AsyncClient() as client:
            answers = [await client.send(channel.build_request(pd_message(make_message))) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["status"] == "throttle exceeded"
    assert channel.parse_response(answers[2]).status is DeliveryStatus.RATE_LIMITED


async def test_records_hold_a_fingerprint_instead_of_the_routing_key(
    pd_twin: Simulator, make_message: MessageFactory
) -> None:
    """The twin's records name the service by a fingerprint and never hold the routing key."""
    await delivered([pd_message(make_message)], sim_channel(pd_twin))
    assert ROUTING_KEY not in json.dumps(pd_twin.records, ensure_ascii=False)
    assert pd_twin.records[0]["name"].startswith("service-")
    assert pd_twin.records[0]["body"]["routing_key"].startswith("fingerprint:")


async def test_reset_forgets_the_alerts(pd_twin: Simulator, make_message: MessageFactory) -> None:
    """The simulator's reset clears the twin's alerts too, so the next trigger opens a new alert."""
    channel = sim_channel(pd_twin)
    await delivered([pd_message(make_message)], channel)
    assert len(await alerts(pd_twin)) == 1
    pd_twin.reset()
    assert await alerts(pd_twin) == []
    await delivered([pd_message(make_message, delivery_key="inc-1/notify-duty/r1/2")], channel)
    assert [(r["duplicate"], r["details"]["alert"]["opened"]) for r in pd_twin.records] == [(False, 1)]


async def test_records_show_the_alert_as_each_event_left_it(pd_twin: Simulator, make_message: MessageFactory) -> None:
    """Each accepted event's record holds its alert in details: opened, then joined by the next round's trigger."""
    channel = sim_channel(pd_twin)
    await delivered([pd_message(make_message)], channel)
    await delivered([pd_message(make_message, delivery_key="inc-1/notify-duty/r1/2")], channel)
    shown = [(r["details"]["alert"]["status"], r["details"]["alert"]["triggers"]) for r in pd_twin.records]
    assert shown == [("triggered", 1), ("triggered", 2)]
    assert ROUTING_KEY not in json.dumps([r["details"] for r in pd_twin.records])
