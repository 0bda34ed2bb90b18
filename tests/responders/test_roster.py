"""The roster: who holds a role, in what order, under which name, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from responders import Person, Roster


def person(person_id: str, *roles: str, **fields: Any) -> dict[str, Any]:
    """A roster entry as it would be written in roster.yaml."""
    return {"id": person_id, "name": fields.pop("name", person_id), "roles": list(roles), **fields}


def test_holders_are_listed_in_roster_order() -> None:
    """Everyone holding a role comes back in the order the roster lists them, others left out."""
    roster = Roster.model_validate(
        {
            "people": [
                person("c-third", "medical_team"),
                person("a-first", "rescue_team"),
                person("b-second", "medical_team", "rescue_team"),
            ]
        }
    )
    assert [p.id for p in roster.holders("medical_team")] == ["c-third", "b-second"]
    assert [p.id for p in roster.holders("rescue_team")] == ["a-first", "b-second"]


def test_holders_of_a_role_no_one_holds_is_empty() -> None:
    """A role nobody holds gives an empty list, not an error."""
    roster = Roster.model_validate({"people": [person("a", "rescue_team")]})
    assert roster.holders("national_office") == []


def test_roles_are_every_role_someone_holds() -> None:
    """``roles()`` is the set of all roles held by anyone in the roster."""
    roster = Roster.model_validate({"people": [person("a", "x", "y"), person("b", "y", "z"), person("c")]})
    assert roster.roles() == {"x", "y", "z"}


def test_duplicate_person_ids_are_rejected() -> None:
    """Two people with the same id make the roster invalid, and the message names the id."""
    with pytest.raises(ValidationError, match="person id 'wang-fang' appears twice"):
        Roster.model_validate({"people": [person("wang-fang", "a"), person("zhao-lei"), person("wang-fang", "b")]})


def test_person_is_found_by_id_and_an_unknown_id_raises_key_error() -> None:
    """``person(id)`` returns that person, and an id not in the roster raises KeyError."""
    roster = Roster.model_validate({"people": [person("a"), person("b")]})
    assert roster.person("b").id == "b"
    with pytest.raises(KeyError):
        roster.person("nobody")


def test_display_name_is_the_english_name_in_english() -> None:
    """In English a person is shown by ``name_en``, in Chinese by ``name``."""
    wang = Person(id="wang-fang", name="王芳", name_en="Wang Fang")
    assert wang.display_name("en") == "Wang Fang"
    assert wang.display_name("zh") == "王芳"


def test_display_name_falls_back_to_the_name_without_name_en() -> None:
    """Someone with no ``name_en`` is shown by ``name`` in every language."""
    alex = Person(id="alex-morgan", name="Alex Morgan", language="en")
    office = Person(id="county-duty", name="县应急管理局值班室")
    assert alex.display_name("en") == alex.display_name("zh") == "Alex Morgan"
    assert office.display_name("en") == "县应急管理局值班室"


@pytest.mark.parametrize(
    ("model", "data"),
    [
        pytest.param(Roster, {"people": [], "groups": []}, id="roster"),
        pytest.param(Person, {"id": "a", "name": "A", "email": "a@example.org"}, id="person"),
        pytest.param(
            Roster,
            {"people": [{"id": "a", "name": "A", "contacts": [{"channel": "c", "address": "x", "priority": 1}]}]},
            id="contact",
        ),
    ],
)
def test_unknown_fields_are_rejected(model: type[Roster | Person], data: dict[str, Any]) -> None:
    """A field the roster does not know (a typo, a field of another tool) is an error, not ignored."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    assert [e["type"] for e in info.value.errors()] == ["extra_forbidden"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"id": "Wang Fang", "name": "王芳"}, id="id-with-space-and-capitals"),
        pytest.param({"id": "a", "name": "A", "language": "fr"}, id="language-not-zh-or-en"),
        pytest.param({"id": "a", "name": ""}, id="empty-name"),
    ],
)
def test_malformed_person_is_rejected(data: dict[str, Any]) -> None:
    """A person id outside ``[a-z0-9._-]``, a language other than zh/en, or an empty name is refused."""
    with pytest.raises(ValidationError):
        Person.model_validate(data)
