"""A config directory: the demo loads and covers every plan; every problem is located; secrets never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import RunConfig, load_config
from muster.errors import ConfigError, Problem
from playbooks import Playbook, library_paths, load_playbooks

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
LIBRARY = load_playbooks(library_paths())
SECRET = "whsec_" + "Y29uZmlnLXRlc3Qtc2VjcmV0LW5ldmVyLXNob3duLTEyMzQ="

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
    url: http://127.0.0.1:8765/webhook/muster
"""
# Who the end-to-end test expects to reach in gas-explosion's own roles; no one else may hold them.
GAS_EXPLOSION_HOLDERS = {
    "unit_head": ["li-guoqiang"],
    "site_commander": ["wang-fang", "alex-morgan"],
    "rescue_team": ["zhao-lei"],
    "medical_team": ["sun-li"],
    "gas_control": ["zhou-jun"],
    "evacuation_lead": ["wu-hao"],
    "county_office": ["county-duty"],
    "city_office": ["city-duty"],
}


def write_config(folder: Path, *, roster: str = ROSTER, channels: str = CHANNELS) -> Path:
    """A config directory holding roster.yaml and channels.yaml with the given text."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roster.yaml").write_text(roster, encoding="utf-8")
    (folder / "channels.yaml").write_text(channels, encoding="utf-8")
    return folder


def position(text: str, needle: str) -> tuple[int, int]:
    """The 1-based line and column where ``needle`` first starts in ``text``."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def config_problems(folder: Path) -> tuple[Problem, ...]:
    """The problems ``load_config`` reports for ``folder``; fails the test if it loads."""
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    assert info.value.problems, "a ConfigError from load_config must list its problems"
    return info.value.problems


def roles_used(playbook: Playbook) -> set[str]:
    """Every role a plan declares, messages (``to:``) or escalates to."""
    used = set(playbook.roles)
    for step in playbook.steps:
        used.update(getattr(step, "to", []))
        ack = getattr(step, "ack", None)
        if ack is not None and ack.escalate_to not in (None, "chain"):
            used.add(ack.escalate_to)
    return used


def test_demo_config_loads() -> None:
    """The demo config directory loads with its webhook channel, broadcast target and people."""
    config = load_config(DEMO)
    assert isinstance(config, RunConfig)
    assert set(config.channels) == {"sim-webhook"}
    assert set(config.http_targets) == {"public-broadcast"}
    assert config.http_targets["public-broadcast"].type == "http"
    assert {"li-guoqiang", "wang-fang", "alex-morgan", "county-duty", "city-duty"} <= {
        p.id for p in config.roster.people
    }


@pytest.mark.parametrize("playbook", [pytest.param(LIBRARY[i], id=i) for i in sorted(LIBRARY)])
def test_every_role_of_every_library_plan_is_held_in_the_demo_roster(playbook: Playbook) -> None:
    """Each role a library plan messages or escalates to has at least one holder in the demo roster."""
    roster = load_config(DEMO).roster
    assert sorted(role for role in roles_used(playbook) if not roster.holders(role)) == []


def test_gas_explosion_roles_are_held_by_exactly_the_gas_company_people() -> None:
    """The gas-explosion roles stay with the nine people the end-to-end test expects, in roster order."""
    roster = load_config(DEMO).roster
    assert set(GAS_EXPLOSION_HOLDERS) <= set(LIBRARY["gas-explosion"].roles)
    assert {role: [p.id for p in roster.holders(role)] for role in GAS_EXPLOSION_HOLDERS} == GAS_EXPLOSION_HOLDERS


def test_demo_people_are_reached_on_the_simulator_at_their_id() -> None:
    """Every demo person has one contact, on ``sim-webhook``, addressed by their id, and a title."""
    for person in load_config(DEMO).roster.people:
        assert [(c.channel, c.address) for c in person.contacts] == [("sim-webhook", person.id)], person.id
        assert person.title, person.id
        assert person.roles, person.id


def test_demo_roster_is_chinese_but_for_one_or_two_english_liaisons() -> None:
    """Most demo people read Chinese; one or two English speakers check the English messages."""
    people = load_config(DEMO).roster.people
    english = [p.id for p in people if p.language == "en"]
    assert "alex-morgan" in english
    assert 1 <= len(english) <= 2 < len(people)
    assert all(p.name_en for p in people if p.language == "zh")


def test_env_variable_is_substituted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``${VAR}`` in a config value is replaced by the variable's value."""
    monkeypatch.setenv("MUSTER_TEST_URL", "http://127.0.0.1:9999")
    folder = write_config(tmp_path, channels=CHANNELS.replace("http://127.0.0.1:8765", "${MUSTER_TEST_URL}"))
    assert load_config(folder).channels["sim"].url == "http://127.0.0.1:9999/webhook/muster"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "http://127.0.0.1:7000", id="unset"),
        pytest.param("", "http://127.0.0.1:7000", id="empty"),
        pytest.param("http://10.0.0.1", "http://10.0.0.1", id="set"),
    ],
)
def test_env_default_is_used_when_the_variable_is_unset_or_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str
) -> None:
    """``${VAR:-default}`` gives the default when VAR is unset or empty, and VAR's value otherwise."""
    if value is None:
        monkeypatch.delenv("MUSTER_TEST_URL", raising=False)
    else:
        monkeypatch.setenv("MUSTER_TEST_URL", value)
    channels = CHANNELS.replace("http://127.0.0.1:8765", "${MUSTER_TEST_URL:-http://127.0.0.1:7000}")
    assert load_config(write_config(tmp_path, channels=channels)).channels["sim"].url == f"{expected}/webhook/muster"


def test_unset_env_variable_without_default_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unset ``${VAR}`` with no default is an error at the value's path:line:col, naming the variable."""
    monkeypatch.delenv("MUSTER_TEST_UNSET", raising=False)
    channels = CHANNELS.replace("http://127.0.0.1:8765", "${MUSTER_TEST_UNSET}")
    folder = write_config(tmp_path, channels=channels)
    (problem,) = config_problems(folder)
    assert (problem.path, problem.line, problem.column) == (
        str(folder / "channels.yaml"),
        *position(channels, "${MUSTER_TEST_UNSET}"),
    )
    assert "MUSTER_TEST_UNSET" in problem.message and "not set" in problem.message
    assert str(problem).startswith(f"{folder / 'channels.yaml'}:4:10: ")


def test_unknown_channel_type_is_located_and_names_the_known_types(tmp_path: Path) -> None:
    """An unknown ``type`` is reported at its value, naming the type and the types Muster knows."""
    channels = CHANNELS.replace("type: webhook", "type: carrier-pigeon")
    folder = write_config(tmp_path, channels=channels)
    (problem,) = config_problems(folder)
    assert (problem.line, problem.column) == position(channels, "carrier-pigeon")
    assert "'carrier-pigeon'" in problem.message
    assert "known types:" in problem.message and "webhook" in problem.message and "http" in problem.message


def test_contact_on_an_unknown_channel_is_located_at_the_contact(tmp_path: Path) -> None:
    """A contact naming a channel that channels.yaml lacks is an error at that contact's channel in roster.yaml."""
    roster = ROSTER + (
        "  - id: zhao-lei\n"
        "    name: 赵磊\n"
        "    contacts:\n"
        "      - {channel: sim, address: zhao-lei}\n"
        "      - {channel: pager, address: '1234'}\n"
    )
    folder = write_config(tmp_path, roster=roster)
    (problem,) = config_problems(folder)
    assert (problem.path, problem.line, problem.column) == (str(folder / "roster.yaml"), *position(roster, "pager"))
    assert "unknown channel 'pager'" in problem.message and "sim" in problem.message


def test_duplicate_channel_names_are_rejected_at_the_second(tmp_path: Path) -> None:
    """Two channels with the same name are an error at the second one's name."""
    second = "  - name: sim\n    type: webhook\n    url: http://127.0.0.1:8766/other\n"
    channels = CHANNELS + second
    folder = write_config(tmp_path, channels=channels)
    (problem,) = config_problems(folder)
    assert (problem.line, problem.column) == (CHANNELS.count("\n") + 1, len("  - name: ") + 1)
    assert "duplicate name 'sim'" in problem.message


def test_unknown_field_in_a_channel_entry_is_located_at_its_key(tmp_path: Path) -> None:
    """A misspelt field in a channel entry is reported at the key itself, with the entry's path."""
    channels = CHANNELS + "    max_attempt: 3\n"
    folder = write_config(tmp_path, channels=channels)
    (problem,) = config_problems(folder)
    assert (problem.line, problem.column) == position(channels, "max_attempt:")
    assert problem.message == "channels[0].max_attempt: unknown field"


def test_channel_that_cannot_be_built_is_rejected_at_load(tmp_path: Path) -> None:
    """A url that is not http(s) fails when the config loads, at its entry, not when the first message is due."""
    channels = CHANNELS.replace("http://127.0.0.1:8765/webhook/muster", "ftp://127.0.0.1/muster")
    folder = write_config(tmp_path, channels=channels)
    (problem,) = config_problems(folder)
    assert (problem.line, problem.column) == position(channels, "name: sim")
    assert "channels[0]" in problem.message and "http:// or https://" in problem.message


def test_contacts_of_a_declared_but_broken_channel_get_no_second_error(tmp_path: Path) -> None:
    """A channel entry with a problem is reported once; the contacts that name it are not called unknown."""
    folder = write_config(tmp_path, channels=CHANNELS + "    colour: red\n")
    problems = config_problems(folder)
    assert [p.path for p in problems] == [str(folder / "channels.yaml")]


def test_problems_in_both_files_are_reported_together(tmp_path: Path) -> None:
    """A wrong roster and a wrong channels file give one error listing the problems of both."""
    roster = ROSTER.replace("    roles:", "    rank: 1\n    roles:")
    folder = write_config(tmp_path, roster=roster, channels=CHANNELS + "    colour: red\n")
    problems = config_problems(folder)
    assert {Path(p.path).name for p in problems} == {"roster.yaml", "channels.yaml"}
    assert any("unknown field 'rank'" in p.message for p in problems)


@pytest.mark.parametrize("missing", ["roster.yaml", "channels.yaml"])
def test_missing_file_is_a_clear_error(tmp_path: Path, missing: str) -> None:
    """A config directory without roster.yaml or channels.yaml names the missing file and what belongs there."""
    folder = write_config(tmp_path)
    (folder / missing).unlink()
    (problem,) = config_problems(folder)
    assert problem.path == str(folder / missing)
    assert "missing" in problem.message and "roster.yaml and channels.yaml" in problem.message


def test_missing_directory_names_both_files(tmp_path: Path) -> None:
    """A config directory that does not exist reports both files as missing."""
    problems = config_problems(tmp_path / "nowhere")
    assert [Path(p.path).name for p in problems] == ["roster.yaml", "channels.yaml"]


def secret_config(folder: Path, secret_line: str, extra: str = "") -> Path:
    """A config whose channel reads its secret as written in ``secret_line``."""
    return write_config(folder, channels=f"{CHANNELS}    secret: {secret_line}\n{extra}")


@pytest.mark.parametrize(
    "secret_line",
    [
        pytest.param("${MUSTER_TEST_SECRET}", id="env-substitution"),
        pytest.param("env:MUSTER_TEST_SECRET", id="env-reference"),
    ],
)
def test_secret_is_not_in_the_loaded_config_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret_line: str
) -> None:
    """The loaded config holds the secret, but its repr and str and the channel's JSON show only a mask."""
    monkeypatch.setenv("MUSTER_TEST_SECRET", SECRET)
    config = load_config(secret_config(tmp_path, secret_line))
    channel = config.channels["sim"]
    assert channel.secret is not None and channel.secret.get_secret_value() == SECRET
    for shown in (repr(config), str(config), repr(channel), channel.model_dump_json()):
        assert SECRET not in shown and SECRET.removeprefix("whsec_") not in shown


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("    colour: red\n", id="unknown-field"),
        pytest.param("    max_attempts: 99\n", id="out-of-range"),
        pytest.param("    timeout_s: soon\n", id="wrong-type"),
        pytest.param(f"  - name: sim\n    type: webhook\n    url: http://a\n    secret: {SECRET}\n", id="duplicate"),
        pytest.param(
            f"  - name: other\n    type: pigeon\n    url: http://a\n    secret: {SECRET}\n", id="unknown-type"
        ),
    ],
)
def test_secret_is_not_in_any_error_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    """Whatever is wrong with a channel that carries a secret, the error's text and repr never quote it."""
    monkeypatch.setenv("MUSTER_TEST_SECRET", SECRET)
    folder = secret_config(tmp_path, "${MUSTER_TEST_SECRET}", extra)
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    for shown in (str(info.value), repr(info.value), repr(info.value.problems)):
        assert SECRET not in shown and SECRET.removeprefix("whsec_") not in shown


def test_invalid_secret_is_rejected_without_quoting_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret that is not valid ``whsec_`` base64 fails at load, and the error does not repeat it."""
    bad = "whsec_this-is-not*base64*but-still-secret"
    monkeypatch.setenv("MUSTER_TEST_SECRET", bad)
    with pytest.raises(ConfigError) as info:
        load_config(secret_config(tmp_path, "${MUSTER_TEST_SECRET}"))
    assert "base64" in str(info.value)
    assert "not*base64*but-still-secret" not in str(info.value) + repr(info.value)
