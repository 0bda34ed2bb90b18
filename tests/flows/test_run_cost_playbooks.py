"""A warm process parses each playbook once, by id or by path, and sees every change to its file."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from flows import find_playbook
from muster.errors import PlaybookError
from playbooks import Source
from playbooks import loader as loader_module

PLAYBOOK = """\
id: run-cost-probe
version: 1
title: {zh: 成本探针预案, en: Run cost probe plan}
incident_types: [probe]
roles:
  duty: {name: {zh: 值班员, en: Duty officer}}
levels:
  - {id: IV, name: {zh: 四级响应, en: Level IV}}
steps:
  - id: alert
    kind: notify
    title: {zh: 通知值班员, en: Alert the duty}
    to: [duty]
    message: "{{ incident.title }}"
"""


def settled(path: Path, age_s: float = 60.0) -> None:
    """Set the file's mtime ``age_s`` in the past, as for a file written long before the run."""
    then = time.time_ns() - int(age_s * 1e9)
    os.utime(path, ns=(then, then))


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file name of every playbook parse, in order."""
    made: list[str] = []
    real = loader_module.load_yaml

    def counting(path: Path | str, **options: Any) -> Source:
        made.append(Path(path).name)
        return real(path, **options)

    monkeypatch.setattr(loader_module, "load_yaml", counting)
    return made


@pytest.fixture
def plans(tmp_path: Path) -> Path:
    """An operator's playbook folder holding the probe plan, written long ago."""
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "probe.yaml").write_text(PLAYBOOK, encoding="utf-8")
    settled(folder / "probe.yaml")
    return folder


def test_a_playbook_by_id_is_not_parsed_again_while_unchanged(plans: Path, parses: list[str]) -> None:
    """Looking the plan up again by id parses no file and returns the same plan."""
    first = find_playbook("run-cost-probe", [plans])
    parsed = len(parses)
    assert find_playbook("run-cost-probe", [plans]) is first
    assert len(parses) == parsed


def test_a_playbook_by_path_is_not_parsed_again_while_unchanged(plans: Path, parses: list[str]) -> None:
    """A plan named by its file (as `muster trigger plan.yaml` and resumed runs do) is parsed once too."""
    path = str(plans / "probe.yaml")
    first = find_playbook(path, [])
    assert parses == ["probe.yaml"]
    assert find_playbook(path, []) is first
    assert parses == ["probe.yaml"]


def test_a_changed_playbook_is_picked_up_by_the_next_lookup(plans: Path, parses: list[str]) -> None:
    """A same-size edit is seen at once, and again after its mtime is set back to the old one."""
    path = plans / "probe.yaml"
    old = path.stat().st_mtime_ns
    assert find_playbook("run-cost-probe", [plans]).version == 1

    path.write_text(PLAYBOOK.replace("version: 1", "version: 2"), encoding="utf-8")
    assert find_playbook("run-cost-probe", [plans]).version == 2

    path.write_text(PLAYBOOK.replace("version: 1", "version: 3"), encoding="utf-8")
    os.utime(path, ns=(old, old))
    assert find_playbook(str(path), []).version == 3


def test_a_broken_playbook_is_reported_on_every_lookup(plans: Path, parses: list[str]) -> None:
    """A plan that fails to load is not kept: each lookup reports its located problem."""
    path = plans / "probe.yaml"
    path.write_text(PLAYBOOK.replace("to: [duty]", "to: [nobody]"), encoding="utf-8")
    settled(path)
    for _ in range(2):
        with pytest.raises(PlaybookError) as info:
            find_playbook(str(path), [])
        assert "unknown role 'nobody'" in str(info.value)
