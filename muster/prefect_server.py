"""Starting and stopping a local Prefect server on SQLite under Muster's data directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from muster.errors import MusterError

__all__ = ["LocalPrefectServer", "free_port"]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalPrefectServer:
    """``prefect server start`` as a child process; stopped (with its whole group) on exit."""

    def __init__(self, home: Path, *, port: int | None = None, ui: bool = False) -> None:
        self.home = home
        self.port = port or free_port()
        self.ui = ui
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90.0) -> str:
        """Start the server and wait until it answers its health check; return its API URL."""
        prefect_home = self.home / "prefect"
        prefect_home.mkdir(parents=True, exist_ok=True)
        env = os.environ | {
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
        env.pop("PREFECT_API_URL", None)
        command = [
            str(Path(sys.executable).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ui" if self.ui else "--no-ui",
        ]
        log = (self.home / "prefect-server.log").open("ab")
        self._process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise MusterError(
                    f"the Prefect server exited with code {self._process.returncode}; "
                    f"see {self.home / 'prefect-server.log'}"
                )
            try:
                if httpx.get(f"{self.api_url}/health", timeout=1.0).status_code == 200:
                    return self.api_url
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise MusterError(
            f"the Prefect server did not become healthy within {timeout_s:.0f} s; "
            f"see {self.home / 'prefect-server.log'}"
        )

    def stop(self) -> None:
        """Stop the server and everything it started."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def __enter__(self) -> LocalPrefectServer:
        self.start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()
