"""`muster oncall` rows: who answers for a role at a time, why, until when, and on which channels."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flows import load_config
from muster.oncall_view import oncall_table

DEMO = load_config(Path(__file__).resolve().parents[2] / "examples" / "demo").roster
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_rotation_row_shows_the_shift_end_in_the_rotation_zone() -> None:
    """A rotation's person is shown with the local time, zone offset included, when the shift ends."""
    at = datetime(2026, 1, 20, 3, 0, tzinfo=ZoneInfo("UTC"))  # 11:00 in Shanghai, the 16th shift
    assert oncall_table(DEMO, "duty_officer", at) == [
        {
            "role": "duty_officer",
            "person": "chen-jing",
            "name": "陈静",
            "title": "县应急管理局值班员",
            "source": "rotation",
            "shift_until": "2026-01-21T08:30+08:00",
            "contacts": ["sim-webhook"],
        }
    ]


def test_override_row_says_override_and_ends_when_the_override_does() -> None:
    """During the Spring Festival swap the row names the cover and the override's end."""
    [row] = oncall_table(DEMO, "duty_officer", datetime(2026, 2, 16, 20, 0, tzinfo=SHANGHAI))
    assert (row["person"], row["source"], row["shift_until"]) == ("zhang-min", "override", "2026-02-17T08:30+08:00")


def test_roster_rows_have_no_end_and_list_every_holder() -> None:
    """A role held in the roster itself lists each holder in roster order, with no shift end."""
    rows = oncall_table(DEMO, "site_commander", datetime(2026, 2, 16, 20, 0, tzinfo=SHANGHAI))
    assert [(r["person"], r["source"], r["shift_until"]) for r in rows] == [
        ("wang-fang", "roster", None),
        ("alex-morgan", "roster", None),
    ]


def test_without_a_role_every_role_is_shown_once_in_roster_order() -> None:
    """With no role given, the table covers every role: the roster's first, then rotations and overrides."""
    rows = oncall_table(DEMO, None, datetime(2026, 2, 16, 20, 0, tzinfo=SHANGHAI))
    roles = list(dict.fromkeys(r["role"] for r in rows))
    assert roles[0] == "unit_head" and roles[-2:] == ["duty_officer", "duty_leader"]
    assert len(roles) == len(DEMO.roles())


def test_a_role_nobody_holds_gives_no_rows() -> None:
    """A role no one holds at that time gives an empty table for the CLI to explain."""
    assert oncall_table(DEMO, "no_such_role", datetime(2026, 2, 16, 20, 0, tzinfo=SHANGHAI)) == []
