"""The roster: people, the roles they hold, how to reach them, who is on duty, and who answers above."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from responders.escalation import escalation_chain, escalation_cycles
from responders.oncall import PERSON_ID, DutySource, Override, Rotation, as_utc

__all__ = ["Contact", "Duty", "Person", "Roster"]


class _Problem(NamedTuple):
    loc: tuple[str | int, ...]
    reason: str
    value: object


def _unknown_person(person_id: str) -> str:
    return f"unknown person {person_id!r}; add them under people, or correct the id"


def _nobody_holds(role: str) -> str:
    return f"nobody holds role {role!r} (no person lists it, and no rotation or override gives it)"


class Contact(BaseModel):
    """One way to reach a person: a configured channel and the address on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(min_length=1, description="Name of a channel in channels.yaml")
    address: str = Field(min_length=1, description="Who to reach on that channel (handle, mobile, user id)")


class Person(BaseModel):
    """A responder: name, language, roles held, contact points in order of preference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=PERSON_ID)
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    language: str = Field(default="zh", pattern="^(zh|en)$")
    title: str = Field(default="", max_length=100, description="Post, e.g. 安全总监")
    phone: str = Field(default="", max_length=32)
    roles: list[str] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)

    def display_name(self, language: str) -> str:
        """The name to show in ``language``."""
        return self.name_en if language == "en" and self.name_en else self.name


@dataclass(frozen=True, slots=True)
class Duty:
    """Who answers for ``role`` at a time, why, and until when the answer holds (None: no change ahead)."""

    role: str
    person: Person
    source: DutySource
    until: datetime | None


class Roster(BaseModel):
    """Everyone who may be called on, the roles they hold, rotations, overrides and the escalation chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    people: list[Person] = Field(default_factory=list)
    rotations: list[Rotation] = Field(default_factory=list, description="Roles handed over on a schedule")
    overrides: list[Override] = Field(default_factory=list, description="Dated cover; the last one listed wins")
    escalation: dict[str, list[str]] = Field(
        default_factory=dict, description="Role → the roles directly above it, nearest first"
    )

    @model_validator(mode="after")
    def _references_hold(self) -> Roster:
        problems = [*self._duplicate_people(), *self._duty_problems(), *self._escalation_problems()]
        if problems:
            # Raised from a validator, a ValidationError keeps each problem's own place (rotations.0.people.1),
            # so the YAML loader reports it at its line.
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("roster", "{reason}", {"reason": p.reason}), loc=p.loc, input=p.value
                    )
                    for p in problems
                ],
            )
        return self

    def _duplicate_people(self) -> list[_Problem]:
        first: dict[str, int] = {}
        problems = []
        for index, person in enumerate(self.people):
            if person.id in first:
                problems.append(_Problem(("people", index, "id"), f"person id {person.id!r} appears twice", person.id))
            first.setdefault(person.id, index)
        return problems

    def _duty_problems(self) -> list[_Problem]:
        known = {person.id for person in self.people}
        problems = []
        first: dict[str, int] = {}
        for r_index, rotation in enumerate(self.rotations):
            if rotation.role in first:
                reason = (
                    f"role {rotation.role!r} already has a rotation (rotations.{first[rotation.role]}); one per role"
                )
                problems.append(_Problem(("rotations", r_index, "role"), reason, rotation.role))
            first.setdefault(rotation.role, r_index)
            problems += [
                _Problem(("rotations", r_index, "people", p_index), _unknown_person(person_id), person_id)
                for p_index, person_id in enumerate(rotation.people)
                if person_id not in known
            ]
        problems += [
            _Problem(("overrides", o_index, "person"), _unknown_person(override.person), override.person)
            for o_index, override in enumerate(self.overrides)
            if override.person not in known
        ]
        return problems

    def _escalation_problems(self) -> list[_Problem]:
        known = self.roles()
        problems = []
        for role, above in self.escalation.items():
            if role not in known:
                problems.append(_Problem(("escalation", role), _nobody_holds(role), role))
            for index, upper in enumerate(above):
                if upper not in known:
                    problems.append(_Problem(("escalation", role, index), _nobody_holds(upper), upper))
                elif upper in above[:index]:
                    problems.append(
                        _Problem(("escalation", role, index), f"{upper!r} is listed twice above {role!r}", upper)
                    )
        problems += [
            _Problem(
                ("escalation", cycle.role, cycle.index),
                f"escalation goes round in a circle: {cycle}; the top of a chain answers to no one",
                cycle.path[-1],
            )
            for cycle in escalation_cycles(self.escalation)
        ]
        return problems

    def holders(self, role: str) -> list[Person]:
        """Everyone holding ``role``, in roster order."""
        return [person for person in self.people if role in person.roles]

    def everyone_for(self, role: str) -> list[Person]:
        """Everyone who may answer for ``role`` at some time: listed with it, on its rotation, or covering it."""
        ids = {p.id for p in self.holders(role)}
        rotation = self.rotation(role)
        ids |= set(rotation.people) if rotation else set()
        ids |= {o.person for o in self.overrides if o.role == role}
        return [person for person in self.people if person.id in ids]

    def person(self, person_id: str) -> Person:
        """The person with that id."""
        for person in self.people:
            if person.id == person_id:
                return person
        raise KeyError(person_id)

    def roles(self) -> set[str]:
        """Every role someone holds: listed with a person, or given by a rotation or an override."""
        held = {role for person in self.people for role in person.roles}
        return held | {rotation.role for rotation in self.rotations} | {o.role for o in self.overrides}

    def rotation(self, role: str) -> Rotation | None:
        """The rotation for ``role``, if it has one."""
        return next((rotation for rotation in self.rotations if rotation.role == role), None)

    def duty(self, role: str, at: datetime) -> list[Duty]:
        """Who answers for ``role`` at ``at``: the last override listed that covers it, else the person on
        the rotation's shift, else everyone holding the role in the roster."""
        moment = as_utc(at)
        overrides = [(index, o) for index, o in enumerate(self.overrides) if o.role == role]
        covering = [(index, o) for index, o in overrides if o.covers(moment)]
        if covering:
            index, override = covering[-1]
            # Only a newer override can cut this one short.
            cut = [as_utc(o.start) for later, o in overrides if later > index and moment < o.start < override.end]
            until = min([as_utc(override.end), *cut]).astimezone(override.end.tzinfo)
            return [Duty(role, self.person(override.person), DutySource.OVERRIDE, until)]
        next_override = min((as_utc(o.start) for _, o in overrides if o.start > moment), default=None)
        rotation = self.rotation(role)
        changes = [next_override] if next_override else []
        if rotation is not None:
            shift = rotation.shift_at(moment)
            if shift is not None:
                until = min([shift.ends_at, *changes]).astimezone(rotation.zone)
                return [Duty(role, self.person(shift.person_id), DutySource.ROTATION, until)]
            changes.append(rotation.first_handoff())
        static_until = min(changes).astimezone(at.tzinfo) if changes else None
        return [Duty(role, person, DutySource.ROSTER, static_until) for person in self.holders(role)]

    def on_duty(self, role: str, at: datetime) -> list[Person]:
        """The people who answer for ``role`` at ``at`` (an aware time); see :meth:`duty`."""
        return [duty.person for duty in self.duty(role, at)]

    def escalation_chain(self, role: str) -> list[str]:
        """The roles above ``role``, nearest first, following the escalation map upward without repeats."""
        return escalation_chain(self.escalation, role)
