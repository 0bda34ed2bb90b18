"""What every `muster` command shares: the app, the consoles, settings, errors, the action log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from muster.errors import MusterError
from muster.settings import Settings, prepare_environment

if TYPE_CHECKING:
    from flows import RunOptions, RunSummary
    from incidents import ActionLog, Entry

__all__ = [
    "ConfigOption",
    "app",
    "err",
    "fail",
    "incident_entries",
    "load_settings",
    "open_log",
    "out",
    "print_summary",
    "run_options",
]

app = typer.Typer(
    name="muster",
    help="Muster: emergency plans (应急预案) as runnable playbooks. Trigger a plan, follow it, verify its record.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", envvar="MUSTER_CONFIG", show_envvar=True, help="Folder with roster.yaml and channels.yaml"
    ),
]


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"MUSTER_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise fail(f"bad setting: {problems}") from None
    prepare_environment(settings)
    return settings


def fail(error: MusterError | str, code: int = 1) -> typer.Exit:
    text = escape(str(error))  # paths and values in the message are not Rich markup
    err.print(f"[red]error:[/] {text}" if "\n" not in text else f"[red]error:[/]\n{text}", markup=True)
    return typer.Exit(code)


def run_options(settings: Settings, config_dir: Path) -> RunOptions:
    from flows import RunOptions
    from muster.service import load_service_config

    (settings.home / "prefect").mkdir(parents=True, exist_ok=True)  # runs need Prefect's home; reading does not
    return RunOptions(
        home=str(settings.home.resolve()),
        config_dir=str(config_dir.resolve()),
        playbook_dirs=[str(p.resolve()) for p in settings.playbook_dirs()],
        database=settings.database_url,
        report_language=settings.report_language,
        public_url=settings.public_url or load_service_config(config_dir).public_url,
    )


def print_summary(summary: RunSummary, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(summary.model_dump_json() + "\n")
    else:
        out.print(
            f"run {summary.run_id}: level {summary.level}; sent {summary.sent}, delivered "
            f"{summary.delivered}, failed {summary.failed}, unreachable {summary.unreachable}"
        )
        if summary.skipped_steps:
            out.print(f"skipped steps: {', '.join(summary.skipped_steps)}")
        out.print(f"report: {summary.report}")
        out.print(f"timeline: muster log {summary.incident_id}    verify: muster verify {summary.incident_id}")
    if summary.failed_steps:
        raise typer.Exit(1)


def open_log(settings: Settings) -> ActionLog:
    from incidents import open_action_log

    try:
        return open_action_log(settings.database_url or settings.home / "muster.db")
    except MusterError as exc:
        raise fail(exc) from None


def incident_entries(incident: str) -> list[Entry]:
    settings = load_settings()
    if settings.database_url is None and not (settings.home / "muster.db").is_file():
        raise fail(
            f"no incident {incident!r} in the action log: there is no log at {settings.home / 'muster.db'} yet "
            "(is MUSTER_HOME right? `muster incidents` lists what a log holds)"
        )
    log = open_log(settings)
    entries = log.entries(incident)
    if not entries:
        raise fail(f"no incident {incident!r} in the action log; `muster incidents` lists them")
    return entries
