"""Commands about the record: log, verify, report, incidents, ack."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from muster.cli.console import (
    app,
    fail,
    incident_entries,
    load_settings,
    open_log,
    out,
)
from muster.errors import MusterError

__all__: list[str] = []


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
        raise fail(f"unknown time zone {zone!r} for --tz; use an IANA name like Asia/Shanghai or UTC") from None
    entries = incident_entries(incident)
    if as_json:
        sys.stdout.write(timeline_json(entries) + "\n")
    else:
        print_timeline(out, incident, entries, zone)


@app.command()
def verify(incident: Annotated[str, typer.Argument(help="Incident id")]) -> None:
    """Check an incident's hash chain: exit 0 if intact, 1 naming the first bad entry."""
    entries = incident_entries(incident)
    try:
        count = open_log(load_settings()).verify(incident)
    except MusterError as exc:
        raise fail(exc) from None
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

    settings = load_settings()
    entries = incident_entries(incident)
    language = language or settings.report_language
    target = output or settings.home / "reports" / f"{incident}-{language}.pdf"
    try:
        rendered = render_incident_report(
            incident=incident_from_log(entries), entries=entries, output=target, language=language
        )
        log = open_log(settings)
        log.record(
            incident,
            EntryKind.REPORT_GENERATED,
            outcome=Outcome.OK,
            detail=rendered.log_detail(entries) | {"on_demand": True},
        )
    except MusterError as exc:
        raise fail(exc) from None
    out.print(f"report: {rendered.path}  ({rendered.pages} pages, sha256 {rendered.sha256})")


@app.command()
def incidents() -> None:
    """List the incidents in the action log, newest first."""
    log = open_log(load_settings())
    for summary in log.incidents():
        out.print(f"{summary.incident_id}  {summary.first_at:%Y-%m-%d %H:%M:%S}Z  {summary.entries} entries")


@app.command()
def ack(
    token: Annotated[str | None, typer.Argument(help="The token of a message's link (…/ack/TOKEN)")] = None,
    incident: Annotated[str | None, typer.Option(help="Without a token: the incident id")] = None,
    step: Annotated[str | None, typer.Option(help="Without a token: the step id")] = None,
    responder: Annotated[str | None, typer.Option(help="Without a token: the person's id")] = None,
    task: Annotated[bool, typer.Option("--task", help="Confirm a task done instead of acknowledging")] = False,
    note: Annotated[str, typer.Option(help="A note kept with the answer")] = "",
) -> None:
    """Record an acknowledgement (or a task done) for a person: from a link's token, or by naming them."""
    from datetime import UTC, datetime, timedelta

    from flows import record_answer
    from responders import AckClaim, ack_key, read_ack_token

    settings = load_settings()
    try:
        if token is not None:
            claim = read_ack_token(token, [ack_key(settings.home.resolve())], now=datetime.now(UTC))
            via = "cli-link"
        elif incident and step and responder:
            incident_entries(incident)  # the incident must exist
            claim = AckClaim(
                incident_id=incident,
                step_id=step,
                responder_id=responder,
                round=0,
                purpose="task" if task else "ack",
                expires_at=datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1),
            )
            via = f"cli:{os.environ.get('USER', 'operator')}"
        else:
            raise fail("give a token, or --incident, --step and --responder", code=2)
        entry = record_answer(open_log(settings), claim, note=note, via=via)
    except MusterError as exc:
        raise fail(exc) from None
    out.print(
        f"recorded {entry.kind} for {claim.responder_id} on {claim.incident_id}/{claim.step_id} at "
        f"{entry.at.isoformat(timespec='seconds')}"
    )
