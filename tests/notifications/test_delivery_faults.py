"""deliver() under faults, against the real responder simulator on loopback: flaky, hanging, refusing, throttling.

What every test checks is what the responder would see: each message arrives exactly
once as new (a receiver drops a repeated ``webhook-id``), nothing is lost, and every
attempt is in the ledger with its outcome and latency.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import httpx
import pytest

from notifications import Channel, DeliveryStatus, Message, RateLimitSetting, deliver
from notifications.channels.dingtalk import DingTalkChannel, DingTalkConfig
from notifications.channels.webhook import webhook_id
from notifications.simulator import SimRecord, Simulator
from notifications.simulator.dingtalk import PATH as DINGTALK_PATH
from notifications.testing import MemoryLedger

ChannelFactory = Callable[..., Channel]
MessageFactory = Callable[..., Message]
FAST = 0.001  # backoff base: retries follow each other within milliseconds
FAST_CAP = 0.02

# A DingTalk robot on the twin (shared/domain/channels.md's signing vector secret).
DING_TOKEN = "robot-token-0001"
DING_SECRET = "SECtest"


def accepted_once_each(records: list[SimRecord]) -> Counter[str]:
    """How many times each delivery key was accepted as new (200, not a duplicate) by the receiver."""
    return Counter(r["body"]["delivery_key"] for r in records if r["status"] == 200 and not r["duplicate"])


def arrivals(records: list[SimRecord]) -> list[float]:
    return sorted(datetime.fromisoformat(r["received_at"]).timestamp() for r in records)


# --- many failures ---------------------------------------------------------------------------------------------


async def test_half_failing_endpoint_delivers_all_200_exactly_once(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """An endpoint failing half its requests: all 200 messages delivered, each accepted once, none twice."""
    simulator.script("/webhook/ops", fail_ratio=0.5, fail_status=503, seed=20261129)
    channels = {"sim-webhook": make_channel(url=f"{simulator.url}/webhook/ops", max_attempts=20)}
    messages = [make_message(recipient_id=f"r{i:03d}") for i in range(200)]
    outcomes = await deliver(messages, channels, ledger=ledger, backoff_base=FAST, backoff_cap=FAST_CAP)

    assert [o.result.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 200
    records = simulator.records
    failures = sum(r["status"] == 503 for r in records)
    assert failures >= 100, f"only {failures} scripted failures: the script did not bite"
    assert accepted_once_each(records) == Counter({m.delivery_key: 1 for m in messages})
    assert not any(r["duplicate"] for r in records)
    assert all(r["signature_valid"] is True for r in records)
    # Every attempt of one message carried the same webhook-id, derived from its delivery key.
    for record in records:
        assert record["headers"]["webhook-id"] == webhook_id(record["body"]["delivery_key"])
    assert len(ledger.attempts) == len(records)
    assert sum(o.attempts for o in outcomes) == len(records)


async def test_receiver_flags_a_repeated_webhook_id_as_duplicate(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """Sending one delivery key again (a lost ledger entry) reaches the receiver, which answers 200 and drops it."""
    channels = {"sim-webhook": make_channel(url=f"{simulator.url}/webhook/ops")}
    message = make_message()
    await deliver([message], channels, ledger=MemoryLedger())
    await deliver([message], channels, ledger=MemoryLedger())  # a ledger that forgot: the resend happens
    first, repeat = simulator.records
    assert (first["status"], first["duplicate"]) == (200, False)
    assert (repeat["status"], repeat["duplicate"]) == (200, True)
    assert first["headers"]["webhook-id"] == repeat["headers"]["webhook-id"]
    assert accepted_once_each(simulator.records) == Counter({message.delivery_key: 1})


# --- fallback to the responder's next channel --------------------------------------------------------------------


def two_channels(make_channel: ChannelFactory, simulator: Simulator, **primary: object) -> dict[str, Channel]:
    return {
        "sim-webhook": make_channel(url=f"{simulator.url}/webhook/ops", **primary),
        "sim-backup": make_channel(name="sim-backup", url=f"{simulator.url}/webhook/backup"),
    }


async def test_hanging_channel_times_out_and_the_next_channel_delivers(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A hanging endpoint is given up within max_elapsed_s; the responder's next contact delivers; both are named."""
    simulator.script("/webhook/ops", hang=True)
    channels = two_channels(make_channel, simulator, timeout_s=0.2, max_elapsed_s=0.5, max_attempts=10)
    message = make_message(fallbacks=(("sim-backup", "r1-backup"),))
    started = time.monotonic()
    [outcome] = await deliver([message], channels, ledger=ledger, backoff_base=FAST, backoff_cap=FAST_CAP)
    elapsed = time.monotonic() - started

    assert elapsed < 2.0, f"max_elapsed_s 0.5 was not honoured: {elapsed:.2f} s"
    assert outcome.result.status is DeliveryStatus.DELIVERED
    assert (outcome.message.channel, outcome.message.address) == ("sim-backup", "r1-backup")
    assert outcome.result.reason.startswith("delivered on sim-backup after sim-webhook: gave up after")
    assert "no answer from http://127.0.0.1" in outcome.result.reason
    assert "sim-backup: HTTP 200" in outcome.result.reason
    tried = [(a.message.channel, a.attempt, a.result.status) for a in ledger.attempts]
    on_primary = [t for t in tried if t[0] == "sim-webhook"]
    assert 2 <= len(on_primary) < 10
    assert {t[2] for t in on_primary} == {DeliveryStatus.RETRY}
    assert tried[len(on_primary) :] == [("sim-backup", 1, DeliveryStatus.DELIVERED)]
    assert outcome.attempts == len(tried)
    assert [(o.message.channel, o.result.status) for o in ledger.outcomes] == [("sim-backup", DeliveryStatus.DELIVERED)]
    assert [r["status"] for r in simulator.records if r["path"] == "/webhook/ops"] == [None] * len(on_primary)
    assert accepted_once_each(simulator.records) == Counter({message.delivery_key: 1})


async def test_permanent_failure_is_not_retried_and_falls_back_at_once(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A 400 on the first channel is one attempt only; the next channel is tried at once and delivers."""
    simulator.script("/webhook/ops", permanent_status=400)
    channels = two_channels(make_channel, simulator, max_attempts=5)
    message = make_message(fallbacks=(("sim-backup", "r1-backup"),))
    started = time.monotonic()
    [outcome] = await deliver([message], channels, ledger=ledger, backoff_base=1.0, backoff_cap=5.0)

    assert time.monotonic() - started < 0.9, "a backoff was slept although the failure was permanent"
    assert outcome.result.status is DeliveryStatus.DELIVERED
    assert "sim-webhook: HTTP 400" in outcome.result.reason and "sim-backup: HTTP 200" in outcome.result.reason
    assert [(a.message.channel, a.attempt, a.result.status, a.result.http_status) for a in ledger.attempts] == [
        ("sim-webhook", 1, DeliveryStatus.FAILED, 400),
        ("sim-backup", 1, DeliveryStatus.DELIVERED, 200),
    ]
    assert [(r["path"], r["status"]) for r in simulator.records] == [("/webhook/ops", 400), ("/webhook/backup", 200)]


async def test_every_contact_failing_ends_failed_naming_each(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """When the first channel refuses and the next one is down, the outcome is FAILED and names both reasons."""
    simulator.script("/webhook/ops", permanent_status=403)
    simulator.script("/webhook/backup", permanent_status=500)
    channels = two_channels(make_channel, simulator)
    channels["sim-backup"] = make_channel(name="sim-backup", url=f"{simulator.url}/webhook/backup", max_attempts=2)
    [outcome] = await deliver(
        [make_message(fallbacks=(("sim-backup", "r1-backup"),))], channels, ledger=ledger, backoff_base=FAST
    )
    assert outcome.result.status is DeliveryStatus.FAILED
    assert outcome.result.reason.startswith("failed on every contact; sim-backup after sim-webhook: HTTP 403")
    assert "sim-backup: gave up after 2 attempts" in outcome.result.reason
    assert outcome.attempts == 3
    assert [o.result.status for o in ledger.outcomes] == [DeliveryStatus.FAILED]


# --- staying inside a vendor's rate limit ------------------------------------------------------------------------


@pytest.fixture
async def throttled_webhook(webhook_secret: str) -> AsyncIterator[Simulator]:
    """A simulator whose webhook twin allows 20 requests per 3 s per endpoint, set over its control API."""
    async with Simulator(webhook_secret=webhook_secret) as running, httpx.AsyncClient() as client:
        answer = await client.put(f"{running.url}/_sim/limits/webhook", json={"count": 20, "per_s": 3})
        assert answer.json() == {"ok": True, "vendor": "webhook", "count": 20, "per_s": 3.0}
        yield running


async def test_limit_route_refuses_a_malformed_limit(simulator: Simulator) -> None:
    """PUT /_sim/limits/{vendor} answers 400 naming the bad field, and changes nothing."""
    async with httpx.AsyncClient() as client:
        answer = await client.put(f"{simulator.url}/_sim/limits/webhook", json={"count": 0, "per_s": 3})
    assert answer.status_code == 400
    assert any(p.startswith("count") for p in answer.json()["problems"])


async def test_unpaced_burst_trips_the_twins_limit(
    throttled_webhook: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """The twin's limit is real: 50 unpaced single attempts get 20 through and 30 answered 429."""
    channels = {"sim-webhook": make_channel(url=f"{throttled_webhook.url}/webhook/ops", max_attempts=1)}
    messages = [make_message(recipient_id=f"r{i:02d}") for i in range(50)]
    outcomes = await deliver(messages, channels, ledger=ledger)
    assert Counter(o.result.status for o in outcomes) == {DeliveryStatus.DELIVERED: 20, DeliveryStatus.FAILED: 30}
    assert Counter(r["status"] for r in throttled_webhook.records) == {200: 20, 429: 30}


async def test_paced_channel_at_the_webhook_limit_loses_nothing(
    throttled_webhook: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """With rate_limit 20 per 3 s, 50 messages are paced over 3 windows: all delivered, no 429 ever answered."""
    channels = {
        "sim-webhook": make_channel(
            url=f"{throttled_webhook.url}/webhook/ops", rate_limit=RateLimitSetting(count=20, per_s=3)
        )
    }
    messages = [make_message(recipient_id=f"r{i:02d}") for i in range(50)]
    started = time.monotonic()
    outcomes = await deliver(messages, channels, ledger=ledger)
    elapsed = time.monotonic() - started

    assert [(o.result.status, o.attempts) for o in outcomes] == [(DeliveryStatus.DELIVERED, 1)] * 50
    records = throttled_webhook.records
    assert [r["status"] for r in records] == [200] * 50  # zero 429s: nothing was refused and retried
    assert not any(a.result.status is DeliveryStatus.RATE_LIMITED for a in ledger.attempts)
    assert elapsed >= 2 * 3, f"50 messages at 20 per 3 s went out in {elapsed:.2f} s: no pacing happened"
    assert elapsed < 3 * 3 + 2, f"pacing took {elapsed:.2f} s, more than three windows"
    times = arrivals(records)
    assert all(last - first >= 3 for first, last in zip(times, times[20:], strict=False))
    assert accepted_once_each(records) == Counter({m.delivery_key: 1 for m in messages})


# --- DingTalk: the vendor's own limit and batching ---------------------------------------------------------------


DingTalkFactory = Callable[..., DingTalkChannel]


@pytest.fixture
async def dingtalk() -> AsyncIterator[tuple[Simulator, DingTalkFactory]]:
    """The simulator with one DingTalk robot whose limit is shrunk from 20 per 60 s to 20 per 3 s."""
    async with Simulator(credentials={"dingtalk": {DING_TOKEN: DING_SECRET}}, limits={"dingtalk": (20, 3.0)}) as sim:

        def make(**overrides: object) -> DingTalkChannel:
            fields: dict[str, object] = {
                "name": "ding-ops",
                "url": f"{sim.url}{DINGTALK_PATH}?access_token={DING_TOKEN}",
                "secret": DING_SECRET,
            }
            fields.update(overrides)
            return DingTalkChannel(DingTalkConfig.model_validate(fields))

        yield sim, make


async def test_paced_dingtalk_robot_at_its_limit_gets_no_130101(
    dingtalk: tuple[Simulator, DingTalkFactory],
    make_message: MessageFactory,
    ledger: MemoryLedger,
) -> None:
    """A DingTalk robot held to 20 per 3 s: 50 distinct messages paced over 3 windows, all sent, no errcode 130101."""
    sim, make = dingtalk
    channels = {"ding-ops": make(rate_limit=RateLimitSetting(count=20, per_s=3))}
    messages = [
        make_message(recipient_id=f"r{i:02d}", channel="ding-ops", address=f"1380000{i:04d}", body=f"第{i}号：请到岗。")
        for i in range(50)
    ]
    started = time.monotonic()
    outcomes = await deliver(messages, channels, ledger=ledger)
    elapsed = time.monotonic() - started

    assert [o.result.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 50
    assert not [a.result.reason for a in ledger.attempts if "130101" in a.result.reason]
    assert not any(a.result.status is DeliveryStatus.RATE_LIMITED for a in ledger.attempts)
    assert len(sim.records) == 50
    assert elapsed >= 2 * 3, f"50 messages at 20 per 3 s went out in {elapsed:.2f} s: no pacing happened"


@pytest.mark.parametrize("count", [30, 110])
async def test_same_text_to_many_becomes_few_dingtalk_requests_mentioning_all(
    dingtalk: tuple[Simulator, DingTalkFactory],
    make_message: MessageFactory,
    ledger: MemoryLedger,
    count: int,
) -> None:
    """Identical text to ``count`` people is ceil(count / max_batch) robot messages that @-mention all of them."""
    sim, make = dingtalk
    channels = {"ding-ops": make()}
    mobiles = [f"1390000{i:04d}" for i in range(count)]
    messages = [
        make_message(recipient_id=f"r{i:03d}", channel="ding-ops", address=mobile) for i, mobile in enumerate(mobiles)
    ]
    outcomes = await deliver(messages, channels, ledger=ledger)

    assert [o.result.status for o in outcomes] == [DeliveryStatus.DELIVERED] * count
    assert len(sim.records) == math.ceil(count / DingTalkChannel.max_batch)
    mentioned = [m for r in sim.records for m in r["body"]["at"]["atMobiles"]]
    assert sorted(mentioned) == sorted(mobiles)  # everyone, once
    assert len(ledger.outcomes) == count  # one outcome per person, though fewer requests went out


# --- the ledger sees everything ----------------------------------------------------------------------------------


async def test_every_attempt_is_recorded_with_outcome_and_latency(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Across retries, a hang, a refusal and a fallback, each request the receiver saw is one ledger attempt."""
    simulator.script("/webhook/flaky", fail_times=3, fail_status=502)
    simulator.script("/webhook/hang", hang=True)
    simulator.script("/webhook/refuse", permanent_status=404)
    channels = {
        name: make_channel(name=name, url=f"{simulator.url}/webhook/{name}", timeout_s=0.3, max_attempts=4)
        for name in ("ok", "flaky", "hang", "refuse")
    }
    messages = [
        make_message(recipient_id="a", channel="ok"),
        make_message(recipient_id="b", channel="flaky"),
        make_message(recipient_id="c", channel="hang", fallbacks=(("ok", "c-ok"),)),
        make_message(recipient_id="d", channel="refuse"),
    ]
    outcomes = await deliver(messages, channels, ledger=ledger, backoff_base=FAST, backoff_cap=FAST_CAP)

    assert [o.result.status for o in outcomes] == [DeliveryStatus.DELIVERED] * 3 + [DeliveryStatus.FAILED]
    assert len(ledger.attempts) == len(simulator.records) == sum(o.attempts for o in outcomes)
    for attempt in ledger.attempts:
        assert attempt.result.reason, attempt
        assert attempt.latency_ms > 0, attempt
    hung = [a for a in ledger.attempts if a.message.channel == "hang"]
    assert len(hung) == 4 and all(a.latency_ms >= 250 for a in hung)
    assert [a.result.status for a in ledger.attempts if a.message.channel == "flaky"] == [DeliveryStatus.RETRY] * 3 + [
        DeliveryStatus.DELIVERED
    ]
    per_key = Counter(a.message.delivery_key for a in ledger.attempts)
    assert {o.message.delivery_key: o.attempts for o in outcomes} == dict(per_key)
    assert [o.message.delivery_key for o in ledger.outcomes].count(messages[2].delivery_key) == 1
    assert accepted_once_each(simulator.records) == Counter({m.delivery_key: 1 for m in messages[:3]})
