"""Building an incident from a file and ``--set field=value`` pairs, with located errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from incidents import Incident
from muster.errors import ConfigError, IncidentError, Problem
from playbooks import load_yaml, validate_model

__all__ = ["build_incident"]


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise IncidentError(f"--set {pair!r}: write it as field=value, e.g. --set deaths=4")
        name = name.strip()
        if name.startswith("labels."):
            values.setdefault("labels", {})[name.removeprefix("labels.")] = value
        elif name not in Incident.model_fields:
            known = ", ".join(sorted(Incident.model_fields))
            raise IncidentError(f"--set {pair!r}: unknown incident field {name!r}; fields are {known}")
        else:
            values[name] = value
    return values


def build_incident(*, file: Path | None, sets: list[str], default_type: str | None) -> Incident:
    """An incident from an optional JSON/YAML file, overridden by ``--set`` pairs."""
    data: dict[str, Any] = {}
    if file is not None:
        source = load_yaml(file)  # YAML is a superset of JSON: one reader, file:line errors for both
        if not isinstance(source.data, dict):
            raise ConfigError([Problem(str(file), 1, 1, "an incident file holds one mapping of fields")])
        overrides = _parse_sets(sets)
        source.data.update(overrides)
        if default_type and "type" not in source.data:
            source.data["type"] = default_type
        incident, problems = validate_model(Incident, source)
        if problems or incident is None:
            raise ConfigError(problems)
        return incident
    data = _parse_sets(sets)
    if default_type:
        data.setdefault("type", default_type)
    try:
        return Incident.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            field = ".".join(str(p) for p in error["loc"])
            hint = f" (add --set {field}=...)" if error["type"] == "missing" else ""
            lines.append(f"incident field {field}: {error['msg']}{hint}")
        raise IncidentError("\n".join(lines)) from None


def incident_json(incident: Incident) -> str:
    """The incident as JSON, for printing."""
    return json.dumps(incident.model_dump(mode="json"), ensure_ascii=False, indent=2)
