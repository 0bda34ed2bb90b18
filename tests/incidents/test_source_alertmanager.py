"""Alertmanager webhook v4 bodies read into one intake event per alert group."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from incidents import EventAction, Incident, parse_alertmanager
from muster.errors import IntakeError

GROUP_KEY = '{}/{severity="page"}:{alertname="GasLeak"}'
COMMON_LABELS = {"alertname": "GasLeak", "severity": "page", "site": "hengan-chem", "area": "tank-farm-b"}

# Two gas detectors of one tank farm firing together: one alert group, so one incident.
FIRING: dict[str, Any] = {
    "receiver": "muster",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": COMMON_LABELS | {"instance": "gds-07:9100", "tank": "B3"},
            "annotations": {"description": "LEL 42% at the B3 flange", "summary": "Gas above alarm limit"},
            "startsAt": "2026-11-29T00:15:07.204391873Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.hengan.local:9090/graph?g0.expr=gds_lel_percent+%3E+25&g0.tab=1",
            "fingerprint": "6d2b7b9a2c1e4f01",
        },
        {
            "status": "firing",
            "labels": COMMON_LABELS | {"instance": "gds-08:9100", "tank": "B4"},
            "annotations": {"description": "LEL 31% downwind of B3"},
            "startsAt": "2026-11-29T00:14:37.512345678Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.hengan.local:9090/graph?g0.expr=gds_lel_percent+%3E+25&g0.tab=1",
            "fingerprint": "0f9a8e77d3c2b6a5",
        },
    ],
    "groupLabels": {"alertname": "GasLeak"},
    "commonLabels": COMMON_LABELS,
    "commonAnnotations": {
        "summary": "B 罐区可燃气体浓度超限 Combustible gas above alarm limit at tank farm B",
        "location": "江苏省南通市某化工园区 B 罐区",
        "unit": "南通恒安化工有限公司",
    },
    "externalURL": "http://alertmanager.hengan.local:9093",
    "version": "4",
    "groupKey": GROUP_KEY,
    "truncatedAlerts": 0,
}

# The same group after both detectors fell back under the limit.
RESOLVED: dict[str, Any] = copy.deepcopy(FIRING) | {"status": "resolved"}
for _alert, _end in zip(RESOLVED["alerts"], ["2026-11-29T00:41:07.2Z", "2026-11-29T00:39:37.5Z"], strict=True):
    _alert["status"], _alert["endsAt"] = "resolved", _end


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with the field at dotted ``path`` set (``...`` removes it; digits index lists)."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = changed
    for name in parents:
        target = target[int(name)] if name.isdigit() else target[name]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return changed


def test_a_firing_group_is_one_trigger_keyed_by_its_group_key() -> None:
    """Two firing alerts of one group make ONE trigger event whose dedup key is the groupKey."""
    events = parse_alertmanager(FIRING)
    assert len(events) == 1
    [event] = events
    assert (event.format, event.action, event.dedup_key) == ("alertmanager", EventAction.TRIGGER, GROUP_KEY)
    assert event.fields["title"] == "B 罐区可燃气体浓度超限 Combustible gas above alarm limit at tank farm B"
    assert event.fields["labels"] == COMMON_LABELS
    assert event.fields["location"] == "江苏省南通市某化工园区 B 罐区"
    assert event.fields["unit"] == "南通恒安化工有限公司"
    assert event.fields["reporter"] == "http://alertmanager.hengan.local:9093"
    assert event.drill is False
    Incident.model_validate({"type": "gas_leak", **event.fields})


def test_occurred_at_is_the_earliest_start_of_the_group() -> None:
    """The incident began when its first alert started; nanoseconds are cut to microseconds."""
    [event] = parse_alertmanager(FIRING)
    assert event.fields["occurred_at"] == datetime(2026, 11, 29, 0, 14, 37, 512345, tzinfo=UTC)


def test_the_description_lists_each_firing_alert_by_its_own_labels() -> None:
    """Each alert shows the labels that set it apart from the group, its start, and its description."""
    [event] = parse_alertmanager(FIRING)
    assert event.fields["description"].splitlines() == [
        "- [firing] instance=gds-07:9100 tank=B3 since 2026-11-29 00:15:07 UTC: LEL 42% at the B3 flange",
        "- [firing] instance=gds-08:9100 tank=B4 since 2026-11-29 00:14:37 UTC: LEL 31% downwind of B3",
    ]


def test_match_holds_labels_annotations_status_and_receiver() -> None:
    """Rules can test labels.<name>, annotations.<name>, status and receiver."""
    [event] = parse_alertmanager(FIRING)
    assert event.match["labels.alertname"] == "GasLeak"
    assert event.match["labels.severity"] == "page"
    assert event.match["annotations.unit"] == "南通恒安化工有限公司"
    assert (event.match["status"], event.match["receiver"]) == ("firing", "muster")
    assert "labels.instance" not in event.match


def test_the_resolved_twin_resolves_the_same_group() -> None:
    """The resolved webhook of the group is a RESOLVE with the same dedup key as its trigger."""
    [event] = parse_alertmanager(RESOLVED)
    assert (event.action, event.dedup_key) == (EventAction.RESOLVE, GROUP_KEY)
    assert event.match["status"] == "resolved"
    assert event.fields["description"].count("[resolved]") == 2


def test_a_firing_alert_with_go_zero_end_time_parses() -> None:
    """endsAt 0001-01-01T00:00:00Z means "no end yet" and must not crash on the year 1."""
    body = _with(FIRING, "alerts.0.endsAt", "0001-01-01T00:00:00+08:00")
    [event] = parse_alertmanager(body)
    assert event.action is EventAction.TRIGGER


def test_a_start_at_go_zero_time_is_refused() -> None:
    """An alert must say when it started; the zero time says it does not know."""
    with pytest.raises(IntakeError) as caught:
        parse_alertmanager(_with(FIRING, "alerts.1.startsAt", "0001-01-01T00:00:00Z"))
    assert caught.value.problems == (
        ("alerts[1].startsAt", "is Go's zero time (0001-01-01); an alert needs the time it started"),
    )


def test_a_partly_resolved_group_lists_firing_alerts_and_counts_the_rest() -> None:
    """While the group fires, only firing alerts are listed; resolved ones are counted."""
    body = _with(FIRING, "alerts.0.status", "resolved")
    [event] = parse_alertmanager(body)
    lines = event.fields["description"].splitlines()
    assert lines == [lines[0], "1 alert(s) of the group already resolved."]
    assert "gds-08" in lines[0]


def test_truncated_alerts_are_mentioned() -> None:
    """When Alertmanager left alerts out (max_alerts), the description says how many."""
    [event] = parse_alertmanager(_with(FIRING, "truncatedAlerts", 3))
    assert event.fields["description"].endswith("… and 3 more alert(s) Alertmanager left out (truncatedAlerts).")


def test_the_title_falls_back_to_the_alert_name() -> None:
    """Without a common summary annotation the alert name is the title."""
    [event] = parse_alertmanager(_with(FIRING, "commonAnnotations.summary", ...))
    assert event.fields["title"] == "GasLeak"


def test_common_description_annotation_leads_the_description() -> None:
    """A description shared by all alerts comes first, before the per-alert lines."""
    [event] = parse_alertmanager(_with(FIRING, "commonAnnotations.description", "罐区已启动喷淋。"))
    assert event.fields["description"].splitlines()[0] == "罐区已启动喷淋。"


def test_casualty_annotations_become_incident_counts() -> None:
    """Annotations are strings; digit strings for deaths and injuries become whole numbers."""
    body = _with(FIRING, "commonAnnotations.serious_injuries", "2")
    [event] = parse_alertmanager(body)
    assert event.fields["serious_injuries"] == 2
    assert "deaths" not in event.fields


def test_a_drill_label_marks_the_group_as_a_drill() -> None:
    """commonLabels.drill = "true" makes the event a drill."""
    body = _with(FIRING, "commonLabels", COMMON_LABELS | {"drill": "true"})
    [event] = parse_alertmanager(body)
    assert event.drill is True


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("version", "3", ("version", "must be the string \"4\" (Alertmanager webhook version 4), got '3'")),
        ("version", 4, ("version", 'must be the string "4" (Alertmanager webhook version 4), got 4')),
        ("version", ..., ("version", 'must be the string "4" (Alertmanager webhook version 4), got missing')),
        ("groupKey", ..., ("groupKey", "is required")),
        ("status", "pending", ("status", "must be one of firing, resolved, got 'pending'")),
        ("receiver", ["muster"], ("receiver", "must be a string, got an array")),
        ("commonLabels", ["GasLeak"], ("commonLabels", "must be an object, got an array")),
        ("commonLabels", {"tank": 3}, ("commonLabels.tank", "must be a string, got a number")),
        (
            "commonAnnotations.deaths",
            "two",
            ("commonAnnotations.deaths", "must be a whole number ≥ 0, got a string 'two'"),
        ),
        ("truncatedAlerts", -1, ("truncatedAlerts", "must be a whole number ≥ 0, got a number '-1'")),
        ("alerts", ..., ("alerts", "is required")),
        ("alerts", [], ("alerts", "must not be empty")),
        ("alerts", {"0": {}}, ("alerts", "must be an array, got an object")),
        ("alerts.1", "firing", ("alerts[1]", "must be an object, got a string")),
        ("alerts.1.status", "active", ("alerts[1].status", "must be one of firing, resolved, got 'active'")),
        ("alerts.0.labels", {"tank": None}, ("alerts[0].labels.tank", "must be a string, got null")),
        ("alerts.0.startsAt", ..., ("alerts[0].startsAt", "is required")),
        (
            "alerts.1.startsAt",
            "29/11/2026 08:15",
            (
                "alerts[1].startsAt",
                "must be an ISO 8601 time such as 2026-11-29T08:15:00+08:00, got '29/11/2026 08:15'",
            ),
        ),
        (
            "alerts.0.endsAt",
            "soon",
            ("alerts[0].endsAt", "must be an ISO 8601 time such as 2026-11-29T08:15:00+08:00, got 'soon'"),
        ),
        ("alerts.0.fingerprint", 6, ("alerts[0].fingerprint", "must be a string, got a number")),
    ],
)
def test_a_wrong_field_is_reported_at_its_path(path: str, value: Any, problem: tuple[str, str]) -> None:
    """Each wrong or missing field is an IntakeError naming its exact path."""
    with pytest.raises(IntakeError) as caught:
        parse_alertmanager(_with(FIRING, path, value))
    assert caught.value.problems == (problem,)


def test_a_group_key_too_long_for_a_dedup_key_is_hashed_the_same_way_every_time() -> None:
    """A groupKey past 255 characters becomes a stable sha256 key, so the resolve still finds the trigger."""
    long_key = "{}/{" + ",".join(f'l{i}="{"v" * 20}"' for i in range(20)) + "}"
    [fired] = parse_alertmanager(_with(FIRING, "groupKey", long_key))
    [resolved] = parse_alertmanager(_with(RESOLVED, "groupKey", long_key))
    assert fired.dedup_key == resolved.dedup_key
    assert fired.dedup_key is not None and fired.dedup_key.startswith("sha256:") and len(fired.dedup_key) == 71


@pytest.mark.parametrize("junk", [None, 0, False, "", [], {}, [None], {"k": []}])
@pytest.mark.parametrize(
    "path",
    [
        "version",
        "groupKey",
        "status",
        "commonLabels",
        "commonAnnotations",
        "alerts",
        "alerts.0",
        "alerts.0.labels",
        "alerts.0.startsAt",
        "alerts.0.endsAt",
        "truncatedAlerts",
        "externalURL",
    ],
)
def test_any_junk_in_any_field_is_an_intake_error_never_a_crash(path: str, junk: Any) -> None:
    """Whatever a field holds, the parser answers with an event or an IntakeError, never KeyError or TypeError."""
    try:
        parse_alertmanager(_with(FIRING, path, junk))
    except IntakeError as error:
        assert error.problems
