"""`muster trigger` hands the incident to a running `muster serve` when there is one."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from flows import RunSummary, run_finished, summary_from_log
from incidents import Incident, open_action_log
from muster.errors import MusterError
from muster.service import read_service_file

__all__ = ["hand_off", "running_service", "wait_for_run"]


def running_service(home: Path) -> tuple[str, str] | None:
    """(url, token) of a healthy service using this data directory, or None."""
    found = read_service_file(home)
    if not found or not isinstance(found.get("url"), str) or not isinstance(found.get("token"), str):
        return None
    try:
        healthy = httpx.get(f"{found['url']}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return None
    return (found["url"], found["token"]) if healthy else None


def hand_off(url: str, token: str, playbook: str, incident: Incident) -> str:
    """POST the incident to the service; return its incident id (an open one, when the dedup key repeats)."""
    body: dict[str, object] = {
        "playbook": playbook,
        "incident": incident.model_dump(mode="json", exclude={"id", "dedup_key"}),  # the service gives the id
    }
    if incident.dedup_key:
        body["dedup_key"] = incident.dedup_key
    try:
        response = httpx.post(
            f"{url}/v1/incidents",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )
    except httpx.HTTPError as exc:
        raise MusterError(f"the service at {url} did not take the incident: {exc}") from None
    if response.status_code != 202:
        raise MusterError(f"the service at {url} refused the incident ({response.status_code}): {response.text}")
    incident_id = response.json().get("incident_id")
    if not isinstance(incident_id, str):
        raise MusterError(f"the service at {url} answered without an incident id: {response.text}")
    return incident_id


def wait_for_run(log_path: Path | str, incident_id: str, timeout_s: float | None = None) -> RunSummary:
    """Wait until the incident's run has finished (as long as it takes, by default), then read its summary.

    A run that waits for acks and climbs the chain can take an hour; stopping the wait (Ctrl-C) leaves it running.
    """
    log = open_action_log(log_path)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while deadline is None or time.monotonic() < deadline:
            entries = log.entries(incident_id)
            if entries and run_finished(entries):
                return summary_from_log(entries)
            time.sleep(0.2)
    finally:
        log.close()
    raise MusterError(f"incident {incident_id} is still running after {timeout_s:g} s; follow it with muster log")
