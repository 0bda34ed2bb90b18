"""Who is on duty, as rows for `muster oncall`: pure, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from responders import Roster

__all__ = ["OnCallRow", "oncall_table"]


class OnCallRow(TypedDict):
    """One person answering for one role: who, why (override, rotation, roster) and until when."""

    role: str
    person: str
    name: str
    title: str
    source: str
    shift_until: str | None
    contacts: list[str]


def oncall_table(roster: Roster, role: str | None, at: datetime) -> list[OnCallRow]:
    """Who answers for ``role`` (or for every role, in roster order) at ``at``, an aware time.

    ``shift_until`` is when the answer next changes, in the local time of what decides it
    (the rotation's zone, the override's own offset, or ``at``'s zone), or None if nothing
    scheduled changes it.
    """
    roles = [role] if role is not None else _roles_in_roster_order(roster)
    return [
        OnCallRow(
            role=duty.role,
            person=duty.person.id,
            name=duty.person.name,
            title=duty.person.title,
            source=duty.source.value,
            shift_until=_local_iso(duty.until) if duty.until else None,
            contacts=list(dict.fromkeys(contact.channel for contact in duty.person.contacts)),
        )
        for name in roles
        for duty in roster.duty(name, at)
    ]


def _roles_in_roster_order(roster: Roster) -> list[str]:
    ordered = [role for person in roster.people for role in person.roles]
    ordered += [rotation.role for rotation in roster.rotations]
    ordered += [override.role for override in roster.overrides]
    return list(dict.fromkeys(ordered))


def _local_iso(at: datetime) -> str:
    return at.isoformat(timespec="minutes" if at.second == 0 and at.microsecond == 0 else "seconds")
