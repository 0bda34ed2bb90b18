"""`muster validate`'s readiness check: a role held through a rotation or an override is held."""

from __future__ import annotations

from pathlib import Path

from flows import load_config, readiness_problems
from playbooks import load_playbook

ROSTER = """
people:
  - {id: chen, name: 陈静, roles: [], contacts: [{channel: sim, address: chen}]}
  - {id: zhang, name: 张敏, roles: [], contacts: [{channel: sim, address: zhang}]}
  - {id: feng, name: 冯宇, roles: [], contacts: [{channel: sim, address: feng}]}
rotations:
  - {role: duty_officer, people: [chen, zhang], every: daily, handoff: "08:30", timezone: Asia/Shanghai,
     start: 2026-01-05}
overrides:
  - {role: holiday_cover, person: feng, start: "2026-02-16T00:00:00+08:00", end: "2026-02-18T00:00:00+08:00",
     reason: 春节调班}
"""
CHANNELS = 'channels:\n  - {name: sim, type: webhook, url: "http://127.0.0.1:9/hook"}\n'
PLAN = """
id: duty-check
title: {zh: 值班检查, en: Duty check}
incident_types: [test]
roles:
  duty_officer: {name: {zh: 值班员, en: Duty officer}}
  holiday_cover: {name: {zh: 节日值守, en: Holiday cover}}
  nobody_role: {name: {zh: 无人角色, en: Nobody}}
levels:
  - {id: IV, name: {zh: 四级, en: Level IV}}
steps:
  - {id: a, kind: notify, title: {zh: 甲, en: A}, to: [duty_officer], message: x}
  - {id: b, kind: notify, title: {zh: 乙, en: B}, to: [holiday_cover], message: x}
  - {id: c, kind: notify, title: {zh: 丙, en: C}, to: [nobody_role], message: x}
"""


def test_rotation_and_override_roles_are_held_and_only_the_unheld_role_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
    (tmp_path / "duty-check.yaml").write_text(PLAN, encoding="utf-8")
    plan = load_playbook(tmp_path / "duty-check.yaml")
    problems = readiness_problems([plan], load_config(tmp_path))
    assert problems == ["duty-check: step c: nobody in roster.yaml holds role 'nobody_role'"]
