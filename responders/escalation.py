"""The escalation chain: each level answers to the one above (一级抓一级).

The roster maps a role to the roles directly above it, nearest first. The chain of a
role follows that map upward, breadth first, naming each role once; a map that leads
back to where it started has no top and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["EscalationCycle", "escalation_chain", "escalation_cycles"]


@dataclass(frozen=True, slots=True)
class EscalationCycle:
    """A loop in the escalation map; ``role`` lists ``path[-1]`` at ``index``, closing the loop."""

    role: str
    index: int
    path: tuple[str, ...]

    def __str__(self) -> str:
        return " → ".join(self.path)


def escalation_chain(escalation: Mapping[str, Sequence[str]], role: str) -> list[str]:
    """The roles above ``role``, nearest first, each once; ``role`` itself never appears."""
    chain: list[str] = []
    seen = {role}
    level = [role]
    while level:
        above: list[str] = []
        for lower in level:
            for upper in escalation.get(lower, ()):
                if upper not in seen:
                    seen.add(upper)
                    chain.append(upper)
                    above.append(upper)
        level = above
    return chain


def escalation_cycles(escalation: Mapping[str, Sequence[str]]) -> list[EscalationCycle]:
    """Every loop in the map, each found once, in the map's order."""
    cycles: list[EscalationCycle] = []
    done: set[str] = set()
    path: list[str] = []

    def climb(role: str) -> None:
        path.append(role)
        for index, upper in enumerate(escalation.get(role, ())):
            if upper in path:
                cycles.append(EscalationCycle(role, index, (*path[path.index(upper) :], upper)))
            elif upper not in done:
                climb(upper)
        path.pop()
        done.add(role)

    for role in escalation:
        if role not in done:
            climb(role)
    return cycles
