"""PagerDuty Events API v2 bodies (POST /v2/enqueue) read into intake events."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from incidents import EventAction, Incident, parse_pagerduty
from muster.errors import IntakeError

ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"

# The trigger example of PagerDuty's Events API v2 documentation (routing key made 32 characters).
DOCS_TRIGGER: dict[str, Any] = {
    "payload": {
        "summary": "DISK at 99% on machine prod-datapipe03.example.com",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "severity": "critical",
        "source": "prod-datapipe03.example.com",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
    },
    "routing_key": ROUTING_KEY,
    "dedup_key": "srv01/mysql",
    "images": [
        {
            "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
            "href": "https://example.com/",
            "alt": "Example text",
        }
    ],
    "links": [{"href": "https://example.com/", "text": "Link text"}],
    "event_action": "trigger",
    "client": "Sample Monitoring Service",
    "client_url": "https://monitoring.example.com",
}

# A plant's gas detection system sending Muster incident fields in custom_details.
GAS_LEAK: dict[str, Any] = {
    "routing_key": ROUTING_KEY,
    "event_action": "trigger",
    "dedup_key": "hengan-chem/tank-farm-b/gas",
    "payload": {
        "summary": "B 罐区可燃气体泄漏 Combustible gas leak at tank farm B",
        "source": "gds.hengan-chem.local",
        "severity": "critical",
        "timestamp": "2026-11-29T08:15:00+08:00",
        "component": "tank-B3",
        "group": "tank-farm-b",
        "class": "gas_leak",
        "custom_details": {
            "location": "江苏省南通市某化工园区 B 罐区",
            "unit": "南通恒安化工有限公司",
            "deaths": "1",
            "serious_injuries": 4,
            "direct_loss_cny": 3_500_000,
            "description": "B3 储罐法兰处泄漏，LEL 42%，已启动喷淋。",
            "lel_percent": 42,
        },
    },
}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with the field at dotted ``path`` set to ``value`` (``...`` removes it)."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = changed
    for name in parents:
        target = target[name]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return changed


def test_docs_trigger_reads_summary_source_severity_and_timestamp() -> None:
    """The documented trigger becomes one TRIGGER event titled by its summary, at its timestamp in UTC."""
    [event] = parse_pagerduty(DOCS_TRIGGER)
    assert event.format == "pagerduty"
    assert event.action is EventAction.TRIGGER
    assert event.dedup_key == "srv01/mysql"
    assert event.fields["title"] == "DISK at 99% on machine prod-datapipe03.example.com"
    assert event.fields["occurred_at"] == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert event.fields["reporter"] == "Sample Monitoring Service"
    assert event.fields["labels"] == {
        "source": "prod-datapipe03.example.com",
        "severity": "critical",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
    }
    assert event.drill is False
    assert event.raw_summary == (
        "pagerduty trigger srv01/mysql [critical] prod-datapipe03.example.com: "
        "DISK at 99% on machine prod-datapipe03.example.com"
    )


def test_docs_trigger_lists_custom_details_and_links_in_the_description() -> None:
    """Custom details the source chose are listed line by line, then the links, so responders see them."""
    [event] = parse_pagerduty(DOCS_TRIGGER)
    assert event.fields["description"].splitlines() == [
        "free space: 1%",
        "ping time: 1500ms",
        "load avg: 0.75",
        "Link text: https://example.com/",
    ]


def test_match_holds_the_flat_payload_fields_for_mapping_rules() -> None:
    """Mapping rules can test severity, source, component, group, class and scalar custom details."""
    [event] = parse_pagerduty(DOCS_TRIGGER)
    assert event.match == {
        "event_action": "trigger",
        "severity": "critical",
        "source": "prod-datapipe03.example.com",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "custom_details.free space": "1%",
        "custom_details.ping time": "1500ms",
        "custom_details.load avg": "0.75",
    }


def test_custom_details_carry_muster_incident_fields() -> None:
    """location, unit, counts and description in custom_details become incident fields; counts may be digit strings."""
    [event] = parse_pagerduty(GAS_LEAK)
    fields = event.fields
    assert fields["location"] == "江苏省南通市某化工园区 B 罐区"
    assert fields["unit"] == "南通恒安化工有限公司"
    assert (fields["deaths"], fields["serious_injuries"], fields["direct_loss_cny"]) == (1, 4, 3_500_000)
    assert fields["description"] == "B3 储罐法兰处泄漏，LEL 42%，已启动喷淋。"
    assert fields["occurred_at"] == datetime(2026, 11, 29, 0, 15, tzinfo=UTC)
    assert "missing" not in fields and "injuries" not in fields
    assert event.match["class"] == "gas_leak"
    Incident.model_validate({"type": "hazardous_chemical_leak", **fields})


def test_numeric_fields_appear_only_when_the_payload_states_them() -> None:
    """A trigger without casualty figures leaves them out, so an update never overwrites counts with zero."""
    [event] = parse_pagerduty(DOCS_TRIGGER)
    assert not {"deaths", "missing", "serious_injuries", "injuries", "direct_loss_cny"} & set(event.fields)


@pytest.mark.parametrize("flag", ["true", True, "TRUE"])
def test_drill_in_custom_details_marks_the_event_as_a_drill(flag: object) -> None:
    """custom_details.drill = "true" (or JSON true) makes the event a drill."""
    [event] = parse_pagerduty(_with(GAS_LEAK, "payload.custom_details.drill", flag))
    assert event.drill is True
    assert "drill" not in event.fields.get("description", "")


def test_trigger_without_dedup_key_gets_a_generated_key() -> None:
    """Like PagerDuty, a trigger without dedup_key gets a new key the caller returns to the sender."""
    body = _with(DOCS_TRIGGER, "dedup_key", ...)
    [first] = parse_pagerduty(body)
    [second] = parse_pagerduty(body)
    assert first.dedup_key is not None and re.fullmatch(r"[0-9a-f]{32}", first.dedup_key)
    assert first.dedup_key != second.dedup_key


@pytest.mark.parametrize(
    ("name", "action"), [("acknowledge", EventAction.ACKNOWLEDGE), ("resolve", EventAction.RESOLVE)]
)
def test_acknowledge_and_resolve_need_only_the_dedup_key(name: str, action: EventAction) -> None:
    """An acknowledge or resolve names its alert by dedup_key and carries no payload or incident fields."""
    [event] = parse_pagerduty({"routing_key": ROUTING_KEY, "event_action": name, "dedup_key": "srv01/mysql"})
    assert (event.action, event.dedup_key, event.fields) == (action, "srv01/mysql", {})
    assert event.raw_summary == f"pagerduty {name} srv01/mysql"


@pytest.mark.parametrize("name", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_without_dedup_key_are_refused(name: str) -> None:
    """Without dedup_key nothing says which alert to acknowledge or resolve."""
    with pytest.raises(IntakeError) as caught:
        parse_pagerduty({"routing_key": ROUTING_KEY, "event_action": name})
    assert caught.value.problems == (("dedup_key", f"is required to {name} an alert: it names the alert to {name}"),)


def test_a_long_summary_is_cut_for_the_title_and_kept_whole_in_the_description() -> None:
    """PagerDuty allows 1024 characters of summary, an incident title 300: the title is cut, nothing is lost."""
    summary = "储罐区可燃气体报警 " * 100
    [event] = parse_pagerduty(_with(DOCS_TRIGGER, "payload.summary", summary[:1024]))
    assert len(event.fields["title"]) == 300 and event.fields["title"].endswith("…")
    assert event.fields["description"].startswith(summary[:1024])


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("routing_key", ..., ("routing_key", "is required")),
        ("routing_key", "samplekeyhere", ("routing_key", "must be 32 characters (an integration key), got 13")),
        ("routing_key", 12345, ("routing_key", "must be a string, got a number")),
        ("event_action", "escalate", ("event_action", "must be one of trigger, acknowledge, resolve, got 'escalate'")),
        ("event_action", ..., ("event_action", "is required")),
        ("dedup_key", "k" * 256, ("dedup_key", "must be at most 255 characters, got 256")),
        ("dedup_key", "", ("dedup_key", "must not be empty")),
        ("payload", ..., ("payload", "is required")),
        ("payload", "DISK at 99%", ("payload", "must be an object, got a string")),
        ("payload.summary", ..., ("payload.summary", "is required")),
        ("payload.summary", "x" * 1025, ("payload.summary", "must be at most 1024 characters, got 1025")),
        ("payload.summary", 99, ("payload.summary", "must be a string, got a number")),
        ("payload.source", ..., ("payload.source", "is required")),
        ("payload.source", " ", ("payload.source", "must not be empty")),
        (
            "payload.severity",
            "fatal",
            ("payload.severity", "must be one of critical, error, warning, info, got 'fatal'"),
        ),
        ("payload.severity", None, ("payload.severity", "is required")),
        (
            "payload.timestamp",
            "yesterday",
            ("payload.timestamp", "must be an ISO 8601 time such as 2026-11-29T08:15:00+08:00, got 'yesterday'"),
        ),
        (
            "payload.timestamp",
            "2015-07-17T08:42:58",
            ("payload.timestamp", "needs a time zone, e.g. 2026-11-29T08:15:00+08:00, got '2015-07-17T08:42:58'"),
        ),
        ("payload.component", ["mysql"], ("payload.component", "must be a string, got an array")),
        ("payload.custom_details", ["free space"], ("payload.custom_details", "must be an object, got an array")),
        ("links", {"href": "x"}, ("links", "must be an array, got an object")),
        ("links", [{"text": "Link text"}], ("links[0].href", "is required")),
        ("images", ["https://example.com/a.png"], ("images[0]", "must be an object, got a string")),
        ("client", False, ("client", "must be a string, got a boolean")),
    ],
)
def test_a_wrong_field_is_reported_at_its_path(path: str, value: Any, problem: tuple[str, str]) -> None:
    """Each wrong or missing field is an IntakeError naming its exact path and what is allowed."""
    with pytest.raises(IntakeError) as caught:
        parse_pagerduty(_with(DOCS_TRIGGER, path, value))
    assert caught.value.problems == (problem,)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("deaths", "three", "must be a whole number ≥ 0, got a string 'three'"),
        ("deaths", -1, "must be a whole number ≥ 0, got a number '-1'"),
        ("serious_injuries", 2.5, "must be a whole number ≥ 0, got a number '2.5'"),
        ("missing", True, "must be a whole number ≥ 0, got a boolean 'True'"),
        ("location", {"lat": 32.0}, "must be a string, got an object"),
    ],
)
def test_a_wrong_incident_field_in_custom_details_is_refused(name: str, value: Any, message: str) -> None:
    """A casualty count or place that cannot be read is refused rather than silently graded as zero."""
    with pytest.raises(IntakeError) as caught:
        parse_pagerduty(_with(GAS_LEAK, f"payload.custom_details.{name}", value))
    assert caught.value.problems == ((f"payload.custom_details.{name}", message),)


def test_a_location_longer_than_an_incident_allows_is_reported_at_its_source_path() -> None:
    """Incident model limits are checked here and reported where the value came from."""
    with pytest.raises(IntakeError) as caught:
        parse_pagerduty(_with(GAS_LEAK, "payload.custom_details.location", "园" * 501))
    assert caught.value.problems == (("payload.custom_details.location", "String should have at most 500 characters"),)


def test_every_problem_is_reported_at_once() -> None:
    """The sender learns of all problems in one answer, not one per attempt."""
    body = {"routing_key": "short", "event_action": "trigger", "payload": {"severity": "bad"}}
    with pytest.raises(IntakeError) as caught:
        parse_pagerduty(body)
    assert [path for path, _ in caught.value.problems] == [
        "routing_key",
        "payload.summary",
        "payload.source",
        "payload.severity",
    ]


@pytest.mark.parametrize("body", [[], "trigger", None, 42])
def test_a_body_that_is_not_an_object_is_refused(body: Any) -> None:
    """Only a JSON object is a PagerDuty event."""
    with pytest.raises(IntakeError, match="the body must be a JSON object"):
        parse_pagerduty(body)


@pytest.mark.parametrize("junk", [None, 0, True, "", [], {}, [None], {"": None}])
@pytest.mark.parametrize(
    "path",
    [
        "routing_key",
        "event_action",
        "dedup_key",
        "payload",
        "payload.summary",
        "payload.severity",
        "payload.timestamp",
        "payload.custom_details",
        "payload.custom_details.deaths",
        "links",
        "images",
    ],
)
def test_any_junk_in_any_field_is_an_intake_error_never_a_crash(path: str, junk: Any) -> None:
    """Whatever a field holds, the parser answers with an event or an IntakeError, never KeyError or TypeError."""
    try:
        parse_pagerduty(_with(GAS_LEAK | {"links": [], "images": []}, path, junk))
    except IntakeError as error:
        assert error.problems
