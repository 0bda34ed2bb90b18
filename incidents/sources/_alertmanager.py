"""Prometheus Alertmanager webhook bodies (version 4) read into intake events.

One webhook carries one alert group, and one group is one incident: its
``groupKey`` is the dedup key. ``firing`` triggers (the service turns a repeat into
an update), ``resolved`` resolves. Muster incident fields ride in
``commonAnnotations`` under their own names (``location``, ``deaths``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from incidents.sources._event import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    EventAction,
    SourceEvent,
    clip,
    dedup_key_of,
    incident_fields,
    one_line,
)
from incidents.sources._payload import PayloadReader, join_path

__all__ = ["parse_alertmanager"]

VERSION = "4"
STATUSES = ("firing", "resolved")
ACTIONS = {"firing": EventAction.TRIGGER, "resolved": EventAction.RESOLVE}
# Go's zero time: what a firing alert's endsAt says while it has no end.
ZERO_TIME_PREFIX = "0001-01-01T00:00:00"


class _Alert(NamedTuple):
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None


def parse_alertmanager(body: Mapping[str, Any]) -> list[SourceEvent]:
    """The one event of an Alertmanager v4 webhook: one incident per alert group."""
    reader = PayloadReader()
    body = reader.body(body)
    version = body.get("version")
    if version != VERSION:
        shown = "missing" if version is None else f"{version!r}"
        reader.fail("version", f'must be the string "4" (Alertmanager webhook version 4), got {shown}')
    group_key = reader.text(body, "groupKey", "", required=True)
    status = reader.text(body, "status", "", required=True, choices=STATUSES)
    receiver = reader.text(body, "receiver", "") or ""
    reader.string_map(body, "groupLabels", "")
    common_labels = reader.string_map(body, "commonLabels", "")
    common_annotations = reader.string_map(body, "commonAnnotations", "")
    external_url = reader.text(body, "externalURL", "")
    truncated = reader.count(body["truncatedAlerts"], "truncatedAlerts") if "truncatedAlerts" in body else 0
    alerts = [_read_alert(reader, path, alert) for path, alert in reader.objects(body, "alerts", "", required=True)]
    values, paths = reader.incident_details(common_annotations, "commonAnnotations")
    reader.check()
    assert group_key is not None and status is not None  # required, checked

    title = common_annotations.get("summary") or common_labels.get("alertname") or f"alert group {group_key}"
    values |= {
        "title": clip(one_line(title), TITLE_MAX),
        "description": _describe(status, alerts, common_labels, common_annotations, truncated or 0),
        "reporter": clip(external_url or "alertmanager", 300),
        "labels": common_labels,
    }
    paths |= {"title": "commonAnnotations.summary", "reporter": "externalURL", "labels": "commonLabels"}
    starts = [alert.starts_at for alert in alerts if alert.starts_at is not None]
    if starts:
        values["occurred_at"], paths["occurred_at"] = min(starts), "alerts[].startsAt"
    fields = incident_fields(values, paths)

    match = {"status": status, "receiver": receiver}
    match |= {f"labels.{name}": value for name, value in common_labels.items()}
    match |= {f"annotations.{name}": value for name, value in common_annotations.items()}
    drill = reader.flag(common_labels, "drill") or reader.flag(common_annotations, "drill")
    return [
        SourceEvent(
            format="alertmanager",
            action=ACTIONS[status],
            dedup_key=dedup_key_of(group_key),
            fields=fields,
            match=match,
            drill=drill,
            raw_summary=clip(one_line(f"alertmanager {status} {group_key}: {title} ({len(alerts)} alerts)"), TITLE_MAX),
        )
    ]


def _read_alert(reader: PayloadReader, path: str, alert: Mapping[str, Any]) -> _Alert:
    status = reader.text(alert, "status", path, required=True, choices=STATUSES) or ""
    labels = reader.string_map(alert, "labels", path)
    annotations = reader.string_map(alert, "annotations", path)
    starts_at = reader.time(alert, "startsAt", path, required=True)
    if starts_at is not None and starts_at.year == 1:
        reader.fail(join_path(path, "startsAt"), "is Go's zero time (0001-01-01); an alert needs the time it started")
        starts_at = None
    ends_at = alert.get("endsAt")
    if not (isinstance(ends_at, str) and ends_at.startswith(ZERO_TIME_PREFIX)):
        reader.time(alert, "endsAt", path)
    reader.text(alert, "generatorURL", path)
    reader.text(alert, "fingerprint", path)
    return _Alert(status, labels, annotations, starts_at)


def _describe(
    status: str,
    alerts: list[_Alert],
    common_labels: Mapping[str, str],
    common_annotations: Mapping[str, str],
    truncated: int,
) -> str:
    """The group's description, then one line per alert (firing ones while the group fires)."""
    lines = [common_annotations["description"]] if common_annotations.get("description") else []
    shown = [alert for alert in alerts if alert.status == status] or alerts
    for alert in shown:
        distinct = {k: v for k, v in alert.labels.items() if common_labels.get(k) != v} or alert.labels
        names = " ".join(f"{k}={v}" for k, v in sorted(distinct.items()))
        text = alert.annotations.get("description") or alert.annotations.get("summary") or ""
        since = f" since {alert.starts_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if alert.starts_at else ""
        lines.append(f"- [{alert.status}] {names}{since}" + (f": {one_line(text)}" if text else ""))
    if status == "firing" and len(shown) < len(alerts):
        lines.append(f"{len(alerts) - len(shown)} alert(s) of the group already resolved.")
    if truncated:
        lines.append(f"… and {truncated} more alert(s) Alertmanager left out (truncatedAlerts).")
    return clip("\n".join(lines), DESCRIPTION_MAX)
