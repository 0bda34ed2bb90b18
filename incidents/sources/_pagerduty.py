"""PagerDuty Events API v2 bodies (``POST /v2/enqueue``) read into intake events.

The shape is PagerDuty's: ``routing_key``, ``event_action``, ``dedup_key`` and, for a
trigger, ``payload{summary, source, severity, timestamp, component, group, class,
custom_details}`` plus ``links`` and ``images``. Muster incident fields ride in
``custom_details`` under their own names (``location``, ``deaths``, ...).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from incidents.sources._event import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    EventAction,
    SourceEvent,
    clip,
    incident_fields,
    one_line,
)
from incidents.sources._payload import COUNT_FIELDS, TEXT_FIELDS, PayloadReader

__all__ = ["parse_pagerduty"]

ROUTING_KEY_LENGTH = 32
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024
ACTIONS = {
    "trigger": EventAction.TRIGGER,
    "acknowledge": EventAction.ACKNOWLEDGE,
    "resolve": EventAction.RESOLVE,
}
SEVERITIES = ("critical", "error", "warning", "info")
# Optional payload strings that become labels and match keys.
PAYLOAD_TEXT = ("component", "group", "class")
# custom_details keys Muster reads itself, kept out of the description's list of details.
MUSTER_DETAILS = frozenset({*TEXT_FIELDS, *COUNT_FIELDS, "drill"})


def parse_pagerduty(body: Mapping[str, Any]) -> list[SourceEvent]:
    """The one event of a PagerDuty Events v2 body; a trigger without ``dedup_key`` gets a new one."""
    reader = PayloadReader()
    body = reader.body(body)
    routing_key = reader.text(body, "routing_key", "", required=True)
    if routing_key is not None and len(routing_key) != ROUTING_KEY_LENGTH:
        reader.fail(
            "routing_key", f"must be {ROUTING_KEY_LENGTH} characters (an integration key), got {len(routing_key)}"
        )
    action_name = reader.text(body, "event_action", "", required=True, choices=ACTIONS)
    needs_key = action_name in ("acknowledge", "resolve")
    dedup_key = reader.text(body, "dedup_key", "", max_length=DEDUP_KEY_MAX)
    if dedup_key is not None and not dedup_key.strip():
        reader.fail("dedup_key", "must not be empty")
    elif needs_key and dedup_key is None and all(path != "dedup_key" for path, _ in reader.problems):
        reader.fail("dedup_key", f"is required to {action_name} an alert: it names the alert to {action_name}")
    if action_name != "trigger":
        reader.check()
        assert action_name is not None and dedup_key is not None  # checked just above
        return [
            SourceEvent(
                format="pagerduty",
                action=ACTIONS[action_name],
                dedup_key=dedup_key,
                fields={},
                match={"event_action": action_name},
                raw_summary=clip(one_line(f"pagerduty {action_name} {dedup_key}"), TITLE_MAX),
            )
        ]
    return [_trigger(reader, body, dedup_key)]


def _trigger(reader: PayloadReader, body: Mapping[str, Any], dedup_key: str | None) -> SourceEvent:
    payload = reader.mapping(body, "payload", "", required=True)
    if not isinstance(body.get("payload"), Mapping):
        reader.check()  # no payload: its fields need not be reported one by one
    summary = reader.text(payload, "summary", "payload", required=True, max_length=SUMMARY_MAX)
    source = reader.text(payload, "source", "payload", required=True)
    severity = reader.text(payload, "severity", "payload", required=True, choices=SEVERITIES)
    occurred_at = reader.time(payload, "timestamp", "payload")
    extras = {name: reader.text(payload, name, "payload") for name in PAYLOAD_TEXT}
    details = reader.mapping(payload, "custom_details", "payload")
    values, paths = reader.incident_details(details, "payload.custom_details")
    links = [
        (reader.text(link, "text", path), reader.text(link, "href", path, required=True))
        for path, link in reader.objects(body, "links", "")
    ]
    for path, image in reader.objects(body, "images", ""):
        reader.text(image, "src", path, required=True)
        reader.text(image, "href", path)
        reader.text(image, "alt", path)
    client = reader.text(body, "client", "")
    reader.text(body, "client_url", "")
    reader.check()
    assert summary is not None and source is not None and severity is not None  # required, checked

    title = clip(one_line(summary), TITLE_MAX)
    labels = {"source": source, "severity": severity} | {k: v for k, v in extras.items() if v is not None}
    values |= {"title": title, "reporter": clip(client or source, 300), "labels": labels}
    paths |= {"title": "payload.summary", "reporter": "client" if client else "payload.source", "labels": "payload"}
    if occurred_at is not None:
        values["occurred_at"], paths["occurred_at"] = occurred_at, "payload.timestamp"
    if "description" not in values:
        described = _describe(summary if title != one_line(summary) else "", details, links)
        if described:
            values["description"] = described
    fields = incident_fields(values, paths)

    key = dedup_key or uuid.uuid4().hex
    return SourceEvent(
        format="pagerduty",
        action=EventAction.TRIGGER,
        dedup_key=key,
        fields=fields,
        match={"event_action": "trigger", **labels, **_detail_matches(details)},
        drill=reader.flag(details, "drill"),
        raw_summary=clip(one_line(f"pagerduty trigger {key} [{severity}] {source}: {summary}"), TITLE_MAX),
    )


def _describe(long_summary: str, details: Mapping[str, Any], links: list[tuple[str | None, str | None]]) -> str:
    """The summary when the title had to be cut, then the source's own details and links, one per line."""
    lines = [long_summary] if long_summary else []
    for name, value in details.items():
        if name not in MUSTER_DETAILS:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            lines.append(f"{name}: {shown}")
    lines.extend(f"{text or href}: {href}" for text, href in links)
    return clip("\n".join(lines), DESCRIPTION_MAX)


def _detail_matches(details: Mapping[str, Any]) -> dict[str, str]:
    """``custom_details.<key>`` for every custom detail that is a string, a number or a boolean."""
    found: dict[str, str] = {}
    for name, value in details.items():
        if isinstance(value, bool):
            found[f"custom_details.{name}"] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            found[f"custom_details.{name}"] = str(value)
    return found
