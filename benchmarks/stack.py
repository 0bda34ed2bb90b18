"""What the service benchmarks share: percentiles, child processes in their own sessions, waiting for HTTP.

``ack_wait.py`` and ``trigger_latency.py`` each start a Prefect server, the simulator and ``muster serve``
as children; each child carries the run's marker variable (the final sweep finds stragglers by it) and a
role variable (whose CPU time it is). Imported as a sibling module: the benchmarks run as scripts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

import httpx

__all__ = [
    "Children",
    "env_vars",
    "epoch",
    "free_port",
    "log",
    "pct",
    "stopped_cleanly",
    "summary",
    "tail",
    "wait_http",
]

ROOT = Path(__file__).resolve().parent.parent


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """n, p50, p95, p99 and max of some milliseconds."""
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "p99": pct(values, 99),
        "max": max(values) if values else float("nan"),
    }


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class Children:
    """Child processes, each in its own session; stopped with their whole process group."""

    def __init__(self, marker: str, *, marker_var: str, role_var: str) -> None:
        self.marker = marker
        self.marker_var = marker_var  # set on every child: the final sweep finds stragglers by it
        self.role_var = role_var  # which piece a process belongs to, for its CPU time
        self._running: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], *, env: dict[str, str], output: Path, role: str) -> subprocess.Popen[bytes]:
        with output.open("ab") as sink:
            process = subprocess.Popen(
                command,
                env=env | {self.marker_var: self.marker, self.role_var: role},
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
        if process in self._running:
            self._running.remove(process)
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait_s)
                os.killpg(process.pid, 0)  # the leader is gone; anything left in its group?
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
            if sig == signal.SIGTERM:
                time.sleep(0.5)  # let the group's other members finish their shutdown
        process.poll()

    def stop_all(self) -> None:
        for process in reversed(list(self._running)):
            self.stop(process)

    def sweep(self) -> list[int]:
        """Kill any process that still carries this run's marker (a grandchild that left its group)."""
        found = []
        needle = f"{self.marker_var}={self.marker}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry.name))
                with suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)
        if found:
            log(f"warning: killed {len(found)} leftover process(es) of this run: {found}")
        return found


def free_port() -> int:
    from muster.prefect_server import free_port

    return free_port()


def wait_http(url: str, process: subprocess.Popen[bytes], output: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}; see {output}:\n{tail(output)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s; see {output}")


def tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-size:]
    except OSError:
        return ""


@contextmanager
def env_vars(**values: str) -> Iterator[None]:
    """Set environment variables for the block (LocalPrefectServer passes os.environ to the server)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def stopped_cleanly() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, through every ``finally`` (children stopped)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        log("\ninterrupted; every child process was stopped")
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
