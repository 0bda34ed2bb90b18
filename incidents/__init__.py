"""Incidents: the model, Decree 493 grading, the hash-chained action log, and intake sources."""

from incidents.grading import GRADE_THRESHOLDS, grade_incident
from incidents.log import (
    GENESIS_HASH,
    ActionLog,
    Entry,
    EntryKind,
    IncidentSummary,
    NewEntry,
    Outcome,
    format_time,
    verify_chain,
)
from incidents.model import Grade, Incident, new_incident_id
from incidents.sources import (
    EventAction,
    MappingRule,
    SourceEvent,
    SourceFormat,
    choose_playbook,
    parse_alertmanager,
    parse_cap,
    parse_muster,
    parse_pagerduty,
)
from incidents.sqlite_log import SQLiteActionLog
from incidents.store import (
    CASUALTY_FIELDS,
    close_incident,
    incident_from_log,
    open_action_log,
    report_incident,
    supplementary_window,
    update_incident,
)

__all__ = [
    "CASUALTY_FIELDS",
    "GENESIS_HASH",
    "GRADE_THRESHOLDS",
    "ActionLog",
    "Entry",
    "EntryKind",
    "EventAction",
    "Grade",
    "Incident",
    "IncidentSummary",
    "MappingRule",
    "NewEntry",
    "Outcome",
    "SQLiteActionLog",
    "SourceEvent",
    "SourceFormat",
    "choose_playbook",
    "close_incident",
    "format_time",
    "grade_incident",
    "incident_from_log",
    "new_incident_id",
    "open_action_log",
    "parse_alertmanager",
    "parse_cap",
    "parse_muster",
    "parse_pagerduty",
    "report_incident",
    "supplementary_window",
    "update_incident",
    "verify_chain",
]
