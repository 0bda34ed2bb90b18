"""Message templates: checked names, Muster's filters, and Jinja's immutable sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from muster.errors import TemplateError
from playbooks import FACT_NAMES, TEMPLATE_NAMES, check_template, render_template
from playbooks.templates import template_environment


@pytest.fixture
def context(make_incident: Any) -> dict[str, Any]:
    """A realistic message context."""
    return {
        "incident": make_incident().facts(),
        "grade": "一般",
        "level": {"id": "III", "name": "三级响应"},
        "playbook": {"id": "hazchem-leak", "title": "危险化学品泄漏预案", "version": 1},
        "step": {"id": "rescue", "title": "救援", "kind": "notify"},
        "recipient": {"id": "zhang", "name": "张三", "role": "rescue_team", "role_name": "抢险救援组"},
        "deadline": "2026-11-29 09:15 (Asia/Shanghai)",
        "report_to": "县级应急管理部门",
        "drill": False,
        "language": "zh",
        "timezone": "Asia/Shanghai",
        "ack_url": None,
    }


def test_template_names_are_what_a_run_provides() -> None:
    """Templates may use exactly these names; `incident` offers every fact."""
    assert set(TEMPLATE_NAMES) == {
        "incident", "grade", "level", "playbook", "step", "recipient", "deadline", "report_to", "drill",
        "language", "timezone", "ack_url",
    }
    assert TEMPLATE_NAMES["incident"] == FACT_NAMES


def test_the_environment_is_an_immutable_sandbox_with_strict_undefined() -> None:
    """Templates render in ImmutableSandboxedEnvironment with StrictUndefined (CONVENTIONS.md rule 6)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = template_environment()
    assert isinstance(env, ImmutableSandboxedEnvironment)
    assert env.undefined is StrictUndefined
    assert env.autoescape is False


@pytest.mark.parametrize(
    "source",
    [
        "{{ incident.location }}发生事故，{{ recipient.name }}请立即到场。",
        "{{ incident.occurred_at | localtime(timezone) }} {{ incident.direct_loss_cny | yuan }}",
        "{% if recipient.role == 'medical_team' %}救治伤员{% else %}疏散{% endif %}",
        "{{ '火灾' if incident.type == 'hazchem_fire' else '泄漏' }}",
        "{{ level.name }} {{ playbook.title }} v{{ playbook.version }} {{ step.title }} {{ deadline }}",
        "{{ incident['title'] }} {{ grade }} {{ report_to }} {{ ack_url }} {{ drill }} {{ language }}",
    ],
)
def test_check_template_accepts_the_names_a_run_provides(source: str) -> None:
    """A template that only uses provided names and filters has no problems."""
    assert check_template(source) == []


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{{ incident.titel }}", "incident.titel does not exist; incident has"),
        ("{{ incident['titel'] }}", "incident.titel does not exist"),
        ("{{ victim }}", "template variable 'victim' does not exist"),
        ("{{ recipient.phone }}", "recipient.phone does not exist; recipient has id, name, role, role_name"),
        ("{{ playbook.author }}", "playbook.author does not exist"),
        ("{{ step.deadline }}", "step.deadline does not exist"),
        ("{{ incident.title", "template syntax error on its line 1"),
        ("{% if deaths %}", "template syntax error"),
        ("{{ incident.title | shout }}", "shout"),
    ],
)
def test_check_template_reports_unknown_names_and_syntax(source: str, words: str) -> None:
    """Unknown variables, unknown attributes, syntax errors and unknown filters are found before a run."""
    problems = check_template(source)
    assert problems
    assert any(words in p for p in problems), problems


def test_check_template_reports_the_line_of_a_syntax_error_inside_the_template() -> None:
    """A syntax error on the third line of a message says so."""
    (problem,) = check_template("第一行\n第二行\n{{ incident.title }")
    assert "line 3" in problem


def test_localtime_filter_shows_local_time_with_the_zone_named() -> None:
    """Times are kept in UTC and shown in the plan's zone, with the zone named."""
    moment = datetime(2026, 11, 29, 0, 15, tzinfo=UTC)
    assert render_template("{{ t | localtime }}", {"t": moment}) == "2026-11-29 08:15 (Asia/Shanghai)"
    assert render_template("{{ t | localtime('UTC') }}", {"t": moment}) == "2026-11-29 00:15 (UTC)"
    assert render_template("{{ t | localtime('Asia/Shanghai') }}", {"t": "2026-11-29T00:15:00+00:00"}) == (
        "2026-11-29 08:15 (Asia/Shanghai)"
    )


def test_yuan_filter_groups_thousands() -> None:
    """Losses print as yuan with thousands separators."""
    assert render_template("{{ n | yuan }}", {"n": 12_000_000}) == "¥12,000,000"
    assert render_template("{{ n | yuan }}", {"n": 0}) == "¥0"


def test_render_fills_a_realistic_message(context: dict[str, Any]) -> None:
    """A report line renders with the incident's facts in the plan's time zone."""
    text = render_template(
        "{{ incident.occurred_at | localtime(timezone) }}，{{ incident.location }}，"
        "损失{{ incident.direct_loss_cny | yuan }}",
        context,
    )
    assert text == "2026-11-29 08:15 (Asia/Shanghai)，临江化工园区某化工有限公司二号罐区，损失¥0"


def test_render_strips_surrounding_whitespace(context: dict[str, Any]) -> None:
    """Rendered messages lose the trailing newline of YAML block text."""
    assert render_template("\n  {{ grade }}\n\n", context) == "一般"


def test_missing_value_is_an_error_not_an_empty_string() -> None:
    """StrictUndefined turns a missing value into a TemplateError instead of silently printing nothing."""
    with pytest.raises(TemplateError, match="failed to render"):
        render_template("{{ incident.title }}", {"incident": {}})


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ incident.title.__class__.__base__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ self.__init__.__globals__ }}",
        "{{ recipient.__class__ }}",
        "{{ incident.occurred_at.__class__.__init__.__globals__ }}",
        "{{ (incident.title | attr('__class__')) }}",
    ],
)
def test_sandbox_blocks_escapes_to_python_internals(context: dict[str, Any], source: str) -> None:
    """Reaching for dunder attributes fails as a TemplateError instead of exposing Python objects."""
    with pytest.raises(TemplateError, match=r"unsafe|undefined|has no attribute"):
        render_template(source, context)


def test_immutable_sandbox_forbids_changing_the_context(context: dict[str, Any]) -> None:
    """A template cannot modify the incident it renders (no dict.update, list.append)."""
    with pytest.raises(TemplateError, match="unsafe"):
        render_template("{{ incident.labels.update({'x': 'y'}) }}", context)
    with pytest.raises(TemplateError, match="unsafe"):
        render_template("{{ incident.labels.clear() }}", context)
    assert context["incident"]["labels"] == {}


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("{{ range(10 ** 9) | list | length }}", id="huge-range"),
        pytest.param("{{ 1 / 0 }}", id="division-by-zero"),
    ],
)
def test_every_render_failure_is_a_template_error(context: dict[str, Any], source: str) -> None:
    """Whatever goes wrong while rendering, the caller gets one error type that says the template failed."""
    with pytest.raises(TemplateError):
        render_template(source, context)
