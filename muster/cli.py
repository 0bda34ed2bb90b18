"""The ``muster`` command line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from muster.errors import IncidentError, MusterError
from muster.settings import Settings, prepare_environment

if TYPE_CHECKING:
    from flows import RunOptions, RunSummary
    from incidents import ActionLog, Entry

__all__ = ["app", "main"]

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


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"MUSTER_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise _fail(f"bad setting: {problems}") from None
    prepare_environment(settings)
    return settings


def _fail(error: MusterError | str, code: int = 1) -> typer.Exit:
    text = escape(str(error))  # paths and values in the message are not Rich markup
    err.print(f"[red]error:[/] {text}" if "\n" not in text else f"[red]error:[/]\n{text}", markup=True)
    return typer.Exit(code)


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="Playbook files or folders; default: all known")] = None,
    config: ConfigOption = None,
) -> None:
    """Check playbooks (and a config directory) and report every problem as path:line:col.

    With a config (--config, MUSTER_CONFIG, or the default), it also checks that every role the
    plans name is held by someone reachable and every http target is configured.
    """
    from flows import load_config, readiness_problems
    from playbooks import Playbook, library_paths, load_playbooks, playbook_paths

    settings = _settings()
    # The library, then the operator's folders (an operator's plan may replace a library plan of the same id).
    groups = [playbook_paths(paths)] if paths else [library_paths(), playbook_paths(settings.playbook_dirs())]
    problems: list[str] = []
    plans: dict[str, Playbook] = {}
    for files in groups:
        try:
            plans |= load_playbooks(files)
        except MusterError as exc:
            problems.append(str(exc))
    if config is not None or paths is None:
        try:
            problems += readiness_problems(plans.values(), load_config(settings.config_dir(config)))
        except MusterError as exc:
            problems.append(str(exc))
    if problems:
        err.print("\n".join(problems), markup=False)
        err.print(f"[red]{sum(p.count(chr(10)) + 1 for p in problems)} problem(s)[/]")
        raise typer.Exit(1)
    out.print(f"ok: {len(plans)} playbook(s) valid")


@app.command()
def schema() -> None:
    """Print the playbook JSON Schema (for editors: yaml-language-server, VS Code)."""
    from playbooks import json_schema

    sys.stdout.write(json_schema() + "\n")


@app.command()
def trigger(
    playbook: Annotated[str, typer.Argument(help="Playbook id (e.g. gas-explosion) or path to a YAML file")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Incident field, e.g. --set deaths=4")] = None,
    incident_file: Annotated[Path | None, typer.Option("--incident", help="Incident as a JSON or YAML file")] = None,
    config: ConfigOption = None,
    drill: Annotated[bool, typer.Option("--drill", help="Run as a drill: messages marked 【演练】/[DRILL]")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with the run's outcome")] = False,
    local: Annotated[bool, typer.Option("--local", help="Run here even if `muster serve` is up")] = False,
) -> None:
    """Report an incident and run its playbook now; prints the outcome and the report's path.

    When `muster serve` runs on this data directory the incident is handed to it (the plan starts
    at once in the warm service); otherwise the plan runs in this process.
    """
    settings = _settings()
    try:
        from flows import find_playbook, load_config, respond
        from incidents import open_action_log, report_incident
        from muster.handoff import hand_off, running_service, wait_for_run
        from muster.incident_input import build_incident

        plan = find_playbook(playbook, settings.playbook_dirs())
        config_dir = settings.config_dir(config)
        load_config(config_dir)  # fail before anything is recorded
        incident = build_incident(file=incident_file, sets=set_ or [], default_type=plan.incident_types[0])
        if drill:
            incident = incident.model_copy(update={"drill": True})
        if incident.type not in plan.incident_types:
            raise IncidentError(
                f"incident type {incident.type!r} is not one {plan.id} handles; "
                f"it handles {', '.join(plan.incident_types)} (set it with --set type=...)"
            )
        options = _run_options(settings, config_dir)
        by_path = "/" in playbook or playbook.endswith((".yaml", ".yml"))
        service = None if local or by_path else running_service(settings.home.resolve())
        if service is not None:
            incident_id = hand_off(*service, plan.id, incident)
            if not as_json:
                out.print(f"incident [bold]{incident_id}[/] handed to the service at {service[0]}; following it …")
            _print_summary(wait_for_run(options.database or Path(options.home) / "muster.db", incident_id), as_json)
            return
        log = open_action_log(options.database or Path(options.home) / "muster.db")
        report_incident(log, incident, source="cli")
        log.close()
        if not as_json:
            out.print(
                f"incident [bold]{incident.id}[/] reported: {incident.title} "
                f"(grade {incident.grade.zh} / {incident.grade.en}); running {plan.id} …"
            )
        summary = asyncio.run(
            respond(incident=incident, playbook=str(Path(playbook).resolve()) if by_path else plan.id, options=options)
        )
    except MusterError as exc:
        raise _fail(exc) from None
    _print_summary(summary, as_json)


def _run_options(settings: Settings, config_dir: Path) -> RunOptions:
    from flows import RunOptions

    (settings.home / "prefect").mkdir(parents=True, exist_ok=True)  # runs need Prefect's home; reading does not
    return RunOptions(
        home=str(settings.home.resolve()),
        config_dir=str(config_dir.resolve()),
        playbook_dirs=[str(p.resolve()) for p in settings.playbook_dirs()],
        database=settings.database_url,
        report_language=settings.report_language,
    )


def _print_summary(summary: RunSummary, as_json: bool) -> None:
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


@app.command()
def resume(
    incident: Annotated[str, typer.Argument(help="Incident id")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with the run's outcome")] = False,
) -> None:
    """Run an incident's plan again after a crash: what was delivered is not sent twice, nothing is skipped."""
    settings = _settings()
    try:
        from flows import playbook_of_run, respond
        from incidents import incident_from_log

        entries = _entries(incident)
        started = [e for e in entries if e.kind == "run.started"]
        if not started:
            raise _fail(f"incident {incident} has no run to resume; use `muster trigger`")
        playbook = playbook_of_run(started[-1])
        options = _run_options(settings, settings.config_dir(config))
        summary = asyncio.run(respond(incident=incident_from_log(entries), playbook=playbook, options=options))
    except MusterError as exc:
        raise _fail(exc) from None
    _print_summary(summary, as_json)


@app.command("log")
def log_(
    incident: Annotated[str, typer.Argument(help="Incident id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON")] = False,
    zone: Annotated[str, typer.Option("--tz", help="Time zone for times shown")] = "Asia/Shanghai",
) -> None:
    """Print an incident's action log: everything that happened, in order."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from muster.timeline import print_timeline, timeline_json

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"unknown time zone {zone!r} for --tz; use an IANA name like Asia/Shanghai or UTC") from None
    entries = _entries(incident)
    if as_json:
        sys.stdout.write(timeline_json(entries) + "\n")
    else:
        print_timeline(out, incident, entries, zone)


@app.command()
def verify(incident: Annotated[str, typer.Argument(help="Incident id")]) -> None:
    """Check an incident's hash chain: exit 0 if intact, 1 naming the first bad entry."""
    entries = _entries(incident)
    try:
        count = _open_log(_settings()).verify(incident)
    except MusterError as exc:
        raise _fail(exc) from None
    out.print(f"ok: {incident}: {count} entries, chain intact, head {entries[-1].hash}")


@app.command()
def report(
    incident: Annotated[str, typer.Argument(help="Incident id")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the PDF")] = None,
    language: Annotated[str, typer.Option("--language", help="zh or en")] = "",
) -> None:
    """Render the incident report PDF from the action log, and chain its hash into the log."""
    from incidents import EntryKind, Outcome, incident_from_log
    from reports import render_incident_report

    settings = _settings()
    entries = _entries(incident)
    language = language or settings.report_language
    target = output or settings.home / "reports" / f"{incident}-{language}.pdf"
    try:
        rendered = render_incident_report(
            incident=incident_from_log(entries), entries=entries, output=target, language=language
        )
        log = _open_log(settings)
        log.record(
            incident,
            EntryKind.REPORT_GENERATED,
            outcome=Outcome.OK,
            detail={
                "path": str(rendered.path),
                "sha256": rendered.sha256,
                "pages": rendered.pages,
                "entries": len(entries),
                "log_head": entries[-1].hash,
                "on_demand": True,
            },
        )
    except MusterError as exc:
        raise _fail(exc) from None
    out.print(f"report: {rendered.path}  ({rendered.pages} pages, sha256 {rendered.sha256})")


@app.command()
def incidents() -> None:
    """List the incidents in the action log, newest first."""
    log = _open_log(_settings())
    for summary in log.incidents():
        out.print(f"{summary.incident_id}  {summary.first_at:%Y-%m-%d %H:%M:%S}Z  {summary.entries} entries")


@app.command()
def simulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8765,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            envvar="MUSTER_WEBHOOK_SECRET", show_envvar=True, help="Standard Webhooks secret (whsec_…) to check"
        ),
    ] = None,
) -> None:
    """Run the responder simulator: loopback twins of the messaging APIs, for demos and tests."""
    from notifications.simulator import serve_forever

    out.print(f"responder simulator on http://127.0.0.1:{port} (control API under /_sim/)")
    serve_forever(port, webhook_secret)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    config: ConfigOption = None,
    prefect_port: Annotated[
        int | None, typer.Option(help="Port of the local Prefect server (default: a free one)")
    ] = None,
    grace: Annotated[float, typer.Option(help="Seconds runs may take to finish on shutdown")] = 30.0,
) -> None:
    """Run the service: intake (JSON, PagerDuty v2, Alertmanager, CAP), plans started at once, /docs for the API.

    Without PREFECT_API_URL it starts a local Prefect server on SQLite under MUSTER_HOME.
    Runs still going at shutdown are resumed on the next start.
    """
    from muster.service import serve as run_service

    settings = _settings()
    try:
        run_service(
            options=_run_options(settings, settings.config_dir(config)),
            host=host,
            port=port,
            prefect_port=prefect_port,
            shutdown_grace_s=grace,
        )
    except MusterError as exc:
        raise _fail(exc) from None


@app.command()
def demo() -> None:
    """Start a local Prefect server and the simulator, trigger gas-explosion, print where to look."""
    from muster.demo import run_demo

    settings = _settings()
    try:
        run_demo(settings, out)
    except MusterError as exc:
        raise _fail(exc) from None


def _open_log(settings: Settings) -> ActionLog:
    from incidents import open_action_log

    try:
        return open_action_log(settings.database_url or settings.home / "muster.db")
    except MusterError as exc:
        raise _fail(exc) from None


def _entries(incident: str) -> list[Entry]:
    settings = _settings()
    if settings.database_url is None and not (settings.home / "muster.db").is_file():
        raise _fail(
            f"no incident {incident!r} in the action log: there is no log at {settings.home / 'muster.db'} yet "
            "(is MUSTER_HOME right? `muster incidents` lists what a log holds)"
        )
    log = _open_log(settings)
    entries = log.entries(incident)
    if not entries:
        raise _fail(f"no incident {incident!r} in the action log; `muster incidents` lists them")
    return entries


def main() -> None:
    """Entry point of the ``muster`` script."""
    app()
