"""Is a config ready for these plans? Every role held by someone reachable, every http target configured."""

from __future__ import annotations

from collections.abc import Iterable

from flows.config import RunConfig
from playbooks import HttpStep, NotifyStep, Playbook, ReportStep, TaskStep

__all__ = ["readiness_problems"]


def readiness_problems(playbooks: Iterable[Playbook], config: RunConfig) -> list[str]:
    """What would leave a step of these plans with nobody to reach or nothing to call."""
    problems = []
    roster = config.roster
    for plan in playbooks:
        for step in plan.steps:
            if isinstance(step, NotifyStep | TaskStep | ReportStep):
                for role in step.to:
                    holders = roster.everyone_for(role)  # on a rotation or covering it counts too
                    if not holders:
                        problems.append(f"{plan.id}: step {step.id}: nobody in roster.yaml holds role {role!r}")
                    elif not any(person.contacts for person in holders):
                        problems.append(f"{plan.id}: step {step.id}: no holder of role {role!r} has a contact point")
            elif isinstance(step, HttpStep) and step.target not in config.http_targets:
                known = ", ".join(sorted(config.http_targets)) or "(none)"
                problems.append(
                    f"{plan.id}: step {step.id}: http target {step.target!r} is not in channels.yaml "
                    f"(http_targets: {known})"
                )
    return problems
