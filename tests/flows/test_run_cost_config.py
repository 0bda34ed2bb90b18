"""A warm process parses roster.yaml and channels.yaml once, and sees every change to them or their ${VAR}s."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from flows import config as config_module
from flows import load_config
from muster.errors import ConfigError
from playbooks import Source

SECRET = "whsec_" + "cnVuLWNvc3QtY29uZmlnLXRlc3Qtc2VjcmV0LTEyMzQ1Njc="
ROSTER = """\
people:
  - id: wang-fang
    name: 王芳
    roles: [site_commander]
    contacts: [{channel: sim, address: wang-fang}]
"""
CHANNELS = """\
channels:
  - name: sim
    type: webhook
    url: ${MUSTER_TEST_RUN_COST_URL:-http://127.0.0.1:8765}/webhook/muster
    secret: env:MUSTER_TEST_RUN_COST_SECRET
"""


def settled(*paths: Path, age_s: float = 60.0) -> None:
    """Set the files' mtime ``age_s`` in the past, as for files written long before the run."""
    then = time.time_ns() - int(age_s * 1e9)
    for path in paths:
        os.utime(path, ns=(then, then))


def write_config(folder: Path, *, roster: str = ROSTER, channels: str = CHANNELS) -> Path:
    """A config directory with the given files, written long ago."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roster.yaml").write_text(roster, encoding="utf-8")
    (folder / "channels.yaml").write_text(channels, encoding="utf-8")
    settled(folder / "roster.yaml", folder / "channels.yaml")
    return folder


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of every YAML parse load_config makes, in order."""
    made: list[str] = []
    real = config_module.load_yaml

    def counting(path: Path | str, **options: Any) -> Source:
        made.append(Path(path).name)
        return real(path, **options)

    monkeypatch.setattr(config_module, "load_yaml", counting)
    monkeypatch.setenv("MUSTER_TEST_RUN_COST_SECRET", SECRET)
    monkeypatch.delenv("MUSTER_TEST_RUN_COST_URL", raising=False)
    return made


def test_config_is_not_parsed_again_while_nothing_changed(tmp_path: Path, parses: list[str]) -> None:
    """A second load of unchanged files under an unchanged environment parses nothing and shares the roster."""
    folder = write_config(tmp_path)
    first = load_config(folder)
    parsed_once = len(parses)
    assert parsed_once >= 2, parses
    second = load_config(folder)
    assert len(parses) == parsed_once
    assert second.roster is first.roster
    assert second.channels == first.channels


def test_the_shared_roster_cannot_be_changed_by_a_caller(tmp_path: Path, parses: list[str]) -> None:
    """The roster every load hands out is frozen: no run can change what the next run sees."""
    config = load_config(write_config(tmp_path))
    with pytest.raises(ValidationError):
        config.roster.people = []  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.roster.people[0].name = "someone else"  # type: ignore[misc]


def test_a_changed_roster_is_picked_up_by_the_next_load(tmp_path: Path, parses: list[str]) -> None:
    """An edit of the same size, even one that puts the old mtime back (`cp -p`), is seen by the next load."""
    folder = write_config(tmp_path)
    roster = folder / "roster.yaml"
    assert load_config(folder).roster.people[0].name == "王芳"
    old = roster.stat().st_mtime_ns

    roster.write_text(ROSTER.replace("王芳", "李娜"), encoding="utf-8")  # the same number of bytes
    assert load_config(folder).roster.people[0].name == "李娜"  # just written: not trusted by its stamp

    roster.write_text(ROSTER.replace("王芳", "赵磊"), encoding="utf-8")
    os.utime(roster, ns=(old, old))
    assert load_config(folder).roster.people[0].name == "赵磊"


def test_a_file_written_just_now_is_read_again_on_every_load(tmp_path: Path, parses: list[str]) -> None:
    """Within a clock tick a same-size edit leaves the stamp as it was: a fresh file is not cached."""
    folder = write_config(tmp_path)
    (folder / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    load_config(folder)
    before = parses.count("roster.yaml")
    load_config(folder)
    assert parses.count("roster.yaml") == before + 1


def test_a_changed_environment_variable_is_picked_up_by_the_next_load(
    tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ${VAR} the files name is part of what a parse depends on; one they do not name is not."""
    folder = write_config(tmp_path)
    assert load_config(folder).channels["sim"].url == "http://127.0.0.1:8765/webhook/muster"

    monkeypatch.setenv("MUSTER_TEST_RUN_COST_URL", "http://10.0.0.7:9000")
    assert load_config(folder).channels["sim"].url == "http://10.0.0.7:9000/webhook/muster"

    parsed = len(parses)
    monkeypatch.setenv("MUSTER_TEST_RUN_COST_UNRELATED", "1")
    assert load_config(folder).channels["sim"].url == "http://10.0.0.7:9000/webhook/muster"
    assert len(parses) == parsed

    monkeypatch.delenv("MUSTER_TEST_RUN_COST_URL")
    assert load_config(folder).channels["sim"].url == "http://127.0.0.1:8765/webhook/muster"


def test_secret_references_are_resolved_on_every_load(
    tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotated `env:` secret is used by the very next load, though the files are not parsed again."""
    folder = write_config(tmp_path)
    secret = load_config(folder).channels["sim"].secret
    assert secret is not None and secret.get_secret_value() == SECRET
    parsed = len(parses)

    rotated = SECRET[:-4] + "AAA="
    monkeypatch.setenv("MUSTER_TEST_RUN_COST_SECRET", rotated)
    secret = load_config(folder).channels["sim"].secret
    assert secret is not None and secret.get_secret_value() == rotated
    assert len(parses) == parsed

    monkeypatch.delenv("MUSTER_TEST_RUN_COST_SECRET")
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    assert "MUSTER_TEST_RUN_COST_SECRET" in str(info.value)


def test_a_config_with_problems_reports_them_on_every_load(tmp_path: Path, parses: list[str]) -> None:
    """The same located problems come from a cached parse as from the first one."""
    folder = write_config(tmp_path, roster=ROSTER.replace("channel: sim", "channel: sms"))
    with pytest.raises(ConfigError) as first:
        load_config(folder)
    with pytest.raises(ConfigError) as again:
        load_config(folder)
    assert first.value.problems == again.value.problems
    assert "unknown channel 'sms'" in first.value.problems[0].message
