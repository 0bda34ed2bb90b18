"""`muster serve`: the one long-running process that takes incidents from every source."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import SecretStr

from flows import RunOptions, load_config, prefect_api
from muster.prefect_server import LocalPrefectServer
from muster.service.app import ServiceState, create_app
from muster.service.config import IntakeSource, ServiceConfig, load_service_config
from muster.service.runs import RunLauncher

__all__ = ["LOCAL_SOURCE", "read_service_file", "serve"]

LOCAL_SOURCE = "local-cli"
SERVICE_FILE = "service.json"


def read_service_file(home: Path) -> dict[str, Any] | None:
    """What a running service left in the data directory for `muster trigger` (url, token), if any."""
    try:
        data = json.loads((home / SERVICE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_service_file(home: Path, url: str, token: str) -> None:
    path = home / SERVICE_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the token lets local users report
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump({"url": url, "token": token, "pid": os.getpid()}, file)


def serve(*, options: RunOptions, host: str, port: int, prefect_port: int | None, shutdown_grace_s: float) -> None:
    """Run the service until SIGINT/SIGTERM; start a local Prefect server first when none is configured."""
    home = Path(options.home)
    home.mkdir(parents=True, exist_ok=True)
    load_config(options.config_dir)  # refuse to start with a broken roster or channel
    config = load_service_config(Path(options.config_dir))
    server = None
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        server = LocalPrefectServer(home, port=prefect_port, ui=True)
        api_url = server.start()
    try:
        with prefect_api(api_url):
            asyncio.run(_serve(options, config, api_url, host, port, shutdown_grace_s))
    finally:
        if server is not None:
            server.stop()


async def _serve(
    options: RunOptions, config: ServiceConfig, api_url: str, host: str, port: int, grace_s: float
) -> None:
    home = Path(options.home)
    token = secrets.token_urlsafe(32)
    local = IntakeSource(
        name=LOCAL_SOURCE, token=SecretStr(token), formats=["muster", "pagerduty", "alertmanager", "cap"]
    )
    log = options.action_log()
    state = ServiceState(
        config=config,
        log=log,
        launcher=RunLauncher(options, log),
        sources=[local, *config.sources],
        prefect_api=api_url,
        shutdown_grace_s=grace_s,
    )
    url = f"http://{host}:{port}"
    state.on_ready.append(lambda: _write_service_file(home, url, token))
    state.on_stop.append(lambda: (home / SERVICE_FILE).unlink(missing_ok=True))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state), host=host, port=port, log_level="info", timeout_graceful_shutdown=int(grace_s) + 5
        )
    )
    try:
        await server.serve()
    finally:
        (home / SERVICE_FILE).unlink(missing_ok=True)
        log.close()
