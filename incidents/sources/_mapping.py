"""Mapping rules: which incident type and playbook an intake event gets.

The service's config lists rules in order; the first whose ``format`` (when set)
is the event's and whose every ``match`` entry fits the event's ``match`` values wins.
A value starting with ``~`` is a regular expression that must match the whole value
(``"~GasLeak|H2SHigh"``); to match a literal leading tilde write ``"~\\\\~..."``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from incidents.sources._event import PLAYBOOK_ID_PATTERN, SourceEvent, SourceFormat, clip
from muster.errors import IntakeError

__all__ = ["MappingRule", "choose_playbook"]

REGEX_PREFIX = "~"


class MappingRule(BaseModel):
    """One row of the mapping table: events it matches get ``incident_type`` and ``playbook``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: SourceFormat | None = None
    match: dict[str, str] = {}
    incident_type: str = Field(min_length=1, max_length=64)
    playbook: str = Field(pattern=PLAYBOOK_ID_PATTERN)

    @field_validator("match")
    @classmethod
    def _patterns_compile(cls, match: dict[str, str]) -> dict[str, str]:
        for key, expected in match.items():
            if expected.startswith(REGEX_PREFIX):
                try:
                    re.compile(expected.removeprefix(REGEX_PREFIX))
                except re.error as error:
                    raise ValueError(f"{key}: {expected!r} is not a valid regular expression ({error})") from None
        return match

    def matches(self, event: SourceEvent) -> bool:
        """Whether ``event`` has this rule's format (if set) and every one of its match values."""
        if self.format is not None and self.format != event.format:
            return False
        for key, expected in self.match.items():
            actual = event.match.get(key)
            if actual is None:
                return False
            if expected.startswith(REGEX_PREFIX):
                if re.fullmatch(expected.removeprefix(REGEX_PREFIX), actual) is None:
                    return False
            elif actual != expected:
                return False
        return True


def choose_playbook(event: SourceEvent, rules: Sequence[MappingRule]) -> MappingRule:
    """The first rule ``event`` matches.

    A Muster JSON event may name its playbook and incident type itself: with both
    named no rule is needed; with one named, only rules that agree with it can match.
    """
    named_type = event.fields.get("type")
    if event.playbook is not None and isinstance(named_type, str):
        return MappingRule(format=event.format, incident_type=named_type, playbook=event.playbook)
    for rule in rules:
        if not rule.matches(event):
            continue
        if event.playbook is not None and rule.playbook != event.playbook:
            continue
        if isinstance(named_type, str) and rule.incident_type != named_type:
            continue
        return rule
    shown = ", ".join(f"{key}={value!r}" for key, value in sorted(event.match.items()))
    named = [f"playbook {event.playbook!r}" if event.playbook else "", f"type {named_type!r}" if named_type else ""]
    wanted = " and ".join(part for part in named if part)
    message = (
        f"no mapping rule matches this {event.format} event"
        + (f" with {wanted}" if wanted else "")
        + f" ({clip(shown, 1000) or 'no match fields'}); add a rule to the intake mapping that matches it"
    )
    raise IntakeError([("match", message)])
