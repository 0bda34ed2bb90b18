"""A loopback HTTP endpoint that answers every POST after a fixed delay, and counts what arrived.

The benchmarks run it in its own process, so the server does not share a core or an
event loop with the client being measured::

    .venv/bin/python benchmarks/loopback.py --port 0 --delay-ms 100

It prints one JSON line, ``{"port": P, "control_port": Q, "pid": …}``, once it listens:

- ``POST <any path>`` on ``port``: read the body, sleep ``--delay-ms``, answer
  ``200 {"ok":true}``. Paths under ``/warmup/`` are answered but not counted.
- ``GET /count`` on ``control_port`` (or on ``port``): ``{"requests", "distinct", "signed"}``:
  requests counted, distinct message ids among them (the ``webhook-id`` header, else the
  path), and how many carried a ``webhook-signature`` header. ``?ids=1`` adds the ids.
- ``DELETE /count`` on ``control_port``: reset the counts.

Several processes can share ``port`` (``--reuse-port``; the kernel spreads connections
over them), each with its own ``control_port``; whoever started them adds the counts up.
The server exits when its standard input closes, so it never outlives the process that
started it, and on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass, field

from aiohttp import web

WARMUP_PREFIX = "/warmup/"


@dataclass
class Counts:
    """What arrived since the last reset."""

    requests: int = 0
    signed: int = 0
    ids: set[str] = field(default_factory=set)

    def as_dict(self, *, with_ids: bool) -> dict[str, object]:
        """The counts as JSON-ready values."""
        data: dict[str, object] = {"requests": self.requests, "distinct": len(self.ids), "signed": self.signed}
        if with_ids:
            data["ids"] = sorted(self.ids)
        return data


def _apps(delay_s: float) -> tuple[web.Application, web.Application]:
    counts = Counts()

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        if not request.path.startswith(WARMUP_PREFIX):
            counts.requests += 1
            counts.ids.add(request.headers.get("webhook-id") or request.path)
            counts.signed += "webhook-signature" in request.headers
        await asyncio.sleep(delay_s)
        return web.json_response({"ok": True})

    async def show(request: web.Request) -> web.Response:
        return web.json_response(counts.as_dict(with_ids=request.query.get("ids") == "1"))

    async def reset(request: web.Request) -> web.Response:
        counts.requests, counts.signed = 0, 0
        counts.ids.clear()
        return web.json_response(counts.as_dict(with_ids=False))

    endpoint = web.Application(client_max_size=1024 * 1024)
    endpoint.router.add_get("/count", show)
    endpoint.router.add_post("/{tail:.*}", answer)
    control = web.Application()
    control.router.add_get("/count", show)
    control.router.add_delete("/count", reset)
    return endpoint, control


async def serve(host: str, port: int, delay_s: float, *, reuse_port: bool) -> None:
    """Listen until cancelled; print the ports as one JSON line once listening."""
    endpoint, control = _apps(delay_s)
    runners = [web.AppRunner(endpoint, access_log=None), web.AppRunner(control, access_log=None)]
    for runner in runners:
        await runner.setup()
    try:
        site = web.TCPSite(runners[0], host, port, backlog=4096, reuse_port=reuse_port or None)
        await site.start()
        control_site = web.TCPSite(runners[1], host, 0)
        await control_site.start()
        bound = _bound_port(runners[0])
        print(json.dumps({"port": bound, "control_port": _bound_port(runners[1]), "pid": os.getpid()}), flush=True)
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    server = runner.addresses[0]
    return int(server[1])


def _exit_when_stdin_closes() -> None:
    """Exit when the parent goes away (its end of our stdin closes), even if it was killed."""

    def watch() -> None:
        while os.read(0, 4096):  # the raw descriptor: a buffered read would block interpreter shutdown
            pass
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until stdin closes or a signal arrives."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--delay-ms", type=float, default=100.0, help="how long each POST waits before answering")
    parser.add_argument("--reuse-port", action="store_true", help="share --port with other processes")
    parser.add_argument("--watch-stdin", action="store_true", help="exit when standard input closes")
    args = parser.parse_args(argv)
    if args.watch_stdin:
        _exit_when_stdin_closes()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        asyncio.run(serve(args.host, args.port, args.delay_ms / 1000, reuse_port=args.reuse_port))


if __name__ == "__main__":
    main()
