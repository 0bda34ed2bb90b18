"""The escalation chain: each level answers to the one above, transitively, and a circle is refused where it closes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from flows import load_config
from muster.errors import ConfigError
from responders import Roster, escalation_chain

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = """\
channels:
  - name: sim
    type: webhook
    url: http://127.0.0.1:8765/webhook/muster
"""


def roster(escalation: dict[str, list[str]], roles: tuple[str, ...] = ("a", "b", "c", "d", "e")) -> Roster:
    """A roster where person p-ROLE holds each role, with this escalation map."""
    people: list[dict[str, Any]] = [{"id": f"p-{role}", "name": role, "roles": [role]} for role in roles]
    return Roster.model_validate({"people": people, "escalation": escalation})


def errors(escalation: dict[str, list[str]]) -> list[tuple[tuple[int | str, ...], str]]:
    """The (location, message) pairs the roster reports for this escalation map."""
    with pytest.raises(ValidationError) as info:
        roster(escalation)
    return [(tuple(e["loc"]), e["msg"]) for e in info.value.errors()]


def test_chain_follows_the_map_upward_nearest_first() -> None:
    """A rescue team's chain is its commander, the unit head, then each government level in turn."""
    demo = load_config(ROOT / "examples" / "demo").roster
    assert demo.escalation_chain("rescue_team") == [
        "site_commander",
        "unit_head",
        "county_office",
        "city_office",
        "province_office",
        "national_office",
    ]
    assert demo.escalation_chain("mine_rescue_team")[:3] == [
        "mine_manager",
        "county_office",
        "mine_safety_inspectorate",
    ]
    assert demo.escalation_chain("duty_officer") == ["duty_leader", "city_office", "province_office", "national_office"]


def test_chain_is_breadth_first_and_names_each_role_once() -> None:
    """Roles one level up come before roles two levels up, and a role reached twice is named once."""
    r = roster({"a": ["b", "c"], "b": ["d"], "c": ["d", "e"]})
    assert r.escalation_chain("a") == ["b", "c", "d", "e"]
    assert r.escalation_chain("c") == ["d", "e"]


def test_top_of_the_chain_and_unmapped_roles_have_no_one_above() -> None:
    """The top role, and a role the map does not mention, escalate to nobody."""
    r = roster({"a": ["b"]})
    assert r.escalation_chain("b") == []
    assert r.escalation_chain("e") == []
    assert escalation_chain({}, "a") == []


def test_two_roles_answering_to_each_other_are_refused_with_the_circle_named() -> None:
    """a → b → a has no top; the roster refuses it at the entry that closes the circle and draws the circle."""
    assert errors({"a": ["b"], "b": ["a"]}) == [
        (("escalation", "b", 0), "escalation goes round in a circle: a → b → a; the top of a chain answers to no one")
    ]


def test_a_longer_circle_and_a_role_above_itself_are_refused() -> None:
    """A circle through three roles, and a role listed above itself, are each reported once."""
    found = errors({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"]})
    assert [message.split(";")[0] for _, message in found] == [
        "escalation goes round in a circle: a → b → c → a",
        "escalation goes round in a circle: d → d",
    ]


def test_two_paths_to_the_same_role_are_not_a_circle() -> None:
    """a answering to b and c, which both answer to d, is a diamond, not a circle."""
    assert roster({"a": ["b", "c"], "b": ["d"], "c": ["d"]}).escalation_chain("a") == ["b", "c", "d"]


def test_a_role_nobody_holds_in_the_chain_is_refused() -> None:
    """A misspelt role in the chain (nobody holds it) is an error at that entry, not a silent dead end."""
    assert errors({"a": ["b", "county_ofice"]}) == [
        (
            ("escalation", "a", 1),
            "nobody holds role 'county_ofice' (no person lists it, and no rotation or override gives it)",
        )
    ]


def test_a_role_listed_twice_above_another_is_refused() -> None:
    """Listing the same role twice above one role is a mistake worth a message."""
    assert errors({"a": ["b", "b"]}) == [(("escalation", "a", 1), "'b' is listed twice above 'a'")]


def test_a_rotation_role_may_sit_in_the_chain() -> None:
    """A role held only through a rotation counts as held, so the chain may climb through it."""
    r = Roster.model_validate(
        {
            "people": [{"id": "chen", "name": "陈静"}, {"id": "county", "name": "县局", "roles": ["county_office"]}],
            "rotations": [
                {
                    "role": "duty_officer",
                    "people": ["chen"],
                    "every": "daily",
                    "handoff": "08:30",
                    "timezone": "Asia/Shanghai",
                    "start": "2026-01-05",
                }
            ],
            "escalation": {"county_office": ["duty_officer"]},
        }
    )
    assert r.escalation_chain("county_office") == ["duty_officer"]


def test_escalation_circle_is_located_in_roster_yaml(tmp_path: Path) -> None:
    """Through load_config, the circle is reported at the line and column of the entry that closes it."""
    text = """\
people:
  - {id: wang-fang, name: 王芳, roles: [site_commander]}
  - {id: li-guoqiang, name: 李国强, roles: [unit_head]}
escalation:
  site_commander: [unit_head]
  unit_head: [site_commander]
"""
    (tmp_path / "roster.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    [problem] = info.value.problems
    closing = text.index("unit_head: [site_commander]") + len("unit_head: [")
    assert (Path(problem.path).name, problem.line, problem.column) == (
        "roster.yaml",
        text.count("\n", 0, closing) + 1,
        closing - text.rfind("\n", 0, closing),
    )
    assert problem.message.startswith(
        "escalation.unit_head.0: escalation goes round in a circle: site_commander → unit_head → site_commander"
    )
