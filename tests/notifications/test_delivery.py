"""deliver() against a real responder simulator on loopback: once, with retries, and with reasons."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
import pytest

from muster.errors import ActionLogError
from notifications import Channel, DeliveryResult, DeliveryStatus, Message, deliver, delivery_client
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

ChannelFactory = Callable[..., Channel]
MessageFactory = Callable[..., Message]
FAST = 0.01  # backoff base for tests: retries follow each other within milliseconds


def sim_channels(make_channel: ChannelFactory, simulator: Simulator, **config: object) -> dict[str, Channel]:
    return {"sim-webhook": make_channel(url=f"{simulator.url}/webhook/ops", **config)}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_every_message_is_delivered_once_with_a_valid_signature(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Twenty recipients: twenty deliveries, each one request, each signature valid, in input order."""
    messages = [make_message(recipient_id=f"r{i}") for i in range(20)]
    outcomes = await deliver(messages, sim_channels(make_channel, simulator), ledger=ledger, backoff_base=FAST)
    assert [o.message for o in outcomes] == messages
    assert {(o.result.status, o.attempts, o.skipped_as_duplicate) for o in outcomes} == {
        (DeliveryStatus.DELIVERED, 1, False)
    }
    assert len(simulator.records) == 20
    assert all(r["signature_valid"] is True and r["status"] == 200 for r in simulator.records)
    assert sorted(r["body"]["recipient"]["id"] for r in simulator.records) == sorted(m.recipient_id for m in messages)
    assert len(ledger.outcomes) == 20
    assert all(a.latency_ms > 0 for a in ledger.attempts)


async def test_transient_failures_are_retried_until_delivered_exactly_once(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Two scripted 503s then success: delivered on attempt 3, one 200 at the receiver, same webhook-id."""
    simulator.script("/webhook/ops", fail_times=2, fail_status=503)
    [outcome] = await deliver([make_message()], sim_channels(make_channel, simulator), ledger=ledger, backoff_base=FAST)
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [r["status"] for r in simulator.records] == [503, 503, 200]
    assert len({r["headers"]["webhook-id"] for r in simulator.records}) == 1
    assert [a.result.status for a in ledger.attempts] == [
        DeliveryStatus.RETRY,
        DeliveryStatus.RETRY,
        DeliveryStatus.DELIVERED,
    ]
    assert [a.attempt for a in ledger.attempts] == [1, 2, 3]
    assert [(o.result.status, o.attempts) for o in ledger.outcomes] == [(DeliveryStatus.DELIVERED, 3)]


async def test_permanent_400_fails_with_its_reason_and_is_not_retried(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A 400 answer ends the delivery at once as FAILED, naming the status and the answer."""
    simulator.script("/webhook/ops", permanent_status=400)
    [outcome] = await deliver([make_message()], sim_channels(make_channel, simulator), ledger=ledger, backoff_base=FAST)
    assert (outcome.result.status, outcome.attempts, outcome.result.http_status) == (DeliveryStatus.FAILED, 1, 400)
    assert outcome.result.reason == 'HTTP 400: {"error": "scripted permanent failure"}'
    assert len(simulator.records) == 1
    assert [(o.result, o.attempts) for o in ledger.outcomes] == [(outcome.result, 1)]


async def test_exhausted_retries_fail_with_the_last_reason(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Still failing after max_attempts: FAILED, saying how many attempts and what the last one got."""
    simulator.script("/webhook/ops", fail_times=10, fail_status=502)
    channels = sim_channels(make_channel, simulator, max_attempts=3)
    [outcome] = await deliver([make_message()], channels, ledger=ledger, backoff_base=FAST)
    assert outcome.result == DeliveryResult(
        DeliveryStatus.FAILED, 'gave up after 3 attempts; last: HTTP 502: {"error": "scripted failure"}', 502
    )
    assert outcome.attempts == 3
    assert len(simulator.records) == 3


async def test_already_delivered_message_is_not_sent_again(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """When the ledger knows the delivery key, nothing is sent and the outcome says it was skipped."""
    message = make_message()
    ledger.delivered_keys.add(message.delivery_key)
    [outcome] = await deliver([message], sim_channels(make_channel, simulator), ledger=ledger, backoff_base=FAST)
    assert outcome.skipped_as_duplicate
    assert outcome.result == DeliveryResult(DeliveryStatus.DELIVERED, "already delivered")
    assert outcome.attempts == 0
    assert simulator.records == []
    assert ledger.attempts == []


async def test_resumed_run_sends_only_what_was_not_delivered(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Delivering the same batch twice with one ledger sends each message once in all."""
    messages = [make_message(recipient_id=f"r{i}") for i in range(5)]
    channels = sim_channels(make_channel, simulator)
    await deliver(messages[:3], channels, ledger=ledger, backoff_base=FAST)
    second = await deliver(messages, channels, ledger=ledger, backoff_base=FAST)
    assert [o.skipped_as_duplicate for o in second] == [True, True, True, False, False]
    assert len(simulator.records) == 5


async def test_repeated_delivery_key_in_one_batch_is_sent_once(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Two messages with one delivery key: one request; the second is reported as a duplicate."""
    message = make_message()
    first, second = await deliver([message, message], sim_channels(make_channel, simulator), ledger=ledger)
    assert (first.skipped_as_duplicate, second.skipped_as_duplicate) == (False, True)
    assert second.result.status is DeliveryStatus.DELIVERED
    assert "same delivery key" in second.result.reason
    assert len(simulator.records) == 1
    assert len(ledger.outcomes) == 1


async def test_unknown_channel_fails_with_a_reason_and_others_still_go(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A message for an unconfigured channel is FAILED, naming it; the rest of the batch is delivered."""
    lost = make_message(recipient_id="r9", channel="pigeon-post")
    outcomes = await deliver([lost, make_message()], sim_channels(make_channel, simulator), ledger=ledger)
    assert [o.result.status for o in outcomes] == [DeliveryStatus.FAILED, DeliveryStatus.DELIVERED]
    assert "'pigeon-post'" in outcomes[0].result.reason
    assert "sim-webhook" in outcomes[0].result.reason
    assert [o.attempts for o in ledger.outcomes if o.message is lost] == [0]
    assert len(simulator.records) == 1


async def test_message_that_cannot_be_built_fails_without_sending(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A message whose request cannot be built (too large, unknown language) is FAILED with the reason."""
    messages = [make_message(subject="s" * 70_000), make_message(recipient_id="r2", language="fr")]
    outcomes = await deliver(messages, sim_channels(make_channel, simulator), ledger=ledger)
    assert [o.result.status for o in outcomes] == [DeliveryStatus.FAILED, DeliveryStatus.FAILED]
    assert "could not build the request" in outcomes[0].result.reason
    assert "'fr'" in outcomes[1].result.reason
    assert simulator.records == []


async def test_wrong_signature_is_refused_and_not_retried(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Signed with another secret, the receiver answers 401 and delivery fails at once."""
    channels = sim_channels(make_channel, simulator, secret="whsec_" + "QUJD" * 8)
    [outcome] = await deliver([make_message()], channels, ledger=ledger, backoff_base=FAST)
    assert (outcome.result.status, outcome.result.http_status, outcome.attempts) == (DeliveryStatus.FAILED, 401, 1)
    assert "invalid signature" in outcome.result.reason
    assert [r["signature_valid"] for r in simulator.records] == [False]


async def test_refused_connection_is_retried_then_fails(
    make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Nobody listening: each attempt is RETRY 'could not connect', then FAILED; no exception."""
    channels = {"sim-webhook": make_channel(url=f"http://127.0.0.1:{closed_port()}/webhook/ops", max_attempts=2)}
    [outcome] = await deliver([make_message()], channels, ledger=ledger, backoff_base=FAST)
    assert outcome.result.status is DeliveryStatus.FAILED
    assert outcome.result.reason.startswith("gave up after 2 attempts; last: could not connect to http://127.0.0.1:")
    assert "/webhook/ops" not in outcome.result.reason
    assert [a.result.status for a in ledger.attempts] == [DeliveryStatus.RETRY, DeliveryStatus.RETRY]


async def test_hanging_receiver_times_out_each_attempt(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A receiver that never answers costs timeout_s per attempt, then the delivery fails saying so."""
    simulator.script("/webhook/ops", hang=True)
    channels = sim_channels(make_channel, simulator, timeout_s=0.2, max_attempts=2)
    started = time.monotonic()
    [outcome] = await deliver([make_message()], channels, ledger=ledger, backoff_base=FAST)
    assert time.monotonic() - started < 2
    assert outcome.result.status is DeliveryStatus.FAILED
    assert outcome.result.reason.endswith("within 0.2 s")
    assert [r["status"] for r in simulator.records] == [None, None]  # never answered


async def test_rate_limited_answer_waits_for_retry_after(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A 429 with Retry-After 0.3 s is retried after at least that long, then delivered."""
    simulator.script("/webhook/ops", fail_times=1, fail_status=429, retry_after_s=0.3)
    started = time.monotonic()
    [outcome] = await deliver([make_message()], sim_channels(make_channel, simulator), ledger=ledger)
    assert time.monotonic() - started >= 0.3
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert ledger.attempts[0].result.status is DeliveryStatus.RATE_LIMITED
    assert ledger.attempts[0].result.retry_after == 0.3


async def test_retry_after_longer_than_delivery_waits_fails_now(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A channel asking to wait 120 s fails the delivery at once, so the flow can use another channel."""
    simulator.script("/webhook/ops", fail_times=1, fail_status=429, retry_after_s=120)
    [outcome] = await deliver([make_message()], sim_channels(make_channel, simulator), ledger=ledger)
    assert (outcome.result.status, outcome.attempts) == (DeliveryStatus.FAILED, 1)
    assert outcome.result.reason.startswith("gave up after 1 attempt: HTTP 429 rate limited (Retry-After 120 s)")


async def test_concurrency_bounds_requests_in_flight(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """Six 100 ms requests at concurrency 2 take three rounds; at concurrency 6 they take one."""
    simulator.script("*", delay_ms=100)
    channels = sim_channels(make_channel, simulator)
    messages = [make_message(recipient_id=f"r{i}") for i in range(6)]
    started = time.monotonic()
    await deliver(messages, channels, ledger=MemoryLedger(), concurrency=2)
    bounded = time.monotonic() - started
    started = time.monotonic()
    await deliver(messages, channels, ledger=MemoryLedger(), concurrency=6)
    unbounded = time.monotonic() - started
    assert bounded >= 0.3
    assert unbounded < bounded


async def test_secret_appears_in_no_result_repr_or_ledger_entry(
    simulator: Simulator,
    make_channel: ChannelFactory,
    make_message: MessageFactory,
    ledger: MemoryLedger,
    webhook_secret: str,
) -> None:
    """Across success, retries, refusal and connection errors, the secret is in no result, repr or ledger call."""
    simulator.script("/webhook/flaky", fail_times=1)
    simulator.script("/webhook/broken", permanent_status=403)
    channels = {
        name: make_channel(name=name, url=f"{simulator.url}/webhook/{name}", max_attempts=2)
        for name in ("ok", "flaky", "broken")
    }
    channels["down"] = make_channel(name="down", url=f"http://127.0.0.1:{closed_port()}/hook", max_attempts=2)
    messages = [make_message(recipient_id=name, channel=name) for name in [*channels, "missing"]]
    outcomes = await deliver(messages, channels, ledger=ledger, backoff_base=FAST)
    shown = "\n".join(
        [str(outcomes), str(ledger.attempts), str(ledger.outcomes)]
        + [repr(c) + repr(c.config) + str(c.config) + repr(c.auth()) for c in channels.values()]
    )
    assert webhook_secret not in shown
    assert webhook_secret.removeprefix("whsec_") not in shown
    assert {o.message.channel: o.result.status for o in outcomes} == {
        "ok": DeliveryStatus.DELIVERED,
        "flaky": DeliveryStatus.DELIVERED,
        "broken": DeliveryStatus.FAILED,
        "down": DeliveryStatus.FAILED,
        "missing": DeliveryStatus.FAILED,
    }


async def test_shared_delivery_client_is_used_and_left_open(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """deliver closes only what it opened: a run's shared client from delivery_client() stays usable afterwards."""
    async with delivery_client() as client:
        [outcome] = await deliver([make_message()], sim_channels(make_channel, simulator), ledger=ledger, client=client)
        assert outcome.result.status is DeliveryStatus.DELIVERED
        answer = await client.send(httpx.Request("GET", f"{simulator.url}/_sim/healthz"), None, 5.0)
        assert answer.json() == {"ok": True}


async def test_httpx_client_passed_in_is_used_and_left_open(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory, ledger: MemoryLedger
) -> None:
    """A caller's httpx.AsyncClient carries the delivery and is not closed by it."""
    async with httpx.AsyncClient() as client:
        [outcome] = await deliver([make_message()], sim_channels(make_channel, simulator), ledger=ledger, client=client)
        assert outcome.result.status is DeliveryStatus.DELIVERED
        assert not client.is_closed
        assert (await client.get(f"{simulator.url}/_sim/healthz")).json() == {"ok": True}


class _BrokenLedger(MemoryLedger):
    def record_outcome(self, message: Message, result: DeliveryResult, attempts: int) -> None:
        raise ActionLogError("action log is read-only")


async def test_ledger_failure_propagates_as_its_own_error(
    simulator: Simulator, make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """If the ledger cannot record, deliver raises the ledger's error itself, not an exception group."""
    with pytest.raises(ActionLogError, match="read-only"):
        await deliver([make_message()], sim_channels(make_channel, simulator), ledger=_BrokenLedger())


async def test_concurrency_below_one_is_refused(make_channel: ChannelFactory, ledger: MemoryLedger) -> None:
    """concurrency=0 is a ValueError, not a hang."""
    with pytest.raises(ValueError, match="concurrency"):
        await deliver([], {}, ledger=ledger, concurrency=0)
