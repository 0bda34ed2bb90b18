"""Durations as plans write them: 30s, 5m, 1h, 1h30m, 2d."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from playbooks import Deadline, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("90m", timedelta(minutes=90)),
        (" 15m ", timedelta(minutes=15)),
    ],
)
def test_parse_duration_reads_units_in_order(text: str, expected: timedelta) -> None:
    """Days, hours, minutes and seconds, in that order, add up."""
    assert parse_duration(text) == expected


def test_parse_duration_accepts_a_positive_timedelta() -> None:
    """A timedelta passes through unchanged."""
    assert parse_duration(timedelta(minutes=2)) == timedelta(minutes=2)


@pytest.mark.parametrize(
    "value",
    ["", "1 hour", "1H", "60", "1.5h", "-5m", "1m1h", "1h1h", "h", "1w", "PT1H", 60, None, True],
)
def test_parse_duration_rejects_anything_else_with_an_example(value: object) -> None:
    """Text that is not a duration is refused with examples of what is."""
    with pytest.raises(ValueError, match="write it like 30s, 5m, 1h, 1h30m or 2d"):
        parse_duration(value)


def test_parse_duration_rejects_blank_text() -> None:
    """Text of only spaces is not a duration."""
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration("   ")


@pytest.mark.parametrize("value", ["0s", "0h0m", timedelta(0), timedelta(seconds=-1)])
def test_parse_duration_rejects_zero_and_negative(value: object) -> None:
    """A duration must be longer than zero."""
    with pytest.raises(ValueError, match="longer than zero"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=3), "3h"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(0), "0s"),
    ],
)
def test_format_duration_gives_the_shortest_form(delta: timedelta, text: str) -> None:
    """format_duration writes the fewest units, largest first."""
    assert format_duration(delta) == text


@pytest.mark.parametrize("text", ["30s", "5m", "1h", "1h30m", "2d", "1d2h3m4s"])
def test_format_and_parse_round_trip(text: str) -> None:
    """A formatted duration parses back to the same length."""
    assert format_duration(parse_duration(text)) == text


def test_deadline_accepts_the_shorthand_and_serialises_durations_as_text() -> None:
    """`deadline: 1h` is a deadline from the accident's time, and dumps back as `1h`."""
    deadline = Deadline.model_validate("1h")
    assert deadline.within == timedelta(hours=1)
    assert deadline.from_ == "occurred_at"
    assert deadline.warn_before is None
    full = Deadline.model_validate({"within": "3h", "from": "reported_at", "warn_before": "30m"})
    assert full.model_dump(mode="json", by_alias=True) == {"within": "3h", "from": "reported_at", "warn_before": "30m"}


def test_deadline_rejects_an_unknown_starting_moment() -> None:
    """A deadline counts from occurred_at or reported_at, nothing else."""
    with pytest.raises(ValidationError, match="occurred_at"):
        Deadline.model_validate({"within": "1h", "from": "noticed_at"})
