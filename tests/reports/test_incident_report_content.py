"""What the incident report says: the Decree 493 art. 12 items, steps, deadlines, recipients, timeline."""

from __future__ import annotations

from pathlib import Path

from report_samples import GENERATED_AT, gas_explosion, gas_explosion_run, pdfium_text, squeeze

from incidents import Entry, EntryKind, Incident, NewEntry, Outcome, SQLiteActionLog
from reports import extract_text, render_incident_report


def _render(incident: Incident, entries: list[Entry], path: Path, language: str = "zh") -> str:
    render_incident_report(
        incident=incident, entries=entries, output=path, language=language, generated_at=GENERATED_AT
    )
    return squeeze(extract_text(path))


def test_chinese_report_reads_back_title_steps_and_recipients(
    tmp_path: Path, incident: Incident, entries: list[Entry]
) -> None:
    """Rule: Chinese text is embedded so that pypdf and pdfium both read back the title, steps and people."""
    output = tmp_path / "report.pdf"
    text = _render(incident, entries, output)
    pdfium = squeeze(pdfium_text(output))
    for expected in (
        "某燃气公司调压站燃气爆炸事故",
        "组织抢救和救治伤员",
        "1小时内报告县级应急管理部门",
        "张伟",
        "李娜",
    ):
        assert expected in text
        assert expected in pdfium


def test_chinese_report_lists_the_six_decree_493_items(
    tmp_path: Path, incident: Incident, entries: list[Entry]
) -> None:
    """Rule: Decree 493 art. 12 — unit, time/place/scene, account, casualties and loss, measures, other."""
    text = _render(incident, entries, tmp_path / "report.pdf")
    for item in (
        "1.事故发生单位概况",
        "2.事故发生的时间、地点以及事故现场情况",
        "3.事故的简要经过",
        "4.伤亡人数和初步估计的直接经济损失",
        "5.已经采取的措施",
        "6.其他应当报告的情况",
    ):
        assert item in text
    assert "某市燃气有限公司" in text and "国有企业" in text
    assert "2026-11-2910:15:00Asia/Shanghai(UTC+08:00)" in text  # 02:15 UTC named in local time
    assert "死亡3人，失踪1人，重伤（含急性工业中毒）5人，轻伤12人" in text
    assert "¥12,000,000（1,200万元）" in text
    assert "已切断上游气源" in text and "据行动日志已完成的处置步骤" in text
    assert "报告人：王建国138-0000-0000" in text


def test_title_block_names_playbook_level_grade_and_generated_time(
    tmp_path: Path, incident: Incident, entries: list[Entry]
) -> None:
    """Rule: the title block carries playbook and version, response level, grade in both languages, local+UTC time."""
    text = _render(incident, entries, tmp_path / "report.pdf")
    assert "INC-20261129-0215-7f3a9c" in text
    assert "gas-explosion燃气爆炸事故专项应急预案（版本3）" in text
    assert "II二级响应" in text
    assert "较大（relativelyserious）" in text
    assert "2026-11-2914:00:00Asia/Shanghai(UTC+08:00)" in text
    assert "2026-11-2906:00:00UTC" in text
    assert "【演练】" not in text


def test_steps_deadlines_and_recipients_show_outcomes(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: skipped steps give their reason, deadlines say met or missed by how much, recipients their channels."""
    text = _render(incident, entries, tmp_path / "report.pdf", language="en")
    assert "evacuate-school" in text and "skipped" in text and "条件不满足：附近无学校" in text
    assert "HTTP503fromthecitygateway" in text
    assert "27minearly" in text and "25minlate" in text
    assert "县应急管理局值班室" in text and "市应急管理局值班室" in text
    assert "sms→dingtalk" in text and "sms:号码无效(400)" in text
    assert "抢险救援组" in text and "unreachable" in text and "花名册中无人值班" in text


def test_timeline_has_one_row_per_entry(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: the timeline lists every entry of the log with its kind."""
    text = _render(incident, entries, tmp_path / "report.pdf")
    for entry in entries:
        assert entry.kind in text
    assert "张伟·attempt=1·status=429·latency_ms=80·ratelimited" in text


def test_english_report_has_english_headings(tmp_path: Path, incident: Incident, entries: list[Entry]) -> None:
    """Rule: language="en" gives English labels while the incident's own text stays as written."""
    text = _render(incident, entries, tmp_path / "report.pdf", language="en")
    for heading in (
        "Incidentreport(Decree493art.12)",
        "1.Theunit",
        "2.Steps",
        "3.Reportingdeadlines",
        "4.Recipientsandoutcomes",
        "5.Accountability",
        "6.Timeline",
        "7.Integrity",
        "relativelyserious(较大)",
        "¥12,000,000(CNY12million)",
    ):
        assert heading in text
    assert "某燃气公司调压站燃气爆炸事故" in text
    assert "事故发生单位概况" not in text


def test_drill_is_marked_in_both_languages(tmp_path: Path, action_log: SQLiteActionLog) -> None:
    """Rule: a drill's report is marked 【演练】 / [DRILL] so nobody takes it for a real incident."""
    drill = gas_explosion(id="INC-20261129-0900-d0d0d0", drill=True)
    action_log.record_many(drill.id, gas_explosion_run(drill))
    entries = action_log.entries(drill.id)
    assert "【演练】" in _render(drill, entries, tmp_path / "zh.pdf")
    assert "[DRILL]" in _render(drill, entries, tmp_path / "en.pdf", language="en")


def test_report_renders_from_an_empty_log(tmp_path: Path, incident: Incident) -> None:
    """Rule: missing log facts read "not recorded" instead of failing the report."""
    text = _render(incident, [], tmp_path / "report.pdf", language="en")
    assert "Thelogrecordsnosteps." in text
    assert "Thelogholdsnoentries." in text
    assert "Playbooknotrecorded" in text


def _accountability_run(incident: Incident) -> list[NewEntry]:
    """A crew member silent through two rounds, the lead silent too, a task done late, the county report missed."""
    missed = {"recipient_name": "李娜", "recipient_name_en": "Li Na", "role": "crew", "role_name": "抢险队员"}
    return [
        NewEntry(
            EntryKind.ACK_MISSED,
            "muster-crew",
            "li",
            None,
            Outcome.MISSED,
            None,
            {**missed, "role_name_en": "Crew", "rounds": 2, "waited_s": 180.0},
        ),
        NewEntry(
            EntryKind.ESCALATED,
            "muster-crew",
            None,
            None,
            Outcome.OK,
            None,
            {"level": 1, "to": ["zhao"], "names": ["赵队长"], "silent": ["li"], "silent_names": ["李娜"]},
        ),
        NewEntry(
            EntryKind.ACK_MISSED,
            "muster-crew",
            "zhao",
            None,
            Outcome.MISSED,
            None,
            {"recipient_name": "赵队长", "role": "lead", "role_name": "抢险队长", "escalation_level": 1},
        ),
        NewEntry(
            EntryKind.TASK_COMPLETED,
            "close-valve",
            "zhao",
            None,
            Outcome.OK,
            None,
            {"recipient_name": "赵队长", "note": "阀门已关", "via": "link", "late": True},
        ),
        NewEntry(
            EntryKind.DEADLINE_MISSED,
            "report-county",
            None,
            None,
            Outcome.MISSED,
            None,
            {
                "report_to": "县级应急管理部门",
                "deadline": "2026-11-29T03:15:00+00:00",
                "at": "2026-11-29T03:15:00+00:00",
            },
        ),
    ]


def test_accountability_names_who_missed_what_and_whom_it_was_escalated_to(
    tmp_path: Path, action_log: SQLiteActionLog, incident: Incident
) -> None:
    """Rule: 一级抓一级, 失职追责 — each miss by name and role, each climb, late tasks and missed reports."""
    action_log.record_many(incident.id, _accountability_run(incident))
    entries = action_log.entries(incident.id)
    zh = _render(incident, entries, tmp_path / "zh.pdf")
    section = zh[zh.index("五、履职与问责记录") : zh.index("六、行动日志")]
    assert "李娜抢险队员未在规定时间内确认（通知2次，等待180.0秒）" in section
    assert "第1级升级：因李娜未确认，通知赵队长督促落实" in section
    assert "赵队长抢险队长接到第1级升级通知后未确认" in section
    assert "任务逾期后才确认完成（阀门已关）" in section
    assert "未在时限内完成：县级应急管理部门" in section
    en = _render(incident, entries, tmp_path / "en.pdf", language="en")
    section = en[en.index("5.Accountability") : en.index("6.Timeline")]
    assert "LiNaCrewdidnotacknowledgeintime(messaged2times,waited180.0s)" in section


def test_accountability_says_none_when_everyone_answered_in_time(tmp_path: Path, incident: Incident) -> None:
    text = _render(incident, [], tmp_path / "report.pdf")
    assert "无：需确认者均按时确认，各项时限均已遵守。" in text
