"""Mapping rules: which incident type and playbook an intake event gets."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

import incidents
import incidents.sources
from incidents import (
    EventAction,
    MappingRule,
    SourceEvent,
    choose_playbook,
    parse_alertmanager,
    parse_cap,
    parse_muster,
    parse_pagerduty,
)
from muster.errors import IntakeError

# A county duty office's mapping table, most specific rules first.
RULES = [
    MappingRule(format="cap", match={"status": "Exercise"}, incident_type="drill", playbook="drill_generic"),
    MappingRule(
        format="alertmanager",
        match={"labels.alertname": "~GasLeak|H2SHigh"},
        incident_type="hazardous_chemical_leak",
        playbook="hazchem_leak",
    ),
    MappingRule(
        format="pagerduty",
        match={"class": "gas_leak", "severity": "critical"},
        incident_type="hazardous_chemical_leak",
        playbook="hazchem_leak",
    ),
    MappingRule(
        format="cap", match={"category": "Met", "event": "~大风|Gale"}, incident_type="gale", playbook="gale_warning"
    ),
    MappingRule(format="cap", match={"category": "Geo"}, incident_type="earthquake", playbook="earthquake"),
    MappingRule(format="muster", incident_type="general", playbook="general_incident"),
]


def _event(match: dict[str, str], **overrides: Any) -> SourceEvent:
    values: dict[str, Any] = {
        "format": "pagerduty",
        "action": EventAction.TRIGGER,
        "dedup_key": "k",
        "fields": {},
        "match": match,
    }
    return SourceEvent(**(values | overrides))


def test_the_first_matching_rule_wins() -> None:
    """Rules are tried in order; a later rule that also matches is not used."""
    broad = MappingRule(match={"severity": "critical"}, incident_type="general", playbook="general_incident")
    narrow = MappingRule(match={"class": "gas_leak"}, incident_type="gas_leak", playbook="hazchem_leak")
    event = _event({"severity": "critical", "class": "gas_leak"})
    assert choose_playbook(event, [broad, narrow]) is broad
    assert choose_playbook(event, [narrow, broad]) is narrow


def test_a_rule_with_a_format_matches_only_that_format() -> None:
    """format restricts a rule to one source; a rule without format matches any."""
    rule = MappingRule(format="alertmanager", match={"severity": "critical"}, incident_type="t", playbook="p")
    assert not rule.matches(_event({"severity": "critical"}))
    assert rule.matches(_event({"severity": "critical"}, format="alertmanager"))


def test_every_match_entry_must_be_equal() -> None:
    """All entries must match; one different or missing value fails the rule."""
    rule = MappingRule(match={"severity": "critical", "class": "gas_leak"}, incident_type="t", playbook="p")
    assert rule.matches(_event({"severity": "critical", "class": "gas_leak", "group": "x"}))
    assert not rule.matches(_event({"severity": "critical", "class": "fire"}))
    assert not rule.matches(_event({"severity": "critical"}))


def test_a_tilde_value_is_a_regular_expression_that_must_match_the_whole_value() -> None:
    """The pattern "~GasLeak|H2SHigh" matches either name exactly, and not a name that only contains one."""
    rule = MappingRule(match={"labels.alertname": "~GasLeak|H2SHigh"}, incident_type="t", playbook="p")
    assert rule.matches(_event({"labels.alertname": "H2SHigh"}))
    assert not rule.matches(_event({"labels.alertname": "GasLeakSensorOffline"}))


def test_an_escaped_tilde_matches_a_literal_tilde() -> None:
    """To match a value that starts with ~ itself, write ~\\~ and the rest as a pattern."""
    rule = MappingRule(match={"component": r"~\~home"}, incident_type="t", playbook="p")
    assert rule.matches(_event({"component": "~home"}))


def test_a_rule_with_a_broken_pattern_is_refused_when_loaded() -> None:
    """An invalid regular expression fails when the config loads, not when an incident arrives."""
    with pytest.raises(ValidationError, match=r"labels.alertname: '~\(GasLeak' is not a valid regular expression"):
        MappingRule(match={"labels.alertname": "~(GasLeak"}, incident_type="t", playbook="p")


@pytest.mark.parametrize(
    "values",
    [
        {"incident_type": "t", "playbook": "p", "priority": 1},
        {"incident_type": "", "playbook": "p"},
        {"incident_type": "t", "playbook": "Hazchem Leak"},
        {"incident_type": "t", "playbook": "p", "format": "email"},
    ],
)
def test_a_malformed_rule_is_refused(values: dict[str, Any]) -> None:
    """Unknown keys, an empty type, a bad playbook id or an unknown format are config errors."""
    with pytest.raises(ValidationError):
        MappingRule(**values)


def test_no_matching_rule_is_an_intake_error_naming_the_event_fields() -> None:
    """When nothing matches, the error shows the event's match fields so the operator can write a rule."""
    event = _event({"severity": "warning", "source": "gds-07"})
    with pytest.raises(IntakeError) as caught:
        choose_playbook(event, RULES)
    assert caught.value.problems == (
        (
            "match",
            "no mapping rule matches this pagerduty event (severity='warning', source='gds-07'); "
            "add a rule to the intake mapping that matches it",
        ),
    )


def test_a_muster_event_naming_playbook_and_type_needs_no_rule() -> None:
    """A Muster JSON body that names both its playbook and its type is taken at its word."""
    [event] = parse_muster({"playbook": "hazchem_leak", "incident": {"title": "液氨泄漏", "type": "ammonia_leak"}})
    rule = choose_playbook(event, [])
    assert (rule.playbook, rule.incident_type) == ("hazchem_leak", "ammonia_leak")


def test_a_named_playbook_only_accepts_rules_that_agree_with_it() -> None:
    """A body naming only its playbook gets its type from the first rule for that playbook."""
    [event] = parse_muster({"playbook": "hazchem_leak", "incident": {"title": "液氨泄漏"}})
    rules = [
        *RULES[-1:],
        MappingRule(match={"playbook": "hazchem_leak"}, incident_type="hazchem", playbook="hazchem_leak"),
    ]
    assert choose_playbook(event, rules).incident_type == "hazchem"
    with pytest.raises(IntakeError, match="with playbook 'hazchem_leak'"):
        choose_playbook(event, RULES[-1:])


def test_real_payloads_of_each_format_reach_their_playbooks() -> None:
    """A PagerDuty gas leak, an Alertmanager group, CAP gale, earthquake and exercise alerts each find their plan."""
    pagerduty = parse_pagerduty(
        {
            "routing_key": "e93facc04764012d7bfb002500d5d1a6",
            "event_action": "trigger",
            "payload": {"summary": "Gas leak B3", "source": "gds", "severity": "critical", "class": "gas_leak"},
        }
    )
    alertmanager = parse_alertmanager(
        {
            "version": "4",
            "groupKey": '{}:{alertname="H2SHigh"}',
            "status": "firing",
            "receiver": "muster",
            "commonLabels": {"alertname": "H2SHigh"},
            "alerts": [{"status": "firing", "labels": {"alertname": "H2SHigh"}, "startsAt": "2026-11-29T00:14:37Z"}],
        }
    )
    cap = '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>i1</identifier><sender>s</sender>'
    cap += (
        "<sent>2026-11-29T08:15:00+08:00</sent><status>{status}</status><msgType>Alert</msgType><scope>Public</scope>"
    )
    cap += "<info><category>{category}</category><event>{event}</event><urgency>Expected</urgency>"
    cap += "<severity>Minor</severity><certainty>Likely</certainty></info></alert>"
    gale = parse_cap(cap.format(status="Actual", category="Met", event="大风").encode())
    quake = parse_cap(cap.format(status="Actual", category="Geo", event="地震").encode())
    exercise = parse_cap(cap.format(status="Exercise", category="Geo", event="地震").encode())
    chosen = [choose_playbook(events[0], RULES).playbook for events in (pagerduty, alertmanager, gale, quake, exercise)]
    assert chosen == ["hazchem_leak", "hazchem_leak", "gale_warning", "earthquake", "drill_generic"]


def test_the_sources_surface_is_sorted_and_re_exported_by_incidents() -> None:
    """incidents.sources.__all__ is sorted, and every name is also importable from incidents."""
    names = incidents.sources.__all__
    assert names == sorted(names, key=lambda name: (name[0].islower(), name))
    assert set(names) <= set(incidents.__all__)
    assert all(getattr(incidents, name) is getattr(incidents.sources, name) for name in names)
