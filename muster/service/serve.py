"""`muster serve`: the one long-running process that takes incidents from every source."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import secrets
import signal
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from pydantic import SecretStr

from flows import RunOptions, load_config, prefect_api
from muster.heap import settle_heap
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


def _ack_key(home: Path) -> bytes:
    from responders import ack_key

    return ack_key(home)


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
            _run_off_the_main_thread(
                lambda stopper: _serve(options, config, api_url, host, port, shutdown_grace_s, stopper)
            )
    finally:
        if server is not None:
            server.stop()


class _Stopper:
    """SIGINT/SIGTERM caught on the main thread, handed to the uvicorn server running in the service's thread."""

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None
        self.signals: list[int] = []

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)
        if self.server is not None:
            self.server.handle_exit(signum, frame)  # only sets flags; a second SIGINT forces the exit

    def attach(self, server: uvicorn.Server) -> None:
        self.server = server
        if self.signals:  # a signal came while the service was starting
            server.should_exit = True


def _run_off_the_main_thread(service: Callable[[_Stopper], Coroutine[Any, Any, None]]) -> None:
    """Run the service's event loop in a thread; the main thread only turns SIGINT/SIGTERM into a graceful stop.

    A flow run started on the main thread installs Prefect's own SIGTERM handler (``capture_sigterm``
    in ``prefect.utilities.engine``), which raises ``TerminationSignal`` wherever the main thread is:
    with a run in flight, SIGTERM crashed the whole service instead of letting its runs finish.
    Off the main thread Prefect installs no handler, and uvicorn neither installs one nor re-raises
    the signal after shutting down (which killed the process, exit 143, before its cleanup ran).
    """
    stopper = _Stopper()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(service(stopper))
        except BaseException as exc:  # raised again on the main thread below
            failure.append(exc)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="muster-service")
    previous = {sig: signal.signal(sig, stopper.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.5)  # the main thread wakes up for signals
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failure:
        raise failure[0]


async def _serve(
    options: RunOptions, config: ServiceConfig, api_url: str, host: str, port: int, grace_s: float, stopper: _Stopper
) -> None:
    home = Path(options.home)
    url = f"http://{host}:{port}"
    # The service takes answers (ack links, the JSON API): its runs wait for them, repeat and escalate.
    # Links point at MUSTER_PUBLIC_URL (service.yaml public_url), else at this address.
    options = options.model_copy(update={"await_answers": True, "public_url": options.public_url or url})
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
        ack_keys=[_ack_key(home)],
        shutdown_grace_s=grace_s,
    )
    state.on_ready.append(settle_heap)  # warm: the app, Prefect and the plans are loaded
    state.on_ready.append(lambda: _write_service_file(home, url, token))
    state.on_stop.append(lambda: (home / SERVICE_FILE).unlink(missing_ok=True))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state), host=host, port=port, log_level="info", timeout_graceful_shutdown=int(grace_s) + 5
        )
    )
    stopper.attach(server)
    try:
        await server.serve()
    finally:
        (home / SERVICE_FILE).unlink(missing_ok=True)
        log.close()
