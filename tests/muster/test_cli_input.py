"""The `muster` command line refuses bad input with located, actionable errors, before anything is recorded.

Every command here fails (or finishes) before a flow starts, so no Prefect server is needed.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from playbooks import library_paths, load_playbooks

ROOT = Path(__file__).resolve().parents[2]
MUSTER = str(Path(sys.executable).with_name("muster"))
DEMO = ROOT / "examples" / "demo"

BAD_PLAYBOOK = """\
id: broken-plan
title: {zh: 坏预案, en: Broken plan}
incident_types: [gas_explosion]
colour: red
roles:
  unit_head:
    name: {zh: 负责人, en: Head}
levels:
  - id: IV
    name: {zh: 四级, en: Level IV}
steps:
  - id: first
    kind: shout
    title: {zh: 喊, en: Shout}
  - id: second
    kind: wait
    title: {zh: 等, en: Wait}
    duration: soon
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty MUSTER_HOME for one test."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def muster(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed `muster` script from the repository root with its own MUSTER_HOME and no Prefect API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSTER_", "PREFECT_API_"))}
    env["MUSTER_HOME"] = str(home)
    return subprocess.run([MUSTER, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def recorded(home: Path) -> int:
    """How many action-log entries MUSTER_HOME holds (0 if there is no log at all)."""
    database = home / "muster.db"
    if not database.exists():
        return 0
    with closing(sqlite3.connect(database)) as db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").fetchone() is None:
            return 0
        count: int = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        return count


def assert_refused(result: subprocess.CompletedProcess[str], home: Path, *expected: str) -> None:
    """The command exited 1 with a message (no traceback) holding every ``expected`` text, and recorded nothing."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    assert recorded(home) == 0


def test_help_lists_the_commands(home: Path) -> None:
    """`muster --help` names every user-facing command."""
    result = muster("--help", home=home)
    assert result.returncode == 0, result.stderr
    for command in ("validate", "schema", "trigger", "log", "verify", "report", "simulator", "demo"):
        assert re.search(rf"^\W*{command}\b", result.stdout, re.MULTILINE), f"{command} missing:\n{result.stdout}"


def test_validate_passes_the_library_and_demo_config(home: Path) -> None:
    """`muster validate` with no arguments checks the library and the demo config, and says how many plans passed."""
    result = muster("validate", home=home)
    assert result.returncode == 0, result.stderr
    assert f"ok: {len(load_playbooks(library_paths()))} playbook(s) valid" in result.stdout


def test_validate_reports_every_problem_as_path_line_col(home: Path, tmp_path: Path) -> None:
    """`muster validate BAD.yaml` exits 1 and prints each of the file's problems as ``path:line:col: message``."""
    bad = tmp_path / "BAD.yaml"
    bad.write_text(BAD_PLAYBOOK, encoding="utf-8")
    result = muster("validate", str(bad), home=home)
    assert result.returncode == 1
    located = re.findall(rf"^{re.escape(str(bad))}:(\d+):(\d+): (.+)$", result.stderr, re.MULTILINE)
    assert [(int(line), int(col)) for line, col, _ in located] == [(4, 1), (13, 11), (18, 15)], result.stderr
    assert "colour" in located[0][2] and "shout" in located[1][2] and "soon" in located[2][2]
    assert "3 problem(s)" in result.stderr


def test_schema_prints_a_json_schema(home: Path) -> None:
    """`muster schema` prints the playbook JSON Schema, with its ``$schema`` key, on stdout."""
    result = muster("schema", home=home)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "$schema" in schema and "steps" in schema["properties"]


def test_trigger_rejects_a_non_integer_count_naming_the_field(home: Path) -> None:
    """`--set deaths=abc` is refused, naming the field, and nothing is recorded."""
    result = muster("trigger", "gas-explosion", "--set", "deaths=abc", "--set", "title=x", home=home)
    assert_refused(result, home, "deaths", "integer")


def test_trigger_rejects_an_unknown_field_listing_the_known_ones(home: Path) -> None:
    """`--set nosuchfield=1` is refused, naming the field and listing the incident's fields."""
    result = muster("trigger", "gas-explosion", "--set", "nosuchfield=1", "--set", "title=x", home=home)
    assert_refused(result, home, "'nosuchfield'", "deaths", "title", "location")


def test_trigger_set_without_equals_shows_the_form_to_use(home: Path) -> None:
    """`--set deaths` (no ``=``) is refused with the ``field=value`` form to write instead."""
    result = muster("trigger", "gas-explosion", "--set", "deaths", "--set", "title=x", home=home)
    assert_refused(result, home, "field=value", "--set deaths=4")


def test_trigger_without_a_title_says_which_set_to_add(home: Path) -> None:
    """An incident without its required title is refused with the ``--set`` that would supply it."""
    assert_refused(muster("trigger", "gas-explosion", "--set", "deaths=1", home=home), home, "--set title=")


def test_trigger_error_text_is_printed_verbatim(home: Path) -> None:
    """Brackets in an error (a value, a path) are printed as written, not read as terminal markup."""
    result = muster("trigger", "gas-explosion", "--set", "[/]x=[bold]1", "--set", "title=x", home=home)
    assert_refused(result, home, "'[/]x=[bold]1'", "unknown incident field '[/]x'")


def test_trigger_incident_file_type_error_is_located(home: Path, tmp_path: Path) -> None:
    """A wrong value in an `--incident` file is reported at FILE:line:col, and nothing is recorded."""
    incident = tmp_path / "incident.yaml"
    incident.write_text("title: 燃气爆炸\ndeaths: abc\ninjuries: -1\n", encoding="utf-8")
    result = muster("trigger", "gas-explosion", "--incident", str(incident), home=home)
    assert_refused(result, home, f"{incident}:2:9: deaths", f"{incident}:3:11: injuries")


def test_trigger_malformed_incident_file_is_located(home: Path, tmp_path: Path) -> None:
    """An `--incident` file that is not valid YAML is reported at FILE:line:col, and nothing is recorded."""
    incident = tmp_path / "incident.yaml"
    incident.write_text("title: 燃气爆炸\ndeaths: [1, 2\n", encoding="utf-8")
    result = muster("trigger", "gas-explosion", "--incident", str(incident), home=home)
    assert_refused(result, home, "YAML syntax")
    assert re.search(rf"{re.escape(str(incident))}:\d+:\d+: YAML syntax", result.stderr), result.stderr


def test_trigger_unknown_playbook_lists_the_known_ids(home: Path) -> None:
    """An unknown playbook id is refused with the ids that exist, and nothing is recorded."""
    result = muster("trigger", "no-such-plan", "--set", "title=x", home=home)
    assert_refused(result, home, "'no-such-plan'", *sorted(load_playbooks(library_paths())))


def test_trigger_with_a_broken_config_is_located(home: Path, tmp_path: Path) -> None:
    """A `--config` folder with a wrong channels.yaml is refused at file:line:col before anything is recorded."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "roster.yaml").write_text((DEMO / "roster.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    channels = config / "channels.yaml"
    channels.write_text("channels:\n  - name: sim-webhook\n    type: carrier-pigeon\n    url: http://x\n")
    result = muster("trigger", "gas-explosion", "--set", "title=x", "--config", str(config), home=home)
    assert_refused(result, home, f"{channels}:3:11: unknown channel type 'carrier-pigeon'", "webhook")
    assert "roster.yaml" not in result.stderr


@pytest.mark.parametrize("command", ["log", "verify"])
def test_unknown_incident_is_a_clear_error(home: Path, command: str) -> None:
    """`muster log` and `muster verify` of an incident not in the log exit 1 naming it and where to look."""
    result = muster(command, "NOPE", home=home)
    assert result.returncode == 1
    assert "no incident 'NOPE' in the action log" in result.stderr and "muster incidents" in result.stderr
    assert "Traceback" not in result.stderr
