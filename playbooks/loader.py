"""Loading playbooks: parse, validate, and check every cross-reference before anything runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from muster.errors import ConditionError, ConfigError, PlaybookError, Problem
from playbooks.conditions import parse_condition
from playbooks.model import Playbook
from playbooks.source import Loc, Source, load_yaml, validate_model
from playbooks.templates import HTTP_BODY_NAMES, TEMPLATE_NAMES, check_template

__all__ = ["library_paths", "load_playbook", "load_playbooks", "playbook_paths"]


def library_paths() -> list[Path]:
    """The playbooks shipped with Muster (``playbooks/library/*.yaml``)."""
    library = resources.files("playbooks") / "library"
    return sorted(Path(str(p)) for p in library.iterdir() if p.name.endswith((".yaml", ".yml")))


def playbook_paths(paths: list[Path]) -> list[Path]:
    """Files named directly, and ``*.yaml``/``*.yml`` files inside named folders."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


def load_playbook(path: Path | str, *, text: str | None = None) -> Playbook:
    """Load one playbook, or raise PlaybookError listing every problem as path:line:col."""
    try:
        source = load_yaml(path, text=text)
    except ConfigError as exc:
        raise PlaybookError(exc.problems) from None
    playbook, problems = validate_model(Playbook, source)
    problems.extend(_check_references(source))
    problems.sort(key=lambda p: (p.line, p.column))
    if problems or playbook is None:
        raise PlaybookError(problems)
    return playbook


def load_playbooks(paths: list[Path]) -> dict[str, Playbook]:
    """Load several playbooks by id; raise PlaybookError with the problems of all of them."""
    loaded: dict[str, Playbook] = {}
    problems: list[Problem] = []
    for path in paths:
        try:
            playbook = load_playbook(path)
        except PlaybookError as exc:
            problems.extend(exc.problems)
            continue
        if playbook.id in loaded:
            problems.append(Problem(str(path), 1, 1, f"playbook id {playbook.id!r} is already used by another file"))
        loaded[playbook.id] = playbook
    if problems:
        raise PlaybookError(problems)
    return loaded


def _check_references(source: Source) -> list[Problem]:
    data = source.data if isinstance(source.data, Mapping) else {}
    problems: list[Problem] = []
    roles = set(data.get("roles") or {}) if isinstance(data.get("roles"), Mapping) else set()
    levels = [lv.get("id") for lv in _dicts(data.get("levels"))]
    steps = list(_indexed_dicts(data.get("steps")))
    problems += _check_timezone(source, data)
    problems += _check_levels(source, data)
    seen: dict[str, int] = {}
    for index, step in steps:
        loc: Loc = ("steps", index)
        step_id = step.get("id")
        if isinstance(step_id, str):
            if step_id in seen:
                problems.append(
                    source.problem((*loc, "id"), f"duplicate step id {step_id!r} (also step {seen[step_id] + 1})")
                )
            seen.setdefault(step_id, index)
        for i, role in enumerate(_list(step.get("to"))):
            if role not in roles:
                problems.append(
                    source.problem((*loc, "to", i), f"unknown role {role!r}; the plan's roles are {_names(roles)}")
                )
        ack = step.get("ack")
        if isinstance(ack, Mapping):
            target = ack.get("escalate_to")
            if target is not None and target != "chain" and target not in roles:
                problems.append(source.problem((*loc, "ack", "escalate_to"), f"unknown role {target!r} to escalate to"))
        min_level = step.get("min_level")
        if min_level is not None and min_level not in levels:
            problems.append(
                source.problem((*loc, "min_level"), f"unknown level {min_level!r}; levels are {_names(levels)}")
            )
        problems += _check_condition(source, (*loc, "when"), step.get("when"))
        problems += _check_templates(source, loc, step)
    step_ids = set(seen)
    for index, step in steps:
        for i, need in enumerate(_list(step.get("needs"))):
            if need not in step_ids:
                problems.append(source.problem(("steps", index, "needs", i), f"needs unknown step {need!r}"))
            elif need == step.get("id"):
                problems.append(source.problem(("steps", index, "needs", i), f"step {need!r} needs itself"))
    problems += _check_cycles(source, steps)
    return problems


def _check_timezone(source: Source, data: Mapping[str, Any]) -> list[Problem]:
    zone = data.get("timezone")
    if not isinstance(zone, str):
        return []
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return [source.problem(("timezone",), f"unknown time zone {zone!r}; use an IANA name like Asia/Shanghai")]
    return []


def _check_levels(source: Source, data: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, level in _indexed_dicts(data.get("levels")):
        if level.get("id") in seen:
            problems.append(source.problem(("levels", index, "id"), f"duplicate level id {level.get('id')!r}"))
        seen.add(str(level.get("id")))
        if index == 0 and level.get("when") is not None:
            problems.append(
                source.problem(("levels", 0, "when"), "the lowest level applies by default; remove its `when`")
            )
        if index > 0 and level.get("when") is None:
            problems.append(source.problem(("levels", index), "every level above the lowest needs a `when` condition"))
        problems += _check_condition(source, ("levels", index, "when"), level.get("when"))
    return problems


def _check_condition(source: Source, loc: Loc, text: object) -> list[Problem]:
    if not isinstance(text, str):
        return []
    try:
        parse_condition(text)
    except ConditionError as exc:
        return [source.problem(loc, str(exc))]
    return []


def _check_templates(source: Source, loc: Loc, step: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for field in ("message", "body"):
        value = step.get(field)
        texts = value.items() if isinstance(value, Mapping) else [(None, value)]
        for key, text in texts:
            if not isinstance(text, str):
                continue
            where = (*loc, field) if key is None else (*loc, field, key)
            names = HTTP_BODY_NAMES if field == "body" else TEMPLATE_NAMES
            problems.extend(source.problem(where, message) for message in check_template(text, names))
    return problems


def _check_cycles(source: Source, steps: list[tuple[int, Mapping[str, Any]]]) -> list[Problem]:
    graph = {s.get("id"): [n for n in _list(s.get("needs")) if isinstance(n, str)] for _, s in steps}
    index_of = {s.get("id"): i for i, s in steps}
    state: dict[Any, int] = {}  # 1 visiting, 2 done
    problems: list[Problem] = []

    def visit(node: Any, path: list[Any]) -> None:
        state[node] = 1
        for need in graph.get(node, []):
            if need not in graph or need == node:
                continue
            if state.get(need) == 1:
                cycle = [*path[path.index(need) :], need]
                loc = ("steps", index_of[node], "needs")
                problems.append(source.problem(loc, f"steps form a cycle: {' -> '.join(map(str, cycle))}"))
            elif state.get(need) is None:
                visit(need, [*path, need])
        state[node] = 2

    for node in graph:
        if state.get(node) is None:
            visit(node, [node])
    return problems


def _list(value: object) -> list[Any]:
    """The value if it is a list; anything else is a type error the model reports once."""
    return value if isinstance(value, list) else []


def _dicts(value: object) -> list[Mapping[str, Any]]:
    return [item for _, item in _indexed_dicts(value)]


def _indexed_dicts(value: object) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _names(values: set[Any] | list[Any]) -> str:
    return ", ".join(sorted(str(v) for v in values)) or "(none)"
