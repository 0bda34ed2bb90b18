"""What the report says in each language: labels, outcomes, times with their zone, money in yuan."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from muster.errors import ReportError

__all__ = [
    "LANGUAGES",
    "REPORT_ZONE",
    "Wording",
    "format_utc",
    "format_yuan",
    "local_time",
    "wording_for",
    "zone_caption",
]

LANGUAGES: Final = ("zh", "en")
REPORT_ZONE: Final = ZoneInfo("Asia/Shanghai")

_ZH: Final[dict[str, str]] = {
    "report": "生产安全事故报告",
    "drill_banner": "【演练】本报告记录的是一次演练，不是真实事故。",
    "drill_marker": "【演练】",
    "incident_id": "事件编号",
    "incident_type": "事件类型",
    "playbook": "应急预案",
    "version": "版本",
    "run": "运行编号",
    "level": "响应级别",
    "grade": "事故等级",
    "generated": "报告生成时间",
    "chain_status": "日志校验",
    "page": "第 {page} 页",
    "none": "无",
    "unknown": "未记录",
    "s_decree": "一、事故报告（Decree 493 art. 12 report）",
    "decree_note": "按《生产安全事故报告和调查处理条例》（国务院令第493号）第十二条列出六项内容。",
    "i_unit": "1. 事故发生单位概况",
    "i_time_place": "2. 事故发生的时间、地点以及事故现场情况",
    "i_account": "3. 事故的简要经过",
    "i_casualties": "4. 伤亡人数和初步估计的直接经济损失",
    "i_measures": "5. 已经采取的措施",
    "i_other": "6. 其他应当报告的情况",
    "unit": "单位",
    "occurred": "发生时间",
    "location": "地点",
    "scene": "现场情况",
    "casualties": "死亡 {deaths} 人，失踪 {missing} 人，重伤（含急性工业中毒）{serious} 人，轻伤 {injuries} 人",
    "loss": "直接经济损失（初步估计）：{amount}",
    "steps_done": "据行动日志已完成的处置步骤：",
    "reporter": "报告人",
    "s_steps": "二、处置步骤（Steps）",
    "s_deadlines": "三、报告时限（Deadlines）",
    "s_recipients": "四、通知对象及结果（Recipients and outcomes）",
    "s_accountability": "五、履职与问责记录（Accountability）",
    "s_timeline": "六、行动日志（Timeline）",
    "s_integrity": "七、完整性校验（Integrity）",
    "what": "情况",
    "no_accountability": "无：需确认者均按时确认，各项时限均已遵守。",
    "acc_ack_missed": "未在规定时间内确认（通知{rounds}次，等待{waited}秒）",
    "acc_escalation_missed": "接到第{level}级升级通知后未确认",
    "acc_escalated": "第{level}级升级：因{silent}未确认，通知{names}督促落实",
    "acc_task_late": "任务逾期后才确认完成",
    "acc_deadline_missed": "未在时限内完成：{report_to}",
    "step": "步骤",
    "title": "名称",
    "kind": "类型",
    "status": "结果",
    "started": "开始",
    "finished": "结束",
    "note": "说明",
    "deadline": "时限",
    "happened": "实际",
    "report_to": "报告对象",
    "margin": "提前/超时",
    "early": "提前 {minutes}",
    "late": "超时 {minutes}",
    "person": "人员",
    "role": "角色",
    "channel": "渠道",
    "attempts": "尝试次数",
    "acked": "确认",
    "reason": "原因",
    "seq": "序号",
    "time": "时间（{zone}）",
    "recipient": "对象",
    "outcome": "结果",
    "detail": "摘要",
    "no_steps": "日志中没有步骤记录。",
    "no_deadlines": "日志中没有时限记录。",
    "no_recipients": "日志中没有通知结果记录。",
    "no_entries": "日志中没有记录。",
    "entries": "日志条数",
    "head_hash": "末条哈希",
    "attachment": "附件 action-log.json 的 SHA-256",
    "verified": "通过：哈希链完整，{count} 条记录均与其哈希一致。",
    "broken": "未通过：第 {seq} 条记录校验失败（{reason}）。该条及之后的记录可能被改动。",
    "attachment_note": "完整的行动日志以 JSON 附件 action-log.json 嵌入本 PDF。",
    "times_note": "表中时间为 {zone} 当地时间。",
    "hours_minutes": "{hours} 小时 {minutes} 分钟",
    "minutes": "{minutes} 分钟",
}

_EN: Final[dict[str, str]] = {
    "report": "Work-safety incident report",
    "drill_banner": "[DRILL] This report records a drill, not a real incident.",
    "drill_marker": "[DRILL]",
    "incident_id": "Incident ID",
    "incident_type": "Incident type",
    "playbook": "Playbook",
    "version": "version",
    "run": "Run",
    "level": "Response level",
    "grade": "Accident grade",
    "generated": "Generated",
    "chain_status": "Log integrity",
    "page": "Page {page}",
    "none": "none",
    "unknown": "not recorded",
    "s_decree": "1. Incident report (Decree 493 art. 12)",
    "decree_note": "The six items of a report under State Council Decree No. 493 (2007), art. 12.",
    "i_unit": "1. The unit",
    "i_time_place": "2. Time, place and scene",
    "i_account": "3. Short account",
    "i_casualties": "4. Casualties and first estimate of direct loss",
    "i_measures": "5. Measures taken",
    "i_other": "6. Other",
    "unit": "Unit",
    "occurred": "Occurred",
    "location": "Place",
    "scene": "Scene",
    "casualties": "{deaths} dead, {missing} missing, {serious} seriously injured "
    "(incl. acute industrial poisoning), {injuries} injured",
    "loss": "Direct loss (first estimate): {amount}",
    "steps_done": "Steps the action log shows as finished:",
    "reporter": "Reporter",
    "s_steps": "2. Steps",
    "s_deadlines": "3. Reporting deadlines",
    "s_recipients": "4. Recipients and outcomes",
    "s_accountability": "5. Accountability",
    "s_timeline": "6. Timeline",
    "s_integrity": "7. Integrity",
    "what": "What happened",
    "no_accountability": "None: everyone asked to acknowledge did so in time, and every deadline was met.",
    "acc_ack_missed": "did not acknowledge in time (messaged {rounds} times, waited {waited} s)",
    "acc_escalation_missed": "did not acknowledge escalation level {level}",
    "acc_escalated": "escalation level {level}: {silent} did not acknowledge; {names} told to see it done",
    "acc_task_late": "confirmed the task only after its deadline",
    "acc_deadline_missed": "not done by the deadline: {report_to}",
    "step": "Step",
    "title": "Title",
    "kind": "Kind",
    "status": "Outcome",
    "started": "Started",
    "finished": "Ended",
    "note": "Note",
    "deadline": "Deadline",
    "happened": "Happened",
    "report_to": "Report to",
    "margin": "Margin",
    "early": "{minutes} early",
    "late": "{minutes} late",
    "person": "Person",
    "role": "Role",
    "channel": "Channel",
    "attempts": "Attempts",
    "acked": "Ack",
    "reason": "Reason",
    "seq": "#",
    "time": "Time ({zone})",
    "recipient": "Recipient",
    "outcome": "Outcome",
    "detail": "Detail",
    "no_steps": "The log records no steps.",
    "no_deadlines": "The log records no deadlines.",
    "no_recipients": "The log records no message outcomes.",
    "no_entries": "The log holds no entries.",
    "entries": "Entries",
    "head_hash": "Head hash",
    "attachment": "SHA-256 of the attached action-log.json",
    "verified": "Passed: the hash chain is intact; all {count} entries match their hashes.",
    "broken": "FAILED: entry #{seq} does not verify ({reason}). It and the entries after it may have been altered.",
    "attachment_note": "The complete action log is embedded in this PDF as the JSON attachment action-log.json.",
    "times_note": "Times in the table are local time in {zone}.",
    "hours_minutes": "{hours} h {minutes} min",
    "minutes": "{minutes} min",
}

_OUTCOMES: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "ok": "完成",
        "finished": "完成",
        "started": "未完成",
        "skipped": "已跳过",
        "delivered": "已送达",
        "retry": "重试",
        "rate_limited": "限流",
        "failed": "失败",
        "unreachable": "无法联系",
        "met": "按时",
        "missed": "超时",
    },
    "en": {
        "ok": "done",
        "finished": "done",
        "started": "not finished",
        "skipped": "skipped",
        "delivered": "delivered",
        "retry": "retry",
        "rate_limited": "rate limited",
        "failed": "failed",
        "unreachable": "unreachable",
        "met": "met",
        "missed": "missed",
    },
}


class Wording:
    """The report's words in one language; ``wording["label"]`` or ``wording.outcome("delivered")``."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._labels = _ZH if language == "zh" else _EN
        self._outcomes = _OUTCOMES[language]

    def __getitem__(self, label: str) -> str:
        return self._labels[label]

    def outcome(self, outcome: str | None) -> str:
        """An outcome value (``delivered``, ``missed``...) in words; unknown values as they are."""
        if not outcome:
            return ""
        return self._outcomes.get(outcome, outcome)

    def field(self, label: str, value: str) -> str:
        """``label：value`` in Chinese, ``label: value`` in English."""
        return f"{self[label]}：{value}" if self.language == "zh" else f"{self[label]}: {value}"

    def aside(self, main: str, note: str) -> str:
        """``main（note）`` in Chinese, ``main (note)`` in English."""
        return f"{main}（{note}）" if self.language == "zh" else f"{main} ({note})"

    def duration(self, seconds: float) -> str:
        """A length of time in whole minutes: ``1 小时 5 分钟`` or ``1 h 5 min``."""
        hours, minutes = divmod(round(abs(seconds) / 60), 60)
        if hours:
            return self["hours_minutes"].format(hours=hours, minutes=minutes)
        return self["minutes"].format(minutes=minutes)

    def moment(self, moment: datetime | None) -> str:
        """A time in the report's zone with the zone named, or "not recorded"."""
        return f"{local_time(moment)} {zone_caption(moment)}" if moment else self["unknown"]


def wording_for(language: str) -> Wording:
    """The report's words in ``language``; a ReportError for a language it does not speak."""
    if language not in LANGUAGES:
        raise ReportError(f"unknown report language {language!r}; use one of {', '.join(LANGUAGES)}")
    return Wording(language)


def local_time(moment: datetime, *, seconds: bool = True) -> str:
    """``moment`` in the report's zone as ``2026-11-29 10:15:03``."""
    local = moment.astimezone(REPORT_ZONE)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def zone_caption(moment: datetime) -> str:
    """The report's zone named with its offset: ``Asia/Shanghai (UTC+08:00)``."""
    local = moment.astimezone(REPORT_ZONE)
    offset = local.strftime("%z")
    return f"{REPORT_ZONE.key} (UTC{offset[:3]}:{offset[3:]})"


def format_utc(moment: datetime) -> str:
    """``moment`` in UTC as ``2026-11-29 02:15:03 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_yuan(amount: int, language: str) -> str:
    """Yuan as written in reports: ``¥12,000,000（1,200万元）`` or ``¥12,000,000 (CNY 12 million)``."""
    exact = f"¥{amount:,}"
    if language == "zh":
        if amount < 10_000:
            return f"{exact}（{amount:,}元）"
        wan = f"{amount / 10_000:,.4f}".rstrip("0").rstrip(".")
        return f"{exact}（{wan}万元）"
    if amount < 1_000_000:
        return f"{exact} (CNY {amount:,})"
    millions = f"{amount / 1_000_000:,.2f}".rstrip("0").rstrip(".")
    return f"{exact} (CNY {millions} million)"
