"""The playbook JSON Schema for editors: valid, and in agreement with the loader on the shipped plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from playbooks import json_schema, library_paths, load_yaml

LIBRARY_FILES = [pytest.param(path, id=path.stem) for path in library_paths()]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The schema as parsed JSON."""
    parsed = json.loads(json_schema())
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Any:
    """A Draft 2020-12 validator of the schema; skipped where jsonschema is not installed."""
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_json_with_its_dialect_and_id(schema: dict[str, Any]) -> None:
    """The schema names JSON Schema 2020-12 and its own id, so editors pick it up."""
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/playbook.json")
    assert schema["type"] == "object"
    assert {"id", "title", "incident_types", "roles", "levels", "steps"} <= set(schema["required"])


def test_schema_keeps_chinese_readable(schema: dict[str, Any]) -> None:
    """The schema text is UTF-8 JSON, not \\u escapes, so Chinese descriptions stay readable."""
    assert "\\u" not in json_schema()


def test_schema_uses_the_yaml_spelling_of_from(schema: dict[str, Any]) -> None:
    """A deadline's `from` appears under its YAML name, not the Python one."""
    deadline = schema["$defs"]["Deadline"]
    objects = [deadline, *deadline.get("anyOf", [])]
    properties = next(o["properties"] for o in objects if "properties" in o)
    assert "from" in properties
    assert "from_" not in properties


def test_schema_is_itself_a_valid_2020_12_schema(validator: Any) -> None:
    """jsonschema accepts the schema as a Draft 2020-12 schema."""
    assert validator is not None


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p.values[0], id=p.id)
        for p in LIBRARY_FILES
    ],
)
def test_every_library_playbook_validates_against_the_schema(validator: Any, path: Path) -> None:
    """Each shipped plan's data is valid by the schema, as it is by the loader."""
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(load_yaml(path).data)]
    assert errors == []


@pytest.mark.parametrize(
    ("change", "path_words"),
    [
        ({"colour": "red"}, "'colour' was unexpected"),
        ({"id": "Bad Id"}, "'Bad Id' does not match"),
        ({"steps": []}, "should be non-empty"),
    ],
    ids=["unknown-field", "bad-id", "no-steps"],
)
def test_schema_rejects_what_the_loader_rejects(validator: Any, change: dict[str, Any], path_words: str) -> None:
    """Unknown fields, bad ids and an empty step list are invalid in the schema too."""
    data = load_yaml(library_paths()[0]).data
    data.update(change)
    messages = [e.message for e in validator.iter_errors(data)]
    assert messages
    assert any(path_words in m for m in messages), messages
