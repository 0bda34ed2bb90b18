"""Prefect flows and tasks: thin wrappers that sequence the domain packages."""

from flows.ack_wait import answer_arrived
from flows.answers import AlreadyAnswered, check_unanswered, describe_claim, record_answer
from flows.catalog import all_playbooks, find_playbook
from flows.config import ChannelsFile, RunConfig, load_config
from flows.prefect_api import prefect_api
from flows.readiness import readiness_problems
from flows.respond import RunOptions, RunSummary, SharedPrefectClients, on_run_started, respond
from flows.secrets import resolve_secret
from flows.summary import playbook_of_run, run_finished, summary_from_log

__all__ = [
    "AlreadyAnswered",
    "ChannelsFile",
    "RunConfig",
    "RunOptions",
    "RunSummary",
    "SharedPrefectClients",
    "all_playbooks",
    "answer_arrived",
    "check_unanswered",
    "describe_claim",
    "find_playbook",
    "load_config",
    "on_run_started",
    "playbook_of_run",
    "prefect_api",
    "readiness_problems",
    "record_answer",
    "resolve_secret",
    "respond",
    "run_finished",
    "summary_from_log",
]
