"""Run the simulator outside an event loop: in a background thread, or in the foreground for the CLI."""

from __future__ import annotations

import asyncio
import copy
import signal
import threading
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar

from muster.errors import ChannelError
from notifications.simulator.responders import SimAnswer, SimResponder
from notifications.simulator.server import Simulator
from notifications.simulator.state import SimRecord, SimScript

__all__ = ["SimulatorThread", "serve_forever"]

_START_TIMEOUT_S: Final = 10.0
_T = TypeVar("_T")


class SimulatorThread:
    """A ``Simulator`` on its own event loop in a background thread, for synchronous code and tests."""

    def __init__(
        self,
        *,
        webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: dict[str, dict[str, str]] | None = None,
        limits: dict[str, tuple[int, float]] | None = None,
    ) -> None:
        self._simulator = Simulator(
            webhook_secret=webhook_secret, host=host, port=port, credentials=credentials, limits=limits
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL of the running simulator."""
        return self._simulator.url

    def start(self) -> str:
        """Start the thread and the server; returns the base URL."""
        if self._thread is not None:
            return self.url
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=_run_loop, args=(loop,), name="muster-simulator", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            return self._call(self._simulator.start)
        except BaseException:
            self._end_thread()
            raise

    def stop(self) -> None:
        """Stop the server and the thread."""
        if self._thread is None:
            return
        try:
            self._call(self._simulator.stop)
        finally:
            self._end_thread()

    def records(self, path: str | None = None) -> list[SimRecord]:
        """A copy of what was received, optionally only at ``path``."""

        async def snapshot() -> list[SimRecord]:
            return [copy.deepcopy(r) for r in self._simulator.records if path is None or r["path"] == path]

        return self._call(snapshot)

    def script(self, path: str = "*", **settings: Any) -> SimScript:
        """Make requests to ``path`` misbehave; ``settings`` are the fields of ``SimScript``."""

        async def apply() -> SimScript:
            return self._simulator.script(path, **settings)

        return self._call(apply)

    def clear_scripts(self, path: str | None = None) -> None:
        """Make ``path`` (or every path) behave again."""

        async def apply() -> None:
            self._simulator.clear_scripts(path)

        self._call(apply)

    def reset(self) -> None:
        """Forget every record, script and rate-limit window, and what each twin keeps (alerts, nonces)."""

        async def apply() -> None:
            self._simulator.reset()

        self._call(apply)

    def respond(self, match: str = "*", **settings: Any) -> SimResponder:
        """Script a person who answers ack links; ``settings`` are the fields of ``SimResponder``."""

        async def apply() -> SimResponder:
            return self._simulator.respond(match, **settings)

        return self._call(apply)

    def clear_responders(self) -> None:
        """Nobody answers any more (answers already scheduled are dropped)."""

        async def apply() -> None:
            self._simulator.clear_responders()

        self._call(apply)

    def answers(self) -> list[SimAnswer]:
        """A copy of the answers scripted responders sent, oldest first."""

        async def snapshot() -> list[SimAnswer]:
            return [copy.deepcopy(a) for a in self._simulator.answers]

        return self._call(snapshot)

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _call(self, function: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        if self._loop is None:
            raise ChannelError("the responder simulator thread is not running; call start() first")
        return asyncio.run_coroutine_threadsafe(function(), self._loop).result(timeout=_START_TIMEOUT_S)

    def _end_thread(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def serve_forever(
    port: int, webhook_secret: str | None, host: str = "127.0.0.1", *, responders: Sequence[SimResponder] = ()
) -> None:
    """Serve the simulator in the foreground until SIGINT or SIGTERM (``muster simulator --port N``)."""
    simulator = Simulator(webhook_secret=webhook_secret, host=host, port=port)
    for responder in responders:
        simulator.respond(**responder.model_dump())
    asyncio.run(_serve(simulator))


async def _serve(simulator: Simulator) -> None:
    url = await simulator.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    print(f"Muster responder simulator listening on {url} (webhooks at {url}/webhook/<name>)", flush=True)
    try:
        await stopped.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await simulator.stop()
