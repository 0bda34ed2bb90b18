"""Shared pieces for the plan-language tests: a realistic incident and the context a message renders in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from incidents import Incident
from playbooks import HttpStep, Level, NotifyStep, Playbook, ReportStep, TaskStep, WaitStep, localize

BEIJING = timezone(timedelta(hours=8))


def _make_incident(**changes: Any) -> Incident:
    """A fully filled-in incident, as a duty officer would report it."""
    fields: dict[str, Any] = {
        "id": "INC-20261129-0015-7f3a9c",
        "type": "hazchem_leak",
        "title": "二号罐区苯储罐泄漏",
        "location": "临江化工园区某化工有限公司二号罐区",
        "occurred_at": datetime(2026, 11, 29, 8, 15, tzinfo=BEIJING),
        "reported_at": datetime(2026, 11, 29, 8, 22, tzinfo=BEIJING),
        "unit": "某化工有限公司",
        "unit_profile": "危险化学品生产企业，员工320人",
        "scene": "罐区东侧防火堤内有积液，下风向有异味",
        "description": "T-203苯储罐底部法兰垫片失效，物料泄漏",
        "measures_taken": "已关闭罐根阀，启动水幕，疏散罐区人员",
        "other": "气象：东北风3级",
        "reporter": "王五",
        "reporter_phone": "13800000000",
    }
    fields.update(changes)
    return Incident(**fields)


def _render_context(
    playbook: Playbook,
    step: NotifyStep | TaskStep | ReportStep | WaitStep | HttpStep,
    incident: Incident,
    level: Level,
    *,
    role: str,
    language: str,
) -> dict[str, Any]:
    """Every name of TEMPLATE_NAMES, filled the way a run fills it."""
    report_to = step.report_to if isinstance(step, ReportStep) else None
    return {
        "incident": incident.facts(),
        "grade": incident.grade.label(language),
        "level": {"id": level.id, "name": localize(level.name, language)},
        "playbook": {"id": playbook.id, "title": localize(playbook.title, language), "version": playbook.version},
        "step": {"id": step.id, "title": localize(step.title, language), "kind": step.kind.value},
        "recipient": {
            "id": "zhang-san",
            "name": "张三" if language == "zh" else "Zhang San",
            "role": role,
            "role_name": localize(playbook.roles[role].name, language) if role in playbook.roles else role,
        },
        "deadline": "2026-11-29 09:15 (Asia/Shanghai)",
        "report_to": localize(report_to, language) if report_to is not None else None,
        "drill": False,
        "language": language,
        "timezone": playbook.timezone,
        "ack_url": None,
    }


@pytest.fixture
def make_incident() -> Any:
    """A factory of realistic incidents; keyword arguments change fields."""
    return _make_incident


@pytest.fixture
def render_context() -> Any:
    """A factory of message contexts: (playbook, step, incident, level, role=, language=)."""
    return _render_context
