"""The intake event every source format is turned into, and the incident fields it may carry."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incidents.model import Incident
from muster.errors import IntakeError

__all__ = ["EventAction", "SourceEvent", "SourceFormat", "clip", "dedup_key_of", "incident_fields", "one_line"]

SourceFormat = Literal["muster", "pagerduty", "alertmanager", "cap"]

DEDUP_KEY_MAX = 255
# A playbook id, as playbooks.model.ID_PATTERN says (incidents may not import playbooks).
PLAYBOOK_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Incident.title allows 300 characters; PagerDuty summaries allow 1024.
TITLE_MAX = 300
DESCRIPTION_MAX = 20_000


class EventAction(StrEnum):
    """What the sender asks Muster to do with the incident the event is about."""

    TRIGGER = "trigger"
    UPDATE = "update"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    CANCEL = "cancel"


class SourceEvent(BaseModel):
    """One intake event: what a source sent, read into Muster's words.

    ``fields`` holds Incident fields already checked against the Incident model
    (``occurred_at`` aware UTC); ``dedup_key`` and ``drill`` live on the event,
    never in ``fields``. ``match`` holds the flat source values mapping rules test.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: SourceFormat
    action: EventAction
    dedup_key: str | None = Field(max_length=DEDUP_KEY_MAX)
    references: list[str] = []
    fields: dict[str, Any]
    match: dict[str, str]
    drill: bool = False
    playbook: str | None = Field(default=None, pattern=PLAYBOOK_ID_PATTERN)
    raw_summary: str = ""


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dedup_key_of(text: str) -> str:
    """``text`` as a dedup key: itself when it fits in 255 characters, else ``sha256:`` and its digest."""
    if len(text) <= DEDUP_KEY_MAX:
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def incident_fields(values: Mapping[str, Any], paths: Mapping[str, str]) -> dict[str, Any]:
    """``values`` checked as Incident fields; a problem is reported at the payload path in ``paths``.

    Only the fields given come back, as the Incident model converts them (times in
    UTC). ``paths`` maps a field name to where the value came from, e.g.
    ``deaths`` → ``payload.custom_details.deaths``; unmapped names report as themselves.
    """
    given = dict(values)
    stand_ins = {"type": "unmapped", "title": "untitled"}
    try:
        incident = Incident.model_validate(stand_ins | given)
    except ValidationError as error:
        problems = []
        for detail in error.errors(include_url=False):
            name, *rest = [str(part) for part in detail["loc"]] or [""]
            path = ".".join([paths.get(name, name), *rest])
            problems.append((path, _incident_message(detail["type"], detail["msg"])))
        raise IntakeError(problems) from None
    return incident.model_dump(include=set(given))


def _incident_message(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return f"is not an incident field; use one of {', '.join(sorted(set(Incident.model_fields) - {'id'}))}"
    return message.removeprefix("Value error, ")
