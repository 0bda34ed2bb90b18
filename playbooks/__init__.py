"""The plan language: playbook models, the loader with file:line errors, conditions and templates."""

from playbooks.conditions import FACT_NAMES, Condition, parse_condition
from playbooks.durations import Duration, format_duration, parse_duration
from playbooks.loader import library_paths, load_playbook, load_playbooks, playbook_paths
from playbooks.model import (
    AckSpec,
    Deadline,
    HttpStep,
    Language,
    Level,
    LocalizedText,
    NotifyStep,
    Playbook,
    ReportStep,
    Role,
    Step,
    StepKind,
    TaskStep,
    Tier,
    WaitStep,
    localize,
)
from playbooks.plan import PlannedStep, json_schema, plan_steps, response_level
from playbooks.source import Source, load_yaml, load_yaml_model, validate_model
from playbooks.templates import TEMPLATE_NAMES, check_template, render_template

__all__ = [
    "FACT_NAMES",
    "TEMPLATE_NAMES",
    "AckSpec",
    "Condition",
    "Deadline",
    "Duration",
    "HttpStep",
    "Language",
    "Level",
    "LocalizedText",
    "NotifyStep",
    "PlannedStep",
    "Playbook",
    "ReportStep",
    "Role",
    "Source",
    "Step",
    "StepKind",
    "TaskStep",
    "Tier",
    "WaitStep",
    "check_template",
    "format_duration",
    "json_schema",
    "library_paths",
    "load_playbook",
    "load_playbooks",
    "load_yaml",
    "load_yaml_model",
    "localize",
    "parse_condition",
    "parse_duration",
    "plan_steps",
    "playbook_paths",
    "render_template",
    "response_level",
    "validate_model",
]
