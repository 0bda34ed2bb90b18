"""Pacer: sliding windows per endpoint and limit, on an injected clock that only moves when the pacer waits."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace

import pytest

from notifications import Pacer, RateLimit
from notifications import pacing as pacing_module
from notifications.pacing import SAFETY_MARGIN_S

PER_MINUTE_20 = (RateLimit(20, 60),)
FEISHU_LIKE = (RateLimit(5, 1), RateLimit(100, 60))


class FakeClock:
    """Monotonic time that moves only when someone sleeps (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Wake at ``now + seconds``; concurrent sleepers never move time backwards."""
        self.sleeps.append(seconds)
        wake_at = self.now + seconds
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would
        self.now = max(self.now, wake_at)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock; the pacer's sleeps advance it instead of waiting."""
    fake = FakeClock()
    monkeypatch.setattr(pacing_module, "asyncio", SimpleNamespace(sleep=fake.sleep))
    return fake


async def send_times(
    pacer: Pacer, clock: FakeClock, endpoint: str, limits: tuple[RateLimit, ...], n: int
) -> list[float]:
    """Acquire ``n`` sends one after another; the clock reading at which each was let through."""
    times = []
    for _ in range(n):
        await pacer.acquire(endpoint, limits)
        times.append(clock.now)
    return times


def assert_within(times: list[float], limit: RateLimit) -> None:
    """No ``count + 1`` sends fall inside any ``per_s`` window."""
    ordered = sorted(times)
    for first, last in zip(ordered, ordered[limit.count :], strict=False):
        assert last - first >= limit.per_s, f"{limit.count + 1} sends within {last - first:g} s break {limit}"


async def test_twenty_per_minute_lets_twenty_through_at_once(clock: FakeClock) -> None:
    """A 20-per-60-s endpoint takes 20 sends without waiting."""
    pacer = Pacer(clock=clock)
    waits = [await pacer.acquire("robot-a", PER_MINUTE_20) for _ in range(20)]
    assert waits == [0.0] * 20
    assert clock.sleeps == []


async def test_twenty_first_send_waits_until_the_window_and_margin_pass(clock: FakeClock) -> None:
    """The 21st send waits 60 s plus the safety margin after the first, then goes."""
    pacer = Pacer(clock=clock)
    start = clock.now
    for _ in range(20):
        await pacer.acquire("robot-a", PER_MINUTE_20)
    assert pacer.wait_needed("robot-a", PER_MINUTE_20) == pytest.approx(60 + SAFETY_MARGIN_S)
    waited = await pacer.acquire("robot-a", PER_MINUTE_20)
    assert waited == pytest.approx(60 + SAFETY_MARGIN_S)
    assert clock.now == pytest.approx(start + 60 + SAFETY_MARGIN_S)


async def test_window_slides_one_send_at_a_time(clock: FakeClock) -> None:
    """Sends spread over time free their slots one by one, each when its own minute (+margin) is over."""
    pacer = Pacer(clock=clock, margin_s=0.5)
    for _ in range(20):
        await pacer.acquire("robot-a", PER_MINUTE_20)
        clock.advance(1.0)  # sends at t = 0, 1, …, 19; now t = 20
    assert await pacer.acquire("robot-a", PER_MINUTE_20) == pytest.approx(40.5)  # the t=0 send leaves at 60.5
    assert await pacer.acquire("robot-a", PER_MINUTE_20) == pytest.approx(1.0)  # the t=1 send leaves at 61.5


async def test_margin_is_configurable_and_zero_means_the_vendor_window(clock: FakeClock) -> None:
    """With margin_s=0 the 21st send waits exactly the vendor's 60 s."""
    pacer = Pacer(clock=clock, margin_s=0.0)
    for _ in range(20):
        await pacer.acquire("robot-a", PER_MINUTE_20)
    assert await pacer.acquire("robot-a", PER_MINUTE_20) == pytest.approx(60.0)


async def test_two_limits_are_both_respected(clock: FakeClock) -> None:
    """Under 5 per 1 s and 100 per 60 s, 130 sends break neither: bursts of 5, and the 101st after a minute."""
    pacer = Pacer(clock=clock)
    times = await send_times(pacer, clock, "bot-1", FEISHU_LIKE, 130)
    for limit in FEISHU_LIKE:
        assert_within(times, limit)
    assert times[:5] == [times[0]] * 5  # the per-second limit lets a burst of 5 go at once
    assert times[5] - times[0] == pytest.approx(1 + SAFETY_MARGIN_S)
    assert times[99] - times[0] < 60  # the first 100 are paced by the per-second limit alone
    assert times[100] - times[0] == pytest.approx(60 + SAFETY_MARGIN_S)  # the 101st by the per-minute one


async def test_separate_endpoints_have_separate_budgets(clock: FakeClock) -> None:
    """A full robot does not hold back another robot of the same channel."""
    pacer = Pacer(clock=clock)
    for _ in range(20):
        await pacer.acquire("dingtalk:robot-a", PER_MINUTE_20)
    assert pacer.wait_needed("dingtalk:robot-a", PER_MINUTE_20) > 59
    assert pacer.wait_needed("dingtalk:robot-b", PER_MINUTE_20) == 0.0
    assert [await pacer.acquire("dingtalk:robot-b", PER_MINUTE_20) for _ in range(20)] == [0.0] * 20
    assert clock.sleeps == []


async def test_concurrent_senders_on_one_endpoint_stay_within_the_limit(clock: FakeClock) -> None:
    """Fifty senders racing for a 20-per-60-s robot: 20 go now, 20 a minute later, 10 a minute after that."""
    pacer = Pacer(clock=clock)
    start = clock.now
    times: list[float] = []

    async def send() -> None:
        await pacer.acquire("robot-a", PER_MINUTE_20)
        times.append(clock.now)

    await asyncio.gather(*(send() for _ in range(50)))
    assert_within(times, PER_MINUTE_20[0])
    window = 60 + SAFETY_MARGIN_S
    assert Counter(round(t - start, 3) for t in times) == {0.0: 20, round(window, 3): 20, round(2 * window, 3): 10}


async def test_no_limits_never_waits(clock: FakeClock) -> None:
    """An endpoint with no published limit is never paced."""
    pacer = Pacer(clock=clock)
    assert [await pacer.acquire("webhook", ()) for _ in range(1000)] == [0.0] * 1000
    assert clock.sleeps == []
