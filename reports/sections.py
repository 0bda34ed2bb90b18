"""The sections of the incident report, each a list of flowables built from the incident and its log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reportlab.platypus import Flowable, Paragraph, Spacer

from incidents import Entry, Grade, Incident
from reports.log_summary import AccountabilityRow, DeadlineRow, LogSummary, RecipientRow, StepRow
from reports.markup import Markup, paragraph_markup
from reports.tables import ReportStyles, field_table, grid_tables
from reports.timeline import timeline_rows
from reports.wording import Wording, format_utc, format_yuan, local_time, zone_caption

__all__ = [
    "ReportParts",
    "accountability_section",
    "chain_verdict",
    "deadlines_section",
    "decree_section",
    "integrity_section",
    "recipients_section",
    "steps_section",
    "timeline_section",
    "title_section",
]


@dataclass(frozen=True, slots=True)
class ReportParts:
    """What every section reads: the incident, its log and summary, the words, styles and frame widths."""

    incident: Incident
    entries: Sequence[Entry]
    summary: LogSummary
    words: Wording
    styles: ReportStyles
    width: float
    wide_width: float
    generated_at: datetime
    attachment_sha256: str


def _grade_label(grade: Grade, words: Wording) -> str:
    return words.aside(grade.zh, grade.en) if words.language == "zh" else words.aside(grade.en, grade.zh)


def _heading(text: str, parts: ReportParts) -> Paragraph:
    return Paragraph(paragraph_markup(text), parts.styles.heading)


def _note(text: str, parts: ReportParts) -> Paragraph:
    return Paragraph(paragraph_markup(text), parts.styles.note)


def _times_note(parts: ReportParts) -> Paragraph:
    return _note(parts.words["times_note"].format(zone=zone_caption(parts.generated_at)), parts)


def _short_time(moment: datetime | None) -> str:
    return local_time(moment, seconds=False) if moment else ""


def chain_verdict(parts: ReportParts) -> str:
    """The chain check in one sentence."""
    chain, words = parts.summary.chain, parts.words
    if not chain.entries:
        return words["no_entries"]
    if chain.passed:
        return words["verified"].format(count=chain.entries)
    return words["broken"].format(seq=chain.broken_seq, reason=chain.reason)


def title_section(parts: ReportParts) -> list[Flowable]:
    """Drill banner, title, and the facts that identify the report."""
    incident, run, words, styles = parts.incident, parts.summary.run, parts.words, parts.styles
    story: list[Flowable] = []
    if run.drill:
        story.append(Paragraph(paragraph_markup(words["drill_banner"]), styles.banner))
    marker = f"{words['drill_marker']} " if run.drill else ""
    story.append(Paragraph(paragraph_markup(marker + incident.title), styles.title))
    story.append(Paragraph(paragraph_markup(words["report"]), styles.subtitle))
    playbook = " ".join(p for p in (run.playbook, run.playbook_title) if p) or words["unknown"]
    if run.version:
        playbook = words.aside(playbook, f"{words['version']} {run.version}")
    level = " ".join(p for p in (run.level, run.level_name) if p) or words["unknown"]
    generated = f"{local_time(parts.generated_at)} {zone_caption(parts.generated_at)}\n{format_utc(parts.generated_at)}"
    rows: list[tuple[str, Markup]] = [
        (words["incident_id"], paragraph_markup(incident.id)),
        (words["incident_type"], paragraph_markup(incident.type)),
        (words["playbook"], paragraph_markup(playbook)),
        (words["run"], paragraph_markup(run.run_id or words["unknown"])),
        (words["level"], paragraph_markup(level)),
        (words["grade"], paragraph_markup(_grade_label(run.grade, words))),
        (words["generated"], paragraph_markup(generated)),
        (words["chain_status"], paragraph_markup(chain_verdict(parts))),
    ]
    story.append(field_table(rows, styles, width=parts.width))
    return story


def _measures(parts: ReportParts) -> str:
    words = parts.words
    lines = [parts.incident.measures_taken] if parts.incident.measures_taken else []
    finished = [row for row in parts.summary.steps if row.status == "finished"]
    if finished:
        lines.append(words["steps_done"])
        for row in finished:
            when = f"{local_time(row.ended_at, seconds=False)} " if row.ended_at else ""
            name = words.aside(row.title, row.step) if row.title else row.step
            lines.append(f"· {when}{name}")
    return "\n".join(lines) or words["none"]


def decree_section(parts: ReportParts) -> list[Flowable]:
    """The six items of a Decree 493 art. 12 report."""
    incident, words = parts.incident, parts.words
    unknown = words["unknown"]
    unit = "\n".join(p for p in (incident.unit, incident.unit_profile) if p) or unknown
    time_place = "\n".join(
        [
            words.field("occurred", words.moment(incident.occurred_at)),
            words.field("location", incident.location or unknown),
            words.field("scene", incident.scene or unknown),
        ]
    )
    casualties = "\n".join(
        [
            words["casualties"].format(
                deaths=incident.deaths,
                missing=incident.missing,
                serious=incident.serious_injuries,
                injuries=incident.injuries,
            ),
            words["loss"].format(amount=format_yuan(incident.direct_loss_cny, words.language)),
        ]
    )
    reporter = " ".join(p for p in (incident.reporter, incident.reporter_phone) if p)
    other = "\n".join(p for p in (incident.other, words.field("reporter", reporter) if reporter else "") if p)
    rows: list[tuple[str, Markup]] = [
        (words["i_unit"], paragraph_markup(unit)),
        (words["i_time_place"], paragraph_markup(time_place)),
        (words["i_account"], paragraph_markup(incident.description or unknown)),
        (words["i_casualties"], paragraph_markup(casualties)),
        (words["i_measures"], paragraph_markup(_measures(parts))),
        (words["i_other"], paragraph_markup(other or words["none"])),
    ]
    return [
        _heading(words["s_decree"], parts),
        _note(words["decree_note"], parts),
        field_table(rows, parts.styles, width=parts.width),
    ]


def _fractions(parts: ReportParts, *fractions: float) -> list[float]:
    return [parts.width * f for f in fractions]


def _step_row(row: StepRow, words: Wording) -> list[str]:
    return [
        row.step,
        row.title,
        row.kind,
        words.outcome(row.status),
        _short_time(row.started_at),
        _short_time(row.ended_at),
        row.note,
    ]


def steps_section(parts: ReportParts) -> list[Flowable]:
    """Every step the log saw, its outcome and the reason it was skipped or failed."""
    words = parts.words
    story: list[Flowable] = [_heading(words["s_steps"], parts)]
    if not parts.summary.steps:
        return [*story, _note(words["no_steps"], parts)]
    header = [words[k] for k in ("step", "title", "kind", "status", "started", "finished", "note")]
    rows = [_step_row(row, words) for row in parts.summary.steps]
    widths = _fractions(parts, 0.14, 0.24, 0.08, 0.09, 0.13, 0.13, 0.19)
    return [*story, _times_note(parts), *grid_tables(header, rows, widths=widths, styles=parts.styles, wrap=True)]


def _deadline_row(row: DeadlineRow, words: Wording) -> list[str]:
    margin = ""
    if row.deadline and row.happened:
        seconds = (row.happened - row.deadline).total_seconds()
        label = "late" if seconds > 0 else "early"
        margin = words[label].format(minutes=words.duration(seconds))
    return [
        row.step,
        row.report_to,
        _short_time(row.deadline),
        _short_time(row.happened),
        words.outcome("met" if row.met else "missed"),
        margin,
    ]


def deadlines_section(parts: ReportParts) -> list[Flowable]:
    """Each reporting deadline, when it fell due and when it was met or missed."""
    words = parts.words
    story: list[Flowable] = [_heading(words["s_deadlines"], parts)]
    if not parts.summary.deadlines:
        return [*story, _note(words["no_deadlines"], parts)]
    header = [words[k] for k in ("step", "report_to", "deadline", "happened", "status", "margin")]
    rows = [_deadline_row(row, words) for row in parts.summary.deadlines]
    widths = _fractions(parts, 0.15, 0.25, 0.16, 0.16, 0.1, 0.18)
    return [*story, _times_note(parts), *grid_tables(header, rows, widths=widths, styles=parts.styles, wrap=True)]


def _recipient_row(row: RecipientRow, words: Wording) -> list[str]:
    return [
        row.step,
        row.name,
        row.role,
        " → ".join(row.channels),
        words.outcome(row.outcome),
        str(row.attempts) if row.attempts else "",
        _short_time(row.acked_at),
        "; ".join(row.reasons),
    ]


def recipients_section(parts: ReportParts) -> list[Flowable]:
    """One row per (step, recipient): who was reached, over which channels, after how many attempts."""
    words = parts.words
    story: list[Flowable] = [_heading(words["s_recipients"], parts)]
    if not parts.summary.recipients:
        return [*story, _note(words["no_recipients"], parts)]
    header = [words[k] for k in ("step", "person", "role", "channel", "outcome", "attempts", "acked", "reason")]
    rows = [_recipient_row(row, words) for row in parts.summary.recipients]
    widths = _fractions(parts, 0.12, 0.13, 0.13, 0.12, 0.09, 0.07, 0.12, 0.22)
    return [*story, _times_note(parts), *grid_tables(header, rows, widths=widths, styles=parts.styles, wrap=True)]


def _accountability_row(row: AccountabilityRow, words: Wording) -> list[str]:
    facts = {"rounds": "?", "waited": "?", "level": "?", "names": "", "silent": "", "report_to": "", **row.facts}
    what = words[f"acc_{row.what}"].format(**{k: v or words["unknown"] for k, v in facts.items()})
    if row.what == "task_late" and row.facts.get("note"):
        what = words.aside(what, row.facts["note"])
    return [_short_time(row.at), row.step, row.person, row.role, what]


def accountability_section(parts: ReportParts) -> list[Flowable]:
    """By name: who did not acknowledge, whom it was escalated to, what was late (一级抓一级, 失职追责)."""
    words = parts.words
    story: list[Flowable] = [_heading(words["s_accountability"], parts)]
    if not parts.summary.accountability:
        return [*story, _note(words["no_accountability"], parts)]
    header = [words[k] for k in ("time", "step", "person", "role", "what")]
    header[0] = header[0].format(zone=zone_caption(parts.generated_at))
    rows = [_accountability_row(row, words) for row in parts.summary.accountability]
    widths = _fractions(parts, 0.14, 0.14, 0.14, 0.14, 0.44)
    return [*story, _times_note(parts), *grid_tables(header, rows, widths=widths, styles=parts.styles, wrap=True)]


def timeline_section(parts: ReportParts) -> list[Flowable]:
    """Every entry of the log, in order, in tables of at most 200 rows."""
    words = parts.words
    story: list[Flowable] = [_heading(words["s_timeline"], parts)]
    if not parts.entries:
        return [*story, _note(words["no_entries"], parts)]
    header = [
        words["seq"],
        words["time"].format(zone=zone_caption(parts.generated_at)),
        words["kind"],
        words["step"],
        words["recipient"],
        words["channel"],
        words["outcome"],
        words["detail"],
    ]
    fractions = (0.045, 0.12, 0.12, 0.115, 0.1, 0.075, 0.075, 0.35)
    widths = [parts.wide_width * f for f in fractions]
    rows = timeline_rows(parts.entries, words)
    return [*story, *grid_tables(header, rows, widths=widths, styles=parts.styles, wrap=False)]


def integrity_section(parts: ReportParts) -> list[Flowable]:
    """The chain check: entry count, head hash, verdict, and the attachment's hash."""
    words, chain = parts.words, parts.summary.chain
    rows: list[tuple[str, Markup]] = [
        (words["entries"], paragraph_markup(chain.entries)),
        (words["head_hash"], paragraph_markup(chain.head_hash or words["none"])),
        (words["chain_status"], paragraph_markup(chain_verdict(parts))),
        (words["attachment"], paragraph_markup(parts.attachment_sha256)),
    ]
    return [
        _heading(words["s_integrity"], parts),
        field_table(rows, parts.styles, width=parts.width),
        Spacer(1, 4),
        _note(words["attachment_note"], parts),
    ]
