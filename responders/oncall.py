"""On-call: rotations that hand a role over at a set local time, and dated overrides.

A rotation hands its role to the next person every day or every week at ``handoff``
o'clock in its own time zone, so a hand-off stays at 08:30 on the wall clock across
daylight-saving changes. An override puts one person on a role between two instants
(a holiday, a swap) and outranks the rotation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["WEEKDAYS", "DutySource", "Override", "Rotation", "Shift", "as_utc"]

PERSON_ID = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def as_utc(at: datetime) -> datetime:
    """``at`` as UTC; a time without a zone is refused, never guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; on-call questions need an aware time")
    return at.astimezone(UTC)


class DutySource(StrEnum):
    """Why someone answers for a role at a given time."""

    OVERRIDE = "override"
    ROTATION = "rotation"
    ROSTER = "roster"


@dataclass(frozen=True, slots=True)
class Shift:
    """One turn of a rotation: who is on, from when until when (UTC), and which turn it is."""

    person_id: str
    starts_at: datetime
    ends_at: datetime
    number: int


class Rotation(BaseModel):
    """A role handed from person to person every day or week at a local time, starting on a date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = Field(min_length=1, description="The role the person on shift holds")
    people: list[str] = Field(min_length=1, description="Person ids, in the order they take the shift")
    every: Literal["daily", "weekly"] = Field(description="How often the shift is handed over")
    handoff: time = Field(description='Local hand-over time, "HH:MM" (quote it in YAML)')
    weekday: Weekday = Field(default="monday", description="Hand-over day of a weekly rotation")
    timezone: str = Field(description="IANA zone of the hand-over time, e.g. Asia/Shanghai")
    start: date = Field(description="The first shift starts on this date at the hand-over time, with people[0]")

    @field_validator("people")
    @classmethod
    def _person_ids(cls, people: list[str]) -> list[str]:
        for person_id in people:
            if not re.match(PERSON_ID, person_id):
                raise ValueError(f"{person_id!r} is not a person id (lower-case letters, digits, . _ -)")
        return people

    @field_validator("handoff", mode="before")
    @classmethod
    def _hh_mm(cls, value: Any) -> Any:
        if isinstance(value, time):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            hours, minutes = divmod(value, 60)
            raise ValueError(
                f'YAML read an unquoted time as the number {value}; write it in quotes: "{hours:02d}:{minutes:02d}"'
            )
        match = _HHMM.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f'hand-over time {value!r} is not "HH:MM" on a 24-hour clock, e.g. "08:30"')
        return time(int(match.group(1)), int(match.group(2)))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}; use an IANA name like Asia/Shanghai") from None
        return zone

    @model_validator(mode="after")
    def _weekday_fits(self) -> Rotation:
        if self.every == "daily" and "weekday" in self.model_fields_set:
            raise ValueError("weekday applies to weekly rotations only; remove it or set every: weekly")
        if self.every == "weekly" and self.start.weekday() != WEEKDAYS.index(self.weekday):
            actual = WEEKDAYS[self.start.weekday()]
            raise ValueError(
                f"start {self.start.isoformat()} is a {actual}, but this weekly rotation hands over on "
                f"{self.weekday}s; start it on a {self.weekday}"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The rotation's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def days_per_shift(self) -> int:
        """1 for a daily rotation, 7 for a weekly one."""
        return 1 if self.every == "daily" else 7

    def handoff_on(self, day: date) -> datetime:
        """The instant (UTC) of the hand-over time on ``day`` in the rotation's zone.

        A wall time that a daylight-saving change repeats counts at its first occurrence;
        one that the change skips falls as many minutes after the jump.
        """
        return datetime.combine(day, self.handoff, tzinfo=self.zone).astimezone(UTC)

    def first_handoff(self) -> datetime:
        """When the first shift starts (UTC)."""
        return self.handoff_on(self.start)

    def shift_at(self, at: datetime) -> Shift | None:
        """The shift that contains ``at``, or None before the first hand-over."""
        moment = as_utc(at)
        local_day = moment.astimezone(self.zone).date()
        # The latest hand-over day on or before the local date, then one turn back if it is still ahead.
        day = local_day - timedelta(days=(local_day - self.start).days % self.days_per_shift)
        if moment < self.handoff_on(day):
            day -= timedelta(days=self.days_per_shift)
        number = (day - self.start).days // self.days_per_shift
        if number < 0:
            return None
        return Shift(
            person_id=self.people[number % len(self.people)],
            starts_at=self.handoff_on(day),
            ends_at=self.handoff_on(day + timedelta(days=self.days_per_shift)),
            number=number,
        )


class Override(BaseModel):
    """One person on a role from ``start`` until just before ``end``: a holiday cover or a swap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = Field(min_length=1)
    person: str = Field(pattern=PERSON_ID, description="The person id who covers the role")
    start: AwareDatetime = Field(description="From this instant (ISO 8601 with an offset)")
    end: AwareDatetime = Field(description="Until this instant, exclusive")
    reason: str = Field(min_length=1, max_length=200, description="Why, e.g. 春节调班 (Spring Festival swap)")

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Override:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self

    def covers(self, at: datetime) -> bool:
        """Whether ``at`` falls in [start, end)."""
        moment = as_utc(at)
        return as_utc(self.start) <= moment < as_utc(self.end)
