"""YAML read with positions, so every problem is reported as ``path:line:col: message``.

Files are read with PyYAML's safe loader (no tags that build objects), duplicate
keys are problems (PyYAML silently keeps the last), and config files may use
``${VAR}`` and ``${VAR:-default}`` from the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from muster.errors import ConfigError, Problem

__all__ = ["Source", "load_yaml", "load_yaml_model", "validate_model"]

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class Source:
    """A YAML file's data with the line and column of every value and key."""

    path: str
    data: Any = None
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def problem(self, loc: Loc, message: str, *, at_key: bool = False) -> Problem:
        """A problem located at the value (or key) at ``loc``, or its nearest parent."""
        line, column = self.locate(loc, at_key=at_key)
        return Problem(self.path, line, column, message)

    def locate(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        """The position of ``loc``; pydantic's union tags in ``loc`` are skipped."""
        real = self.real_loc(loc)
        if at_key and real in self.keys:
            return self.keys[real]
        while real not in self.values and real:
            real = real[:-1]
        return self.values.get(real, (1, 1))

    def real_loc(self, loc: Loc) -> Loc:
        """``loc`` with the parts that are not in the data (union tags) left out."""
        node: Any = self.data
        real: Loc = ()
        for part in loc:
            if isinstance(node, Mapping) and part in node:  # noqa: SIM114 (separate for mypy narrowing)
                node, real = node[part], (*real, part)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node, real = node[part], (*real, part)
            elif isinstance(node, Mapping | list) and ((*real, part) in self.keys or part == loc[-1]):
                return (*real, part)
        return real


def load_yaml(path: Path | str, *, text: str | None = None, substitute_env: bool = False) -> Source:
    """Read a YAML file into a :class:`Source`; raise ConfigError listing every problem."""
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([Problem(name, 1, 1, f"cannot read the file: {exc}")]) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigError([Problem(name, line, column, f"YAML syntax: {exc.problem or exc}")]) from None
    finally:
        loader.dispose()
    source = Source(name)
    problems: list[Problem] = []
    if node is None:
        raise ConfigError([Problem(name, 1, 1, "the file is empty")])
    source.data = _build(node, (), source, problems, loader, substitute_env)
    if problems:
        raise ConfigError(problems)
    return source


def _build(
    node: yaml.Node, loc: Loc, source: Source, problems: list[Problem], loader: yaml.SafeLoader, env: bool
) -> Any:
    position = source.values[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if node.tag not in _PLAIN_TAGS:
        tag = node.tag.removeprefix("tag:yaml.org,2002:")
        problems.append(
            Problem(source.path, *position, f"YAML tag {tag!r} is not allowed; plans and config are plain data")
        )
        return None
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader, source, problems) if key_node.tag in _PLAIN_TAGS else None
            key_pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key, str | int):
                problems.append(Problem(source.path, *key_pos, f"key {key!r} must be text"))
                continue
            if key in result:
                problems.append(Problem(source.path, *key_pos, f"duplicate key {key!r}"))
                continue
            source.keys[(*loc, key)] = key_pos
            result[key] = _build(value_node, (*loc, key), source, problems, loader, env)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), source, problems, loader, env) for i, item in enumerate(node.value)]
    value = _scalar(node, loader, source, problems)
    if env and isinstance(value, str) and "${" in value:
        value = _substitute(value, loc, source, problems)
    return value


def _scalar(node: yaml.Node, loader: yaml.SafeLoader, source: Source, problems: list[Problem]) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        problems.append(Problem(source.path, line, column, f"YAML value cannot be read: {exc.problem}"))
        return None


def _substitute(text: str, loc: Loc, source: Source, problems: list[Problem]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        line, column = source.values[loc]
        problems.append(
            Problem(source.path, line, column, f"environment variable {name} is not set and has no default")
        )
        return ""

    return _ENV.sub(replace, text)


def validate_model(model: type[ModelT], source: Source) -> tuple[ModelT | None, list[Problem]]:
    """Validate the data as ``model``; every pydantic error becomes a located problem."""
    try:
        return model.model_validate(source.data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            where = ".".join(str(p) for p in source.real_loc(loc)) or "(top level)"
            if error["type"] == "extra_forbidden":
                message = f"unknown field {loc[-1]!r} at {where}"
            elif error["type"] == "missing":
                message = f"missing field {loc[-1]!r} at {where.rsplit('.', 1)[0] if '.' in where else where}"
            elif error["type"] == "union_tag_invalid":
                ctx = error.get("ctx", {})
                expected = ", ".join(re.findall(r"'([^']+)'>", str(ctx.get("expected_tags", ""))))
                field = str(ctx.get("discriminator", "kind")).strip("'")
                message = f"{where}: unknown {field} {ctx.get('tag')!r}; use one of {expected}"
                loc = (*loc, field)
            else:
                message = f"{where}: {error['msg'].removeprefix('Value error, ')}"
            problems.append(source.problem(loc, message, at_key=error["type"] == "extra_forbidden"))
        return None, problems


def load_yaml_model(model: type[ModelT], path: Path | str, *, substitute_env: bool = True) -> ModelT:
    """Load a config file as ``model``, or raise ConfigError with every problem located."""
    source = load_yaml(path, substitute_env=substitute_env)
    result, problems = validate_model(model, source)
    if problems or result is None:
        raise ConfigError(problems)
    return result
