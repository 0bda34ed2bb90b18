"""Prefect flows and tasks: thin wrappers that sequence the domain packages."""

from flows.catalog import all_playbooks, find_playbook
from flows.config import ChannelsFile, RunConfig, load_config
from flows.prefect_api import prefect_api
from flows.readiness import readiness_problems
from flows.respond import RunOptions, RunSummary, respond
from flows.secrets import resolve_secret
from flows.summary import playbook_of_run, run_finished, summary_from_log

__all__ = [
    "ChannelsFile",
    "RunConfig",
    "RunOptions",
    "RunSummary",
    "all_playbooks",
    "find_playbook",
    "load_config",
    "playbook_of_run",
    "prefect_api",
    "readiness_problems",
    "resolve_secret",
    "respond",
    "run_finished",
    "summary_from_log",
]
