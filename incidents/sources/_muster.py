"""Muster's own JSON intake body (``POST /v1/incidents``, ``muster trigger``) read into an event.

The body is ``{"playbook"?: id, "incident": {Incident fields}, "action"?: trigger|update|resolve,
"dedup_key"?: key}``. The incident fields are checked by the Incident model itself, so a
wrong value is reported as ``incident.<field>`` with the model's own message.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from incidents.sources._event import (
    DEDUP_KEY_MAX,
    PLAYBOOK_ID_PATTERN,
    TITLE_MAX,
    EventAction,
    SourceEvent,
    clip,
    incident_fields,
    one_line,
)
from incidents.sources._payload import PayloadReader
from muster.errors import IntakeError

__all__ = ["parse_muster"]

BODY_FIELDS = ("action", "dedup_key", "incident", "playbook")
ACTIONS = {"trigger": EventAction.TRIGGER, "update": EventAction.UPDATE, "resolve": EventAction.RESOLVE}


def parse_muster(body: Mapping[str, Any]) -> list[SourceEvent]:
    """The one event of a Muster JSON body; a trigger without ``dedup_key`` gets a new one."""
    reader = PayloadReader()
    body = reader.body(body)
    for name in body:
        if name not in BODY_FIELDS:
            reader.fail(str(name), f"is not a field of a Muster intake body; use {', '.join(BODY_FIELDS)}")
    action_name = reader.text(body, "action", "", choices=ACTIONS) or "trigger"
    playbook = reader.text(body, "playbook", "")
    if playbook is not None and not re.fullmatch(PLAYBOOK_ID_PATTERN, playbook):
        reader.fail("playbook", f"must be a playbook id (lowercase letters, digits, _ and -), got {playbook[:70]!r}")
        playbook = None
    dedup_key = reader.text(body, "dedup_key", "", max_length=DEDUP_KEY_MAX)
    incident = reader.mapping(body, "incident", "", required=action_name == "trigger")
    inner_key = reader.text(incident, "dedup_key", "incident", max_length=DEDUP_KEY_MAX)
    if dedup_key is not None and inner_key is not None and dedup_key != inner_key:
        reader.fail("incident.dedup_key", f"differs from dedup_key {dedup_key[:60]!r}; give the key once")
    key = dedup_key or inner_key
    if action_name != "trigger" and key is None:
        reader.fail("dedup_key", f"is required to {action_name} an incident: it names the incident")
    if "id" in incident:
        reader.fail("incident.id", "is given by Muster; refer to an earlier incident by its dedup_key")
    if action_name == "trigger" and isinstance(body.get("incident"), Mapping) and "title" not in incident:
        reader.fail("incident.title", "is required")

    # Muster gives the id; the dedup key belongs to the event (and drill moves there once checked).
    values = {name: value for name, value in incident.items() if name not in ("id", "dedup_key")}
    fields: dict[str, Any] = {}
    try:
        fields = incident_fields(values, {name: f"incident.{name}" for name in values})
    except IntakeError as error:
        reader.problems.extend(error.problems)
    reader.check()

    drill = bool(fields.pop("drill", False))
    match = {"action": action_name}
    if playbook is not None:
        match["playbook"] = playbook
    for name in ("type", "language"):
        if name in fields:
            match[name] = str(fields[name])
    match |= {f"labels.{name}": value for name, value in fields.get("labels", {}).items()}
    key = key or uuid.uuid4().hex
    title = str(fields.get("title", ""))
    return [
        SourceEvent(
            format="muster",
            action=ACTIONS[action_name],
            dedup_key=key,
            fields=fields,
            match=match,
            drill=drill,
            playbook=playbook,
            raw_summary=clip(one_line(f"muster {action_name} {key}: {title}"), TITLE_MAX),
        )
    ]
