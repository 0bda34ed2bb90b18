"""Message templates in plans: Jinja in an immutable sandbox, checked before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from muster.errors import TemplateError
from playbooks.conditions import FACT_NAMES

__all__ = ["HTTP_BODY_NAMES", "TEMPLATE_NAMES", "check_template", "render_template", "template_environment"]

# What a plan's message template may use, and the attributes each offers.
TEMPLATE_NAMES: Mapping[str, frozenset[str] | None] = {
    "incident": FACT_NAMES,
    "grade": None,
    "level": frozenset({"id", "name"}),
    "playbook": frozenset({"id", "title", "version"}),
    "step": frozenset({"id", "title", "kind"}),
    "recipient": frozenset({"id", "name", "role", "role_name"}),
    "deadline": None,
    "report_to": None,
    "drill": None,
    "language": None,
    "timezone": None,
    "ack_url": None,
}


@pass_context
def _localtime(context: Context, value: datetime | str, zone: str | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in ``zone`` (default: the plan's ``timezone``), with the zone named."""
    zone = zone or str(context.get("timezone") or "Asia/Shanghai")
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment.astimezone(ZoneInfo(zone)).strftime(fmt)} ({zone})"


def _yuan(value: int | float) -> str:
    return f"¥{value:,.0f}"


@lru_cache(maxsize=1)
def template_environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed environment plan templates compile and render in."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["localtime"] = _localtime
    env.filters["yuan"] = _yuan
    return env


# An http step's body is rendered once for the whole step: no recipient, deadline or authority.
HTTP_BODY_NAMES: Mapping[str, frozenset[str] | None] = {
    name: attrs for name, attrs in TEMPLATE_NAMES.items() if name not in ("recipient", "deadline", "report_to")
}


def check_template(source: str, names: Mapping[str, frozenset[str] | None] = TEMPLATE_NAMES) -> list[str]:
    """Every problem in a template: syntax, unknown variables, unknown attributes."""
    env = template_environment()
    try:
        tree = env.parse(source)
        env.compile(tree)
    except TemplateSyntaxError as exc:
        return [f"template syntax error on its line {exc.lineno}: {exc.message}"]
    problems = []
    for name in sorted(meta.find_undeclared_variables(tree)):
        if name not in names:
            problems.append(f"template variable {name!r} does not exist here; use one of {', '.join(names)}")
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attribute: object
        if isinstance(node, nodes.Getattr):
            owner, attribute = node.node, node.attr
        elif isinstance(node, nodes.Getitem):
            owner, attribute = node.node, getattr(node.arg, "value", None)
        else:
            continue
        if not isinstance(owner, nodes.Name) or not isinstance(attribute, str):
            continue
        allowed = names.get(owner.name)
        if allowed is not None and attribute not in allowed:
            problems.append(
                f"template variable {owner.name}.{attribute} does not exist; "
                f"{owner.name} has {', '.join(sorted(allowed))}"
            )
    return problems


def render_template(source: str, context: Mapping[str, Any]) -> str:
    """Render a checked template; raise TemplateError saying what failed."""
    env = template_environment()
    try:
        return env.from_string(source).render(dict(context)).strip()
    except Exception as exc:  # whatever a template does wrong, the caller gets one error type
        raise TemplateError(f"template failed to render: {type(exc).__name__}: {exc}") from exc
