"""The `when` language: safe to parse, and right about incident facts and grades."""

from __future__ import annotations

from typing import Any

import pytest

from incidents import Grade, Incident
from muster.errors import ConditionError
from playbooks import FACT_NAMES, Condition, parse_condition


def facts(**changes: Any) -> dict[str, Any]:
    """The facts of an incident with the given numbers."""
    return Incident(type="hazchem_leak", title="t", location="二号罐区", **changes).facts()


def holds(text: str, **changes: Any) -> bool:
    """Whether the condition holds for an incident with the given numbers."""
    return parse_condition(text).evaluate(facts(**changes))


def test_fact_names_are_the_incident_fields_plus_grade_and_casualties() -> None:
    """Conditions may name every incident field, the grade, and the casualty total."""
    assert set(Incident.model_fields) <= FACT_NAMES
    assert {"grade", "casualties"} <= FACT_NAMES


def test_parse_returns_a_condition_keeping_its_text() -> None:
    """A parsed condition keeps its source text for messages and logs."""
    condition = parse_condition("  deaths >= 3  ")
    assert isinstance(condition, Condition)
    assert condition.text == "  deaths >= 3  "


@pytest.mark.parametrize(
    ("text", "changes", "expected"),
    [
        ("deaths >= 3", {"deaths": 3}, True),
        ("deaths >= 3", {"deaths": 2}, False),
        ("deaths + missing >= 3", {"deaths": 1, "missing": 2}, True),
        ("deaths - missing < 0", {"deaths": 1, "missing": 2}, True),
        ("casualties >= 4", {"deaths": 1, "missing": 1, "serious_injuries": 1, "injuries": 1}, True),
        ("deaths == 0 and missing == 0", {}, True),
        ("deaths >= 1 or missing >= 1", {"missing": 1}, True),
        ("not (deaths >= 1)", {}, True),
        ("1 <= deaths < 3", {"deaths": 2}, True),
        ("1 <= deaths < 3", {"deaths": 3}, False),
        ("direct_loss_cny >= 1000000", {"direct_loss_cny": 1_000_000}, True),
        ("type == 'hazchem_leak'", {}, True),
        ("type != 'hazchem_fire'", {}, True),
        ("type in ['hazchem_leak', 'hazchem_fire']", {}, True),
        ("type not in ('mine_flooding',)", {}, True),
        ("'罐区' in location", {}, True),
        ("drill == false", {}, True),
        ("drill == true", {"drill": True}, True),
        ("dedup_key == null", {}, True),
        ("-deaths < 0", {"deaths": 1}, True),
        ("missing >= 1 and type in ['mine_flooding'] or deaths >= 3", {"deaths": 3}, True),
    ],
)
def test_conditions_evaluate_against_incident_facts(text: str, changes: dict[str, Any], expected: bool) -> None:
    """Comparisons, and/or/not, in, + and - and literals evaluate as written."""
    assert holds(text, **changes) is expected


@pytest.mark.parametrize(
    ("text", "deaths", "expected"),
    [
        ("grade >= '较大'", 2, False),
        ("grade >= '较大'", 3, True),
        ("grade >= '重大'", 9, False),
        ("grade >= '重大'", 10, True),
        ("grade > '重大'", 29, False),
        ("grade > '重大'", 30, True),
        ("grade < 'relatively_serious'", 0, True),
        ("grade >= 'serious'", 10, True),
        ("'较大' <= grade", 3, True),
        ("'较大' <= grade < '重大'", 5, True),
        ("'较大' <= grade < '重大'", 10, False),
        ("grade in ['较大', '重大']", 10, True),
        ("grade in ['较大事故', '重大事故']", 1, False),
        ("grade not in ['一般']", 3, True),
    ],
)
def test_grade_compares_by_severity_with_grade_names(text: str, deaths: int, expected: bool) -> None:
    """`grade` compares by severity with Chinese or English grade names, not alphabetically."""
    assert holds(text, deaths=deaths) is expected


@pytest.mark.parametrize(
    ("text", "deaths", "expected"),
    [
        pytest.param("grade == '较大'", 3, True),
        ("grade == '较大'", 2, False),
        pytest.param("grade != '较大'", 3, False),
        pytest.param("grade == 'relatively serious'", 3, True),
        pytest.param("'重大' == grade", 10, True),
    ],
)
def test_grade_equality_with_a_grade_name(text: str, deaths: int, expected: bool) -> None:
    """`grade == '较大'` holds exactly for a 较大 accident, as `grade in ['较大']` does."""
    assert holds(text, deaths=deaths) is expected


def test_grade_equality_with_the_enum_value_holds() -> None:
    """`grade == 'relatively_serious'` (the stored value) holds for a 较大 accident."""
    assert holds("grade == 'relatively_serious'", deaths=3)


def test_grade_fact_is_a_grade() -> None:
    """The `grade` fact is the Grade enum, so comparisons go through its severity order."""
    assert facts(deaths=30)["grade"] is Grade.EXTRAORDINARILY_SERIOUS


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("__import__('os').system('id')", "Call is not allowed"),
        ("().__class__", "Attribute is not allowed"),
        ("().__class__.__base__.__subclasses__()", "not allowed"),
        ("deaths.real", "Attribute is not allowed"),
        ("labels['team']", "Subscript is not allowed"),
        ("[d for d in [1]]", "ListComp is not allowed"),
        ("{'a': 1}", "Dict is not allowed"),
        ("{1, 2}", "Set is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("f'{deaths}'", "JoinedStr is not allowed"),
        ("deaths * 2 > 1", "BinOp is not allowed"),
        ("deaths ** 2 > 1", "BinOp is not allowed"),
        ("deaths // 2 > 1", "BinOp is not allowed"),
        ("~deaths", "UnaryOp is not allowed"),
        ("deaths is None", "only == != < <= > >= in and 'not in' compare"),
        ("deaths if true else 0", "IfExp is not allowed"),
        ("b'x' == type", "literal b'x' is not allowed"),
        ("... == type", "literal Ellipsis is not allowed"),
        ("open == 1", "unknown name 'open'"),
        ("os == 1", "unknown name 'os'"),
        ("deaths >=", "is not valid"),
        ("deaths = 3", "is not valid"),
        ("", "is not valid"),
        ("grade >= '巨大'", "unknown grade '巨大'"),
        ("grade in ['较大', 'huge']", "unknown grade 'huge'"),
    ],
)
def test_anything_outside_the_language_is_rejected_when_parsed(text: str, words: str) -> None:
    """Calls, attributes, subscripts, comprehensions, other operators and unknown names never get to run."""
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    assert words in str(caught.value)


def test_unknown_name_error_lists_the_known_names() -> None:
    """The error for an unknown name lists the names a condition may use."""
    with pytest.raises(ConditionError, match=r"known names: .*casualties.*deaths"):
        parse_condition("dead >= 1")


def test_evaluation_type_errors_become_condition_errors() -> None:
    """Comparing a number with text fails as a ConditionError that quotes the condition."""
    with pytest.raises(ConditionError, match="cannot be evaluated") as caught:
        holds("deaths > 'many'")
    assert "deaths > 'many'" in str(caught.value)


def test_missing_fact_becomes_a_condition_error() -> None:
    """Evaluating against facts without a needed name is a ConditionError, not a KeyError."""
    with pytest.raises(ConditionError, match="cannot be evaluated"):
        parse_condition("missing >= 1").evaluate({"deaths": 1})


def test_evaluate_returns_a_bool() -> None:
    """A condition's value is a bool even when the expression yields a number."""
    assert parse_condition("deaths + missing").evaluate(facts(deaths=2)) is True
    assert parse_condition("deaths").evaluate(facts()) is False
