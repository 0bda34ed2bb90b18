"""From a playbook and an incident to the run plan: the response level and which steps run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from playbooks.conditions import parse_condition
from playbooks.model import Level, Playbook, Step, localize

__all__ = ["PlannedStep", "json_schema", "plan_steps", "response_level"]


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A step of the run plan, with the reason it is skipped if it is."""

    step: Step
    skip_reason: str | None = None


def response_level(playbook: Playbook, facts: Mapping[str, Any]) -> Level:
    """The highest level whose condition holds; the lowest level applies otherwise."""
    chosen = playbook.levels[0]
    for level in playbook.levels[1:]:
        if level.when is not None and parse_condition(level.when).evaluate(facts):
            chosen = level
    return chosen


def plan_steps(playbook: Playbook, facts: Mapping[str, Any], level: Level, language: str = "en") -> list[PlannedStep]:
    """Every step in plan order, each marked with why it is skipped (level below, or `when` false)."""
    rank = playbook.level_rank(level.id)
    planned = []
    for step in playbook.steps:
        reason = None
        if step.min_level is not None and playbook.level_rank(step.min_level) > rank:
            needed = localize(playbook.levels[playbook.level_rank(step.min_level)].name, language)
            below = "低于" if language == "zh" else "is below"
            reason = f"{localize(level.name, language)} {below} {needed}"
        elif step.when is not None and not parse_condition(step.when).evaluate(facts):
            reason = f"{'条件不成立' if language == 'zh' else 'condition is false'}: {step.when}"
        planned.append(PlannedStep(step, reason))
    return planned


def json_schema() -> str:
    """The JSON Schema of a playbook, for editors."""
    schema = Playbook.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://muster.dev/schemas/playbook.json"
    return json.dumps(schema, ensure_ascii=False, indent=2)
