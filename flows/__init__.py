"""Prefect flows and tasks: thin wrappers that sequence the domain packages."""

from flows.catalog import all_playbooks, find_playbook
from flows.config import ChannelsFile, RunConfig, load_config
from flows.prefect_api import prefect_api
from flows.respond import RunOptions, RunSummary, respond

__all__ = [
    "ChannelsFile",
    "RunConfig",
    "RunOptions",
    "RunSummary",
    "all_playbooks",
    "find_playbook",
    "load_config",
    "prefect_api",
    "respond",
]
