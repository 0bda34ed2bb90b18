"""Commands about plans and runs: validate, schema, trigger, resume."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from muster.cli.console import (
    ConfigOption,
    app,
    err,
    fail,
    incident_entries,
    load_settings,
    out,
    print_summary,
    run_options,
)
from muster.errors import IncidentError, MusterError
from muster.heap import settle_heap

__all__: list[str] = []


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

    settings = load_settings()
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
    settings = load_settings()
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
        options = run_options(settings, config_dir)
        by_path = "/" in playbook or playbook.endswith((".yaml", ".yml"))
        service = None if local or by_path else running_service(settings.home.resolve())
        if service is not None:
            incident_id = hand_off(*service, plan.id, incident)
            if not as_json:
                out.print(f"incident [bold]{incident_id}[/] handed to the service at {service[0]}; following it …")
            print_summary(wait_for_run(options.database or Path(options.home) / "muster.db", incident_id), as_json)
            return
        log = open_action_log(options.database or Path(options.home) / "muster.db")
        report_incident(log, incident, source="cli")
        log.close()
        if not as_json:
            out.print(
                f"incident [bold]{incident.id}[/] reported: {incident.title} "
                f"(grade {incident.grade.zh} / {incident.grade.en}); running {plan.id} …"
            )
        settle_heap()
        summary = asyncio.run(
            respond(incident=incident, playbook=str(Path(playbook).resolve()) if by_path else plan.id, options=options)
        )
    except MusterError as exc:
        raise fail(exc) from None
    print_summary(summary, as_json)


@app.command()
def resume(
    incident: Annotated[str, typer.Argument(help="Incident id")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with the run's outcome")] = False,
) -> None:
    """Run an incident's plan again after a crash: what was delivered is not sent twice, nothing is skipped."""
    settings = load_settings()
    try:
        from flows import playbook_of_run, respond
        from incidents import incident_from_log

        entries = incident_entries(incident)
        started = [e for e in entries if e.kind == "run.started"]
        if not started:
            raise fail(f"incident {incident} has no run to resume; use `muster trigger`")
        playbook = playbook_of_run(started[-1])
        options = run_options(settings, settings.config_dir(config))
        settle_heap()
        summary = asyncio.run(respond(incident=incident_from_log(entries), playbook=playbook, options=options))
    except MusterError as exc:
        raise fail(exc) from None
    print_summary(summary, as_json)
