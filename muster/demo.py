"""`muster demo`: the whole path on one machine, leaving nothing running."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

from rich.console import Console

from muster.prefect_server import LocalPrefectServer
from muster.settings import Settings

__all__ = ["DEMO_DIR", "run_demo"]

DEMO_DIR = Path(__file__).resolve().parent.parent / "examples" / "demo"
DEMO_SECRET = "whsec_bXVzdGVyLWRlbW8tc2VjcmV0LW5vdC1mb3ItcHJvZCE="


def _follow(console: Console, log_path: Path, incident_id: str, stop: threading.Event) -> None:
    """Print each new action-log entry as it lands (the demo's progress display)."""
    from incidents import open_action_log

    log = open_action_log(log_path)
    shown = 0
    try:
        while not stop.is_set() or shown < len(log.entries(incident_id)):
            for entry in log.entries(incident_id)[shown:]:
                who = entry.detail.get("recipient_name") or entry.recipient or ""
                what = entry.detail.get("reason") or entry.detail.get("title") or entry.detail.get("level") or ""
                console.print(
                    f"  [dim]{entry.seq:>3}[/] {entry.kind:<20} {entry.step or '':<18} "
                    f"{who:<14} {entry.outcome or '':<10} {what}",
                    highlight=False,
                )
                shown = entry.seq
            time.sleep(0.1)
    finally:
        log.close()


def run_demo(settings: Settings, console: Console) -> None:
    """Start the simulator and a Prefect server, trigger gas-explosion, stop both."""
    from flows import RunOptions, prefect_api, respond
    from incidents import open_action_log, report_incident
    from muster.incident_input import build_incident
    from notifications.simulator import SimulatorThread

    home = settings.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    secret = os.environ.get("MUSTER_WEBHOOK_SECRET", DEMO_SECRET)
    started = time.monotonic()
    with SimulatorThread(webhook_secret=secret) as simulator:
        os.environ["MUSTER_RESPONDERS_URL"] = simulator.url
        console.print(f"[bold]1.[/] responder simulator on {simulator.url}")
        server = LocalPrefectServer(home)
        console.print(f"[bold]2.[/] starting a local Prefect server (SQLite under {home / 'prefect'}) …")
        api_url = server.start()
        try:
            console.print(f"   Prefect API at {server.api_url}")
            incident = build_incident(file=DEMO_DIR / "incident.yaml", sets=[], default_type="gas_explosion")
            options = RunOptions(home=str(home), config_dir=str(DEMO_DIR), report_language=settings.report_language)
            log_path = home / "muster.db"
            log = open_action_log(log_path)
            report_incident(log, incident, source="demo")
            console.print(
                f"[bold]3.[/] incident {incident.id}: {incident.title}\n"
                f"   grade {incident.grade.zh} ({incident.grade.en}); running playbook gas-explosion:"
            )
            stop = threading.Event()
            follower = threading.Thread(target=_follow, args=(console, log_path, incident.id, stop), daemon=True)
            follower.start()
            try:
                with prefect_api(api_url):
                    summary = asyncio.run(respond(incident=incident, playbook="gas-explosion", options=options))
            finally:
                stop.set()
                follower.join(timeout=5)
            received = simulator.records()
            valid = sum(1 for r in received if r.get("signature_valid"))
            chain = log.verify(incident.id)
            log.close()
        finally:
            server.stop()
    console.print(
        f"[bold]4.[/] done in {time.monotonic() - started:.1f} s: level {summary.level}, "
        f"{summary.delivered}/{summary.sent} messages delivered; the simulator received "
        f"{len(received)} requests, {valid} with valid signatures; log chain of {chain} entries intact."
    )
    console.print(f"   PDF report:   {summary.report}")
    console.print(f"   timeline:     .venv/bin/muster log {incident.id}")
    console.print(f"   verify chain: .venv/bin/muster verify {incident.id}")
    console.print("   (the Prefect server and the simulator have been stopped)")
