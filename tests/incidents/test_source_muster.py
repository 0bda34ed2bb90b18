"""Muster's own JSON intake body read into an event, checked by the Incident model's own field types."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from incidents import EventAction, Incident, parse_muster
from muster.errors import IntakeError

# What a duty officer's form (or `muster trigger`) posts for a hazardous-chemical leak.
TRIGGER: dict[str, Any] = {
    "playbook": "hazchem_leak",
    "dedup_key": "nantong-hengan-20261129-b3",
    "incident": {
        "type": "hazardous_chemical_leak",
        "title": "南通恒安化工 B 罐区液氨泄漏",
        "location": "江苏省南通市某化工园区 B 罐区",
        "occurred_at": "2026-11-29T08:15:00+08:00",
        "unit": "南通恒安化工有限公司",
        "deaths": 1,
        "serious_injuries": 4,
        "direct_loss_cny": 3_500_000,
        "description": "B3 储罐出料管线法兰泄漏，已启动喷淋并疏散下风向人员。",
        "reporter": "园区值班室 王工",
        "reporter_phone": "+86 513 8000 0000",
        "labels": {"park": "yangkou", "tank": "B3"},
    },
}


def _problems(body: Any) -> tuple[tuple[str, str], ...]:
    with pytest.raises(IntakeError) as caught:
        parse_muster(body)
    return caught.value.problems


def _incident(**changes: Any) -> dict[str, Any]:
    """The trigger body with its incident fields changed (``...`` removes one)."""
    incident = {k: v for k, v in (TRIGGER["incident"] | changes).items() if v is not ...}
    return TRIGGER | {"incident": incident}


def test_a_trigger_carries_the_incident_fields_as_the_model_reads_them() -> None:
    """Fields come back converted by the Incident model: occurred_at in UTC, counts as integers."""
    [event] = parse_muster(TRIGGER)
    assert (event.format, event.action) == ("muster", EventAction.TRIGGER)
    assert event.dedup_key == "nantong-hengan-20261129-b3"
    assert event.playbook == "hazchem_leak"
    assert event.fields["occurred_at"] == datetime(2026, 11, 29, 0, 15, tzinfo=UTC)
    assert event.fields["deaths"] == 1
    assert set(event.fields) == set(TRIGGER["incident"])
    Incident.model_validate(event.fields)


def test_match_holds_action_playbook_type_and_labels() -> None:
    """Rules can test the action, the named playbook and type, and labels.<name>."""
    [event] = parse_muster(TRIGGER)
    assert event.match == {
        "action": "trigger",
        "playbook": "hazchem_leak",
        "type": "hazardous_chemical_leak",
        "labels.park": "yangkou",
        "labels.tank": "B3",
    }


def test_incident_drill_moves_to_the_event() -> None:
    """incident.drill is the event's drill flag, not a field left in `fields`."""
    [event] = parse_muster(_incident(drill=True))
    assert event.drill is True
    assert "drill" not in event.fields


def test_the_dedup_key_may_sit_inside_the_incident() -> None:
    """incident.dedup_key is accepted as the event's key when the body has none of its own."""
    body = {"incident": TRIGGER["incident"] | {"dedup_key": "inner-key"}}
    [event] = parse_muster(body)
    assert event.dedup_key == "inner-key"
    assert "dedup_key" not in event.fields


def test_a_trigger_without_dedup_key_gets_a_generated_one() -> None:
    """A trigger without a key gets a new one, which the service returns so the sender can update it later."""
    [event] = parse_muster({"incident": {"title": "配电室冒烟"}})
    assert event.dedup_key is not None and re.fullmatch(r"[0-9a-f]{32}", event.dedup_key)
    assert event.fields == {"title": "配电室冒烟"}
    assert event.playbook is None


def test_an_update_carries_only_the_fields_that_changed() -> None:
    """An update may leave out the title: only the fields it names are changed."""
    body = {"action": "update", "dedup_key": "nantong-hengan-20261129-b3", "incident": {"deaths": 2, "missing": 1}}
    [event] = parse_muster(body)
    assert (event.action, event.fields) == (EventAction.UPDATE, {"deaths": 2, "missing": 1})


def test_a_resolve_needs_only_the_dedup_key() -> None:
    """A resolve names the incident by key and needs no incident fields."""
    [event] = parse_muster({"action": "resolve", "dedup_key": "nantong-hengan-20261129-b3"})
    assert (event.action, event.dedup_key, event.fields) == (EventAction.RESOLVE, "nantong-hengan-20261129-b3", {})


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"deaths": -1}, ("incident.deaths", "Input should be greater than or equal to 0")),
        (
            {"deaths": "three"},
            ("incident.deaths", "Input should be a valid integer, unable to parse string as an integer"),
        ),
        (
            {"occurred_at": "2026-11-29T08:15:00"},
            ("incident.occurred_at", "needs a time zone, e.g. 2026-11-29T08:15:00+08:00"),
        ),
        ({"title": ""}, ("incident.title", "String should have at least 1 character")),
        ({"title": ...}, ("incident.title", "is required")),
        ({"language": "fr"}, ("incident.language", "String should match pattern '^(zh|en)$'")),
        ({"labels": {"tank": 3}}, ("incident.labels.tank", "Input should be a valid string")),
        ({"id": "INC-1"}, ("incident.id", "is given by Muster; refer to an earlier incident by its dedup_key")),
    ],
)
def test_a_wrong_incident_field_is_reported_at_incident_dot_field(
    changes: dict[str, Any], problem: tuple[str, str]
) -> None:
    """The Incident model's own checks run, and each problem is named incident.<field>."""
    assert _problems(_incident(**changes)) == (problem,)


def test_an_unknown_incident_field_is_refused_with_the_fields_that_exist() -> None:
    """A misspelt field is not silently dropped: the answer lists the incident fields there are."""
    [(path, message)] = _problems(_incident(death=3))
    assert path == "incident.death"
    assert message.startswith("is not an incident field; use one of deaths, dedup_key, description,")
    assert " id," not in message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, ("incident", "is required")),
        ({"incident": []}, ("incident", "must be an object, got an array")),
        (
            {"incident": {"title": "x"}, "action": "close"},
            ("action", "must be one of trigger, update, resolve, got 'close'"),
        ),
        (
            {"action": "update", "incident": {"deaths": 1}},
            ("dedup_key", "is required to update an incident: it names the incident"),
        ),
        ({"action": "resolve"}, ("dedup_key", "is required to resolve an incident: it names the incident")),
        (
            {"incident": {"title": "x"}, "playbook": "Hazchem Leak"},
            ("playbook", "must be a playbook id (lowercase letters, digits, _ and -), got 'Hazchem Leak'"),
        ),
        (
            {"incident": {"title": "x"}, "dedup_key": "k" * 256},
            ("dedup_key", "must be at most 255 characters, got 256"),
        ),
        (
            {"incident": {"title": "x", "dedup_key": "b"}, "dedup_key": "a"},
            ("incident.dedup_key", "differs from dedup_key 'a'; give the key once"),
        ),
        (
            {"incident": {"title": "x"}, "severity": "high"},
            ("severity", "is not a field of a Muster intake body; use action, dedup_key, incident, playbook"),
        ),
    ],
)
def test_a_wrong_body_field_is_reported_at_its_path(body: dict[str, Any], problem: tuple[str, str]) -> None:
    """Each wrong or missing body field is an IntakeError naming its path."""
    assert _problems(body) == (problem,)


def test_body_and_incident_problems_are_reported_together() -> None:
    """Body problems and the Incident model's problems come back in one answer."""
    body = {"action": "close", "incident": {"title": "x", "deaths": -1, "occurred_at": "today"}}
    assert [path for path, _ in _problems(body)] == ["action", "incident.occurred_at", "incident.deaths"]


@pytest.mark.parametrize("body", [[], "incident", None])
def test_a_body_that_is_not_an_object_is_refused(body: Any) -> None:
    """Only a JSON object is a Muster intake body."""
    assert _problems(body)[0][1].startswith("the body must be a JSON object")
