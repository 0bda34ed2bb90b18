"""Accident grades of State Council Decree No. 493 (2007), art. 3, and the Grade type."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from incidents import GRADE_THRESHOLDS, Grade, Incident, grade_incident

ORDINARY = Grade.ORDINARY
RELATIVELY_SERIOUS = Grade.RELATIVELY_SERIOUS
SERIOUS = Grade.SERIOUS
EXTRAORDINARILY_SERIOUS = Grade.EXTRAORDINARILY_SERIOUS


@pytest.mark.parametrize(
    ("deaths", "expected"),
    [
        (0, ORDINARY),
        (2, ORDINARY),
        (3, RELATIVELY_SERIOUS),
        (9, RELATIVELY_SERIOUS),
        (10, SERIOUS),
        (29, SERIOUS),
        (30, EXTRAORDINARILY_SERIOUS),
        (300, EXTRAORDINARILY_SERIOUS),
    ],
)
def test_grade_by_deaths_includes_each_bound(deaths: int, expected: Grade) -> None:
    """Deaths of 3, 10 and 30 already reach 较大, 重大 and 特别重大; one fewer does not."""
    assert grade_incident(deaths=deaths, serious_injuries=0, direct_loss_cny=0) is expected


@pytest.mark.parametrize(
    ("serious_injuries", "expected"),
    [
        (9, ORDINARY),
        (10, RELATIVELY_SERIOUS),
        (49, RELATIVELY_SERIOUS),
        (50, SERIOUS),
        (99, SERIOUS),
        (100, EXTRAORDINARILY_SERIOUS),
    ],
)
def test_grade_by_serious_injuries_includes_each_bound(serious_injuries: int, expected: Grade) -> None:
    """Serious injuries (incl. acute poisoning) of 10, 50 and 100 reach the next grade; one fewer does not."""
    assert grade_incident(deaths=0, serious_injuries=serious_injuries, direct_loss_cny=0) is expected


@pytest.mark.parametrize(
    ("direct_loss_cny", "expected"),
    [
        (9_999_999, ORDINARY),
        (10_000_000, RELATIVELY_SERIOUS),
        (49_999_999, RELATIVELY_SERIOUS),
        (50_000_000, SERIOUS),
        (99_999_999, SERIOUS),
        (100_000_000, EXTRAORDINARILY_SERIOUS),
    ],
)
def test_grade_by_direct_loss_includes_each_bound(direct_loss_cny: int, expected: Grade) -> None:
    """A direct loss of 10, 50 and 100 million yuan reaches the next grade; one yuan less does not."""
    assert grade_incident(deaths=0, serious_injuries=0, direct_loss_cny=direct_loss_cny) is expected


def test_grade_is_serious_at_10_deaths() -> None:
    """Ten deaths make a 重大 accident, the example the decree's table gives."""
    assert grade_incident(deaths=10, serious_injuries=0, direct_loss_cny=0) is SERIOUS


def test_thresholds_table_matches_decree_493() -> None:
    """The thresholds table is the decree's table, highest grade first."""
    assert GRADE_THRESHOLDS == (
        (EXTRAORDINARILY_SERIOUS, 30, 100, 100_000_000),
        (SERIOUS, 10, 50, 50_000_000),
        (RELATIVELY_SERIOUS, 3, 10, 10_000_000),
    )


@pytest.mark.parametrize(
    ("deaths", "serious_injuries", "direct_loss_cny", "expected"),
    [
        (0, 0, 100_000_000, EXTRAORDINARILY_SERIOUS),
        (0, 100, 0, EXTRAORDINARILY_SERIOUS),
        (1, 50, 0, SERIOUS),
        (2, 9, 50_000_000, SERIOUS),
        (3, 60, 0, SERIOUS),
        (9, 0, 100_000_000, EXTRAORDINARILY_SERIOUS),
        (2, 9, 9_999_999, ORDINARY),
    ],
)
def test_any_one_criterion_reaches_the_grade(
    deaths: int, serious_injuries: int, direct_loss_cny: int, expected: Grade
) -> None:
    """The grade is the highest one that any single criterion reaches, not all of them."""
    assert grade_incident(deaths=deaths, serious_injuries=serious_injuries, direct_loss_cny=direct_loss_cny) is expected


@pytest.mark.parametrize(
    "arguments",
    [
        {"deaths": -1, "serious_injuries": 0, "direct_loss_cny": 0},
        {"deaths": 0, "serious_injuries": -1, "direct_loss_cny": 0},
        {"deaths": 0, "serious_injuries": 0, "direct_loss_cny": -1},
    ],
)
def test_negative_numbers_are_rejected_by_grading(arguments: dict[str, int]) -> None:
    """A negative death toll, injury count or loss is an error, not an ordinary accident."""
    with pytest.raises(ValueError, match="cannot be negative"):
        grade_incident(**arguments)


@pytest.mark.parametrize("field", ["deaths", "missing", "serious_injuries", "injuries", "direct_loss_cny"])
def test_negative_numbers_are_rejected_by_the_incident(field: str) -> None:
    """An incident with a negative count or loss does not validate."""
    with pytest.raises(ValidationError, match=field):
        Incident(type="test", title="t", **{field: -1})


def test_incident_grade_and_casualties_come_from_its_numbers() -> None:
    """An incident's grade follows the decree and casualties add dead, missing and injured."""
    incident = Incident(type="test", title="t", deaths=2, missing=5, serious_injuries=10, injuries=4)
    assert incident.grade is RELATIVELY_SERIOUS
    facts = incident.facts()
    assert facts["grade"] is RELATIVELY_SERIOUS
    assert facts["casualties"] == 21


def test_missing_people_do_not_raise_the_grade() -> None:
    """Missing people are reported (art. 12) but art. 3 grades only on deaths, injuries and loss."""
    assert Incident(type="test", title="t", deaths=2, missing=40).grade is ORDINARY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一般", ORDINARY),
        ("较大", RELATIVELY_SERIOUS),
        ("重大", SERIOUS),
        ("特别重大", EXTRAORDINARILY_SERIOUS),
        ("较大事故", RELATIVELY_SERIOUS),
        ("特别重大事故", EXTRAORDINARILY_SERIOUS),
        (" 重大 ", SERIOUS),
        ("relatively_serious", RELATIVELY_SERIOUS),
        ("relatively serious", RELATIVELY_SERIOUS),
        ("extraordinarily serious", EXTRAORDINARILY_SERIOUS),
    ],
)
def test_grade_parse_reads_chinese_and_english_names(text: str, expected: Grade) -> None:
    """Grade.parse reads the decree's Chinese names (with or without 事故) and the English ones."""
    assert Grade.parse(text) is expected


@pytest.mark.parametrize("text", ["", "巨大", "major", "特大", "level I"])
def test_grade_parse_rejects_unknown_names_listing_the_known_ones(text: str) -> None:
    """An unknown grade name is an error that lists every valid name."""
    with pytest.raises(ValueError, match="unknown grade") as caught:
        Grade.parse(text)
    for grade in Grade:
        assert grade.zh in str(caught.value)


def test_grade_names_in_both_languages() -> None:
    """Each grade carries the decree's Chinese name and an English label."""
    assert [g.zh for g in Grade] == ["一般", "较大", "重大", "特别重大"]
    assert SERIOUS.label("zh") == "重大"
    assert SERIOUS.label("en") == "serious"
    assert EXTRAORDINARILY_SERIOUS.label("en") == "extraordinarily serious"


def test_grades_order_by_severity_not_alphabetically() -> None:
    """Grades sort from 一般 to 特别重大 although 'extraordinarily' sorts first as text."""
    assert sorted([EXTRAORDINARILY_SERIOUS, ORDINARY, SERIOUS, RELATIVELY_SERIOUS]) == list(Grade)
    assert ORDINARY < EXTRAORDINARILY_SERIOUS
    assert max(SERIOUS, RELATIVELY_SERIOUS) is SERIOUS
    assert [g.rank for g in Grade] == [1, 2, 3, 4]


def test_grade_compares_with_a_grade_name() -> None:
    """A grade compares by severity against a Chinese or English grade name."""
    assert SERIOUS > "较大"
    assert SERIOUS >= "重大"
    assert SERIOUS <= "重大"
    assert RELATIVELY_SERIOUS < "特别重大"
    assert not ORDINARY >= "较大"
    assert SERIOUS > "relatively_serious"


def test_grade_comparison_with_an_unknown_name_is_an_error() -> None:
    """Comparing a grade with a name that is no grade raises instead of guessing."""
    with pytest.raises(ValueError, match="unknown grade"):
        _ = SERIOUS > "huge"


def test_grade_comparison_with_a_number_is_a_type_error() -> None:
    """Grades do not compare with numbers: rank is explicit."""
    with pytest.raises(TypeError):
        _ = SERIOUS > 2  # type: ignore[operator]
