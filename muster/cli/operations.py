"""Commands that run things or show who is on duty: oncall, serve, simulator, demo."""

from __future__ import annotations

from typing import Annotated

import typer

from muster.cli.console import (
    ConfigOption,
    app,
    fail,
    load_settings,
    out,
    run_options,
)
from muster.errors import MusterError

__all__: list[str] = []


@app.command()
def oncall(
    role: Annotated[str | None, typer.Argument(help="A role; default: every role")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When, ISO 8601 with a zone; default: now")] = None,
    config: ConfigOption = None,
) -> None:
    """Show who is on duty for a role (rotations, overrides and the roster), now or at a given time."""
    from datetime import UTC, datetime

    from rich.table import Table

    from flows import load_config
    from muster.oncall_view import oncall_table

    settings = load_settings()
    try:
        when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        raise fail(f"--at {at!r} is not a time; write it like 2026-12-31T20:00+08:00") from None
    if when.tzinfo is None:
        raise fail(f"--at {at!r} needs a time zone, e.g. +08:00")
    try:
        roster = load_config(settings.config_dir(config)).roster
    except MusterError as exc:
        raise fail(exc) from None
    rows = oncall_table(roster, role, when)
    if not rows:
        raise fail(f"nobody holds role {role!r} at {when.isoformat()}" if role else "the roster names no roles")
    table = Table(title=f"on duty at {when.isoformat(timespec='minutes')}")
    for column in ("role", "person", "name", "title", "source", "until", "contacts"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["role"],
            row["person"],
            row["name"],
            row.get("title") or "",
            row["source"],
            row.get("shift_until") or "",
            ", ".join(row.get("contacts") or []),
        )
    out.print(table)


@app.command()
def simulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8765,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            envvar="MUSTER_WEBHOOK_SECRET", show_envvar=True, help="Standard Webhooks secret (whsec_…) to check"
        ),
    ] = None,
    ack_after: Annotated[
        float | None,
        typer.Option(help="Everyone answers their ack links this many seconds after a message arrives"),
    ] = None,
) -> None:
    """Run the responder simulator: loopback twins of the messaging APIs, for demos and tests.

    Script people who answer ack links with POST /_sim/responders {"match", "after_ms", "skip", "note", "via"};
    GET /_sim/answers lists the answers sent.
    """
    from notifications.simulator import SimResponder, serve_forever

    out.print(f"responder simulator on http://127.0.0.1:{port} (control API under /_sim/)")
    responders = [] if ack_after is None else [SimResponder(after_ms=round(ack_after * 1000))]
    serve_forever(port, webhook_secret, responders=responders)


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

    settings = load_settings()
    try:
        run_service(
            options=run_options(settings, settings.config_dir(config)),
            host=host,
            port=port,
            prefect_port=prefect_port,
            shutdown_grace_s=grace,
        )
    except MusterError as exc:
        raise fail(exc) from None


@app.command()
def demo() -> None:
    """Start a local Prefect server and the simulator, trigger gas-explosion, print where to look."""
    from muster.demo import run_demo

    settings = load_settings()
    (settings.home / "prefect").mkdir(parents=True, exist_ok=True)  # before Prefect is imported, or it warns
    try:
        run_demo(settings, out)
    except MusterError as exc:
        raise fail(exc) from None
