"""Test helpers that ship with the package: `muster serve` as a subprocess, started and stopped cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from muster.prefect_server import free_port

__all__ = ["ServeProcess", "start_serve"]

MUSTER: Final = str(Path(sys.executable).with_name("muster"))
START_TIMEOUT_S: Final = 60.0


@dataclass
class ServeProcess:
    """One `muster serve` process in its own session (process group), with its output in a file."""

    process: subprocess.Popen[bytes]
    url: str
    home: Path
    output: Path

    def tail(self) -> str:
        """The end of what the process printed, for failure messages."""
        return self.output.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self, timeout_s: float) -> tuple[int, float]:
        """SIGTERM the service; return its exit code and how long it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout_s)
        return code, time.monotonic() - started

    def end(self) -> None:
        """Stop it if it still runs (SIGTERM, then SIGKILL for the group); raise if any of its processes remain."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _group_alive(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(self.process.pid):
            raise AssertionError(f"processes of muster serve (group {self.process.pid}) remain")


def start_serve(
    *args: str, home: Path, config: Path, env: dict[str, str], output: Path, cwd: Path | None = None
) -> ServeProcess:
    """Start `muster serve --port <free> --config CONFIG ARGS…` and return once /healthz answers 200.

    ``env`` is added to this process's environment; MUSTER_HOME and MUSTER_PUBLIC_URL are set here.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = os.environ | {"MUSTER_HOME": str(home), "MUSTER_PUBLIC_URL": url} | env
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [MUSTER, "serve", "--port", str(port), "--config", str(config), *args],
            env=environment,
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    serve = ServeProcess(process, url, home, output)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"muster serve exited with {process.returncode}:\n{serve.tail()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return serve
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    serve.end()
    raise AssertionError(f"muster serve did not answer /healthz within {START_TIMEOUT_S:.0f} s:\n{serve.tail()}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
