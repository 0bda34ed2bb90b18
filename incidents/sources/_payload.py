"""Reading a JSON intake body field by field, collecting every problem with its field path."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from muster.errors import IntakeError

__all__ = ["COUNT_FIELDS", "TEXT_FIELDS", "PayloadReader", "join_path", "json_type"]

# Incident fields a monitoring payload may state (PagerDuty custom_details, Alertmanager annotations).
COUNT_FIELDS = ("deaths", "missing", "serious_injuries", "injuries", "direct_loss_cny")
TEXT_FIELDS = ("location", "unit", "description")
_WHOLE_NUMBER = re.compile(r"\d{1,18}")


def join_path(parent: str, key: str | int) -> str:
    """The field path of ``key`` inside ``parent``: ``payload.severity``, ``alerts[1]``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class PayloadReader:
    """Reads values out of a decoded JSON body and remembers each problem as (field path, message).

    Every read returns a usable value (``None`` or empty when absent or wrong) so a
    parser can read on and report every problem at once with :meth:`check`.
    """

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append((path, message))

    def check(self) -> None:
        """Raise an IntakeError listing every problem recorded so far, if there is one."""
        if self.problems:
            raise IntakeError(self.problems)

    def body(self, value: object) -> Mapping[str, Any]:
        """The body itself, which must be a JSON object; raises at once when it is not."""
        if not isinstance(value, Mapping):
            raise IntakeError([("", f"the body must be a JSON object, got {json_type(value)}")])
        return value

    def text(
        self,
        parent: Mapping[str, Any],
        key: str,
        where: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        choices: Collection[str] = (),
    ) -> str | None:
        """A string field; ``required`` ones must be present and not blank."""
        path = join_path(where, key)
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {json_type(value)}")
            return None
        if required and not value.strip():
            self.fail(path, "must not be empty")
            return None
        if choices and value not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}, got {value[:40]!r}")
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(path, f"must be at most {max_length} characters, got {len(value)}")
            return None
        return value

    def mapping(self, parent: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> Mapping[str, Any]:
        """An object field; empty when absent (or wrong, after recording the problem)."""
        path = join_path(where, key)
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "is required")
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"must be an object, got {json_type(value)}")
            return {}
        return value

    def string_map(self, parent: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
        """An object whose values are all strings, such as Alertmanager labels."""
        path = join_path(where, key)
        found: dict[str, str] = {}
        for name, value in self.mapping(parent, key, where).items():
            if isinstance(value, str):
                found[str(name)] = value
            else:
                self.fail(join_path(path, str(name)), f"must be a string, got {json_type(value)}")
        return found

    def objects(
        self, parent: Mapping[str, Any], key: str, where: str, *, required: bool = False
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """An array of objects, each with its own path; a non-empty array when ``required``."""
        path = join_path(where, key)
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "is required")
            return []
        if not isinstance(value, list):
            self.fail(path, f"must be an array, got {json_type(value)}")
            return []
        if required and not value:
            self.fail(path, "must not be empty")
        found = []
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                found.append((join_path(path, index), item))
            else:
                self.fail(join_path(path, index), f"must be an object, got {json_type(item)}")
        return found

    def time(self, parent: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> datetime | None:
        """An ISO 8601 timestamp with a time zone (``Z``, ``+08:00`` or ``+0000``), in UTC."""
        text = self.text(parent, key, where, required=required)
        if text is None:
            return None
        path = join_path(where, key)
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            self.fail(path, f"must be an ISO 8601 time such as 2026-11-29T08:15:00+08:00, got {text[:40]!r}")
            return None
        if moment.tzinfo is None:
            self.fail(path, f"needs a time zone, e.g. 2026-11-29T08:15:00+08:00, got {text[:40]!r}")
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            self.fail(path, f"is out of range in UTC, got {text[:40]!r}")
            return None

    def count(self, value: object, path: str) -> int | None:
        """A whole number ≥ 0, given as a JSON number or as a string of digits (annotations are strings)."""
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, float) and value.is_integer() and value >= 0:
            return int(value)
        if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
            return int(value.strip())
        self.fail(path, f"must be a whole number ≥ 0, got {json_type(value)} {str(value)[:40]!r}")
        return None

    def incident_details(self, details: Mapping[str, Any], where: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The Incident fields a monitoring payload states in ``details``, and the path of each.

        Text fields (location, unit, description) must be strings; counts
        (deaths, missing, serious_injuries, injuries, direct_loss_cny) whole numbers.
        Other keys are the source's own and are left alone.
        """
        values: dict[str, Any] = {}
        paths: dict[str, str] = {}
        for name in TEXT_FIELDS:
            text = self.text(details, name, where)
            if text is not None:
                values[name], paths[name] = text, join_path(where, name)
        for name in COUNT_FIELDS:
            if details.get(name) is not None:
                number = self.count(details[name], join_path(where, name))
                if number is not None:
                    values[name], paths[name] = number, join_path(where, name)
        return values, paths

    def flag(self, details: Mapping[str, Any], key: str) -> bool:
        """Whether ``details[key]`` says yes: ``true`` as a JSON boolean or as a string."""
        value = details.get(key)
        return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"))
