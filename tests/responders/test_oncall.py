"""On-call: rotations hand over at a local time (DST included), overrides outrank them, mistakes are located."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from flows import load_config
from muster.errors import ConfigError
from responders import DutySource, Override, Roster, Rotation

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CHANNELS = """\
channels:
  - name: sim
    type: webhook
    url: http://127.0.0.1:8765/webhook/muster
"""


def shanghai(text: str) -> datetime:
    """A Shanghai wall-clock time, e.g. ``2026-01-06 08:30``."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def people(*ids: str, roles: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """Roster entries for ``ids``, each holding the roles ``roles`` gives it."""
    return [{"id": i, "name": i.title(), "roles": (roles or {}).get(i, [])} for i in ids]


def daily(**fields: Any) -> dict[str, Any]:
    """A daily 08:30 Shanghai rotation of a, b, c for duty_officer from 5 January 2026, with changes."""
    base = {
        "role": "duty_officer",
        "people": ["a", "b", "c"],
        "every": "daily",
        "handoff": "08:30",
        "timezone": "Asia/Shanghai",
        "start": "2026-01-05",
    }
    return base | fields


def roster(*rotations: dict[str, Any], overrides: list[dict[str, Any]] | None = None) -> Roster:
    """A roster of a, b, c, d (and x holding duty_officer) with the given rotations and overrides."""
    return Roster.model_validate(
        {
            "people": people("a", "b", "c", "d", "x", roles={"x": ["duty_officer"]}),
            "rotations": list(rotations),
            "overrides": overrides or [],
        }
    )


def on(r: Roster, at: datetime, role: str = "duty_officer") -> list[str]:
    """The ids of who is on duty for ``role`` at ``at``."""
    return [p.id for p in r.on_duty(role, at)]


def write_config(folder: Path, roster_text: str) -> Path:
    """A config directory with this roster.yaml and a one-webhook channels.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roster.yaml").write_text(roster_text, encoding="utf-8")
    (folder / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
    return folder


def position(text: str, needle: str) -> tuple[int, int]:
    """The 1-based line and column where ``needle`` first starts in ``text``."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def the_problem(folder: Path) -> tuple[str, int, int, str]:
    """The single problem load_config reports for ``folder``, as (file name, line, column, message)."""
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    assert len(info.value.problems) == 1, info.value.problems
    problem = info.value.problems[0]
    return Path(problem.path).name, problem.line, problem.column, problem.message


def test_daily_handoff_happens_exactly_at_the_local_handoff_time() -> None:
    """At 08:30 Shanghai time the next person takes over; at 08:29 the previous one is still on."""
    r = roster(daily())
    assert on(r, shanghai("2026-01-06 08:29")) == ["a"]
    assert on(r, shanghai("2026-01-06 08:30")) == ["b"]
    assert on(r, datetime(2026, 1, 6, 0, 30, tzinfo=UTC)) == ["b"]  # the same instant, asked in UTC


def test_daily_rotation_goes_round_the_people_in_order() -> None:
    """After the last person the first one comes back, day after day."""
    r = roster(daily())
    assert [on(r, shanghai(f"2026-01-{day:02d} 12:00"))[0] for day in range(5, 12)] == list("abcabca")


def test_weekly_rotation_hands_over_on_its_weekday() -> None:
    """A weekly rotation changes hands on its weekday at the hand-over time, and not on other days."""
    r = roster(daily(every="weekly", weekday="thursday", handoff="09:00", start="2026-01-08"))
    assert on(r, shanghai("2026-01-12 12:00")) == ["a"]  # the Monday in between
    assert on(r, shanghai("2026-01-15 08:59")) == ["a"]
    assert on(r, shanghai("2026-01-15 09:00")) == ["b"]
    assert on(r, shanghai("2026-01-22 09:00")) == ["c"]
    assert on(r, shanghai("2026-01-29 09:00")) == ["a"]


def test_weekly_rotation_must_start_on_its_weekday() -> None:
    """A weekly rotation whose start date is not its hand-over weekday is refused, naming both days."""
    with pytest.raises(ValidationError, match=r"start 2026-01-07 is a wednesday.*hands over on mondays"):
        Rotation.model_validate(daily(every="weekly", start="2026-01-07"))


def test_weekday_on_a_daily_rotation_is_refused() -> None:
    """A weekday on a daily rotation means nothing, so it is an error rather than silently ignored."""
    with pytest.raises(ValidationError, match="weekday applies to weekly rotations only"):
        Rotation.model_validate(daily(weekday="friday"))


def test_rotation_keeps_its_local_handoff_time_across_daylight_saving() -> None:
    """In Berlin the 08:00 hand-over stays at 08:00 local when the clocks go forward and back."""
    rotation = Rotation.model_validate(
        daily(people=["a", "b"], handoff="08:00", timezone="Europe/Berlin", start="2026-03-27")
    )
    spring = rotation.shift_at(datetime(2026, 3, 29, 6, 0, tzinfo=UTC))  # 08:00 CEST, the first summer day
    assert spring is not None
    assert (spring.person_id, spring.number) == ("a", 2)
    assert spring.starts_at.astimezone(BERLIN).time() == time(8, 0)
    just_before = rotation.shift_at(datetime(2026, 3, 29, 5, 59, tzinfo=UTC))
    assert just_before is not None and just_before.person_id == "b"
    assert just_before.ends_at == spring.starts_at
    assert (just_before.ends_at - just_before.starts_at).total_seconds() == 23 * 3600  # the short night
    autumn = rotation.shift_at(datetime(2026, 10, 25, 12, 0, tzinfo=UTC))
    assert autumn is not None
    assert (autumn.ends_at - autumn.starts_at).total_seconds() == 24 * 3600
    long_night = rotation.shift_at(datetime(2026, 10, 25, 3, 0, tzinfo=UTC))
    assert long_night is not None
    assert (long_night.ends_at - long_night.starts_at).total_seconds() == 25 * 3600
    assert long_night.ends_at.astimezone(BERLIN).time() == time(8, 0)


def test_handoff_in_the_hour_the_clock_skips_falls_after_the_jump() -> None:
    """A 02:30 hand-over on the night Berlin skips 02:00–03:00 happens at 03:30 summer time."""
    rotation = Rotation.model_validate(
        daily(people=["a", "b"], handoff="02:30", timezone="Europe/Berlin", start="2026-03-28")
    )
    assert rotation.handoff_on(date(2026, 3, 29)).astimezone(BERLIN).isoformat() == "2026-03-29T03:30:00+02:00"


def test_before_the_first_handoff_the_roster_holders_answer() -> None:
    """Until a rotation's first shift starts, whoever holds the role in the roster is on duty."""
    r = roster(daily())
    before = r.duty("duty_officer", shanghai("2026-01-05 08:29"))
    assert [(d.person.id, d.source) for d in before] == [("x", DutySource.ROSTER)]
    assert before[0].until == shanghai("2026-01-05 08:30")
    assert on(r, shanghai("2026-01-05 08:30")) == ["a"]


def test_rotation_people_need_not_list_the_role() -> None:
    """A person on a rotation holds its role only while on shift; holders() still lists the roster's own."""
    r = roster(daily())
    assert [p.id for p in r.holders("duty_officer")] == ["x"]
    assert "duty_officer" in r.roles()
    assert on(r, shanghai("2026-01-07 12:00")) == ["c"]


def test_override_wins_over_the_rotation_and_ends_exactly_at_its_end() -> None:
    """An override puts its person on duty from its start until just before its end, then the rotation resumes."""
    cover = {
        "role": "duty_officer",
        "person": "d",
        "start": "2026-01-06T12:00:00+08:00",
        "end": "2026-01-06T18:00:00+08:00",
        "reason": "病假代班 (sick cover)",
    }
    r = roster(daily(), overrides=[cover])
    assert on(r, shanghai("2026-01-06 11:59")) == ["b"]
    during = r.duty("duty_officer", shanghai("2026-01-06 12:00"))
    assert [(d.person.id, d.source, d.until) for d in during] == [
        ("d", DutySource.OVERRIDE, shanghai("2026-01-06 18:00"))
    ]
    assert on(r, shanghai("2026-01-06 17:59:59")) == ["d"]
    assert on(r, shanghai("2026-01-06 18:00")) == ["b"]
    # The rotation's shift before the override is cut short by it.
    assert r.duty("duty_officer", shanghai("2026-01-06 09:00"))[0].until == shanghai("2026-01-06 12:00")


def test_newest_listed_override_wins_where_two_overlap() -> None:
    """Of two overrides covering the same time, the one listed later decides, and cuts the earlier one short."""
    holiday = {"role": "duty_officer", "person": "c", "reason": "春节值班"}
    swap = {"role": "duty_officer", "person": "d", "reason": "换班"}
    r = roster(
        daily(),
        overrides=[
            holiday | {"start": "2026-02-16T08:30:00+08:00", "end": "2026-02-18T08:30:00+08:00"},
            swap | {"start": "2026-02-17T08:30:00+08:00", "end": "2026-02-17T20:00:00+08:00"},
        ],
    )
    first = r.duty("duty_officer", shanghai("2026-02-16 09:00"))
    assert [(d.person.id, d.until) for d in first] == [("c", shanghai("2026-02-17 08:30"))]
    assert on(r, shanghai("2026-02-17 12:00")) == ["d"]
    assert on(r, shanghai("2026-02-17 20:00")) == ["c"]


def test_override_must_end_after_it_starts_and_carry_a_time_zone() -> None:
    """An override ending at or before its start, or written without an offset, is refused."""
    base = {"role": "r", "person": "a", "reason": "swap"}
    with pytest.raises(ValidationError, match="is not after start"):
        Override.model_validate(base | {"start": "2026-01-02T08:00:00+08:00", "end": "2026-01-02T08:00:00+08:00"})
    with pytest.raises(ValidationError, match="timezone"):
        Override.model_validate(base | {"start": "2026-01-02T08:00:00", "end": "2026-01-03T08:00:00"})


def test_on_duty_refuses_a_time_without_a_zone() -> None:
    """Asking who is on duty at a wall-clock time without a zone is an error, never a guess."""
    with pytest.raises(ValueError, match="has no time zone"):
        roster(daily()).on_duty("duty_officer", datetime(2026, 1, 6, 8, 30))


def test_two_rotations_for_one_role_are_refused() -> None:
    """One role has one rotation; a second is an error at its role."""
    with pytest.raises(ValidationError) as info:
        roster(daily(), daily(people=["d"]))
    assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [
        (("rotations", 1, "role"), "role 'duty_officer' already has a rotation (rotations.0); one per role")
    ]


@pytest.mark.parametrize(
    ("handoff", "message"),
    [
        pytest.param(1110, 'write it in quotes: "18:30"', id="unquoted-18:30-read-as-a-number"),
        pytest.param("24:00", 'is not "HH:MM" on a 24-hour clock', id="hour-24"),
        pytest.param("8.30", 'is not "HH:MM"', id="dot"),
    ],
)
def test_bad_handoff_time_is_refused_with_a_fix(handoff: object, message: str) -> None:
    """A hand-over time that is not HH:MM is refused, and YAML's number reading of 18:30 is explained."""
    with pytest.raises(ValidationError, match=message):
        Rotation.model_validate(daily(handoff=handoff))


def test_unknown_time_zone_is_refused() -> None:
    """A time zone that is not an IANA name is refused and the message shows a good one."""
    with pytest.raises(ValidationError, match="unknown time zone 'Asia/Beijing'; use an IANA name like Asia/Shanghai"):
        Rotation.model_validate(daily(timezone="Asia/Beijing"))


ROSTER_WITH_ROTA = """\
people:
  - {id: chen-jing, name: 陈静}
  - {id: zhang-min, name: 张敏}
rotations:
  - role: duty_officer
    people: [chen-jing, zhang-san]
    every: daily
    handoff: "08:30"
    timezone: Asia/Shanghai
    start: 2026-01-05
overrides:
  - role: duty_officer
    person: zhang-min
    start: 2026-02-16T08:30:00+08:00
    end: 2026-02-17T08:30:00+08:00
    reason: 春节换班
"""


def test_unknown_person_in_a_rotation_is_located_in_roster_yaml(tmp_path: Path) -> None:
    """A rotation naming someone not in people is reported at that name's line and column."""
    folder = write_config(tmp_path, ROSTER_WITH_ROTA)
    name, line, column, message = the_problem(folder)
    assert (name, line, column) == ("roster.yaml", *position(ROSTER_WITH_ROTA, "zhang-san"))
    assert message == "rotations.0.people.1: unknown person 'zhang-san'; add them under people, or correct the id"


def test_unknown_person_in_an_override_is_located_in_roster_yaml(tmp_path: Path) -> None:
    """An override naming someone not in people is reported at its person field."""
    text = ROSTER_WITH_ROTA.replace("zhang-san", "zhang-min").replace("person: zhang-min", "person: li-si")
    name, line, column, message = the_problem(write_config(tmp_path, text))
    assert (name, line, column) == ("roster.yaml", *position(text, "li-si"))
    assert message.startswith("overrides.0.person: unknown person 'li-si'")


def test_unquoted_handoff_time_is_located_in_roster_yaml(tmp_path: Path) -> None:
    """YAML's 18:30 without quotes is a number; the error sits on that value and shows the quoted form."""
    text = ROSTER_WITH_ROTA.replace("zhang-san", "zhang-min").replace('handoff: "08:30"', "handoff: 18:30")
    name, line, column, message = the_problem(write_config(tmp_path, text))
    assert (name, line, column) == ("roster.yaml", *position(text, "18:30"))
    assert message.startswith("rotations.0.handoff: ") and '"18:30"' in message


def test_demo_duty_officers_swap_for_the_spring_festival() -> None:
    """In the demo, 张敏 covers New Year's Eve 2026 and 陈静 New Year's Day, then the rotation resumes."""
    demo = load_config(ROOT / "examples" / "demo").roster
    assert on(demo, shanghai("2026-02-15 12:00")) == ["feng-yu"]
    assert on(demo, shanghai("2026-02-16 12:00")) == ["zhang-min"]
    assert on(demo, shanghai("2026-02-17 12:00")) == ["chen-jing"]
    assert on(demo, shanghai("2026-02-18 12:00")) == ["feng-yu"]
    assert on(demo, shanghai("2026-02-19 12:00")) == ["chen-jing"]
    assert on(demo, shanghai("2026-02-16 12:00"), "duty_leader") == ["gao-jianguo"]
    assert on(demo, shanghai("2026-02-23 09:00"), "duty_leader") == ["xie-lan"]
