"""The responder simulator: a real HTTP server on loopback with a twin of each API Muster calls."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Final

from aiohttp import web
from pydantic import SecretStr

from muster.errors import ChannelError
from notifications.signing import StandardWebhooksAuth
from notifications.simulator import (
    aliyun_sms,
    control,
    dingtalk,
    feishu,
    pagerduty,
    slack,
    teams,
    twilio,
    webhook,
    wecom,
)
from notifications.simulator.responders import SimAnswer, SimResponder
from notifications.simulator.state import SimRecord, SimScript, SimState

__all__ = ["Simulator"]

# Each twin is one module whose register() adds its routes; vendor twins join this tuple.
_TWINS: Final[tuple[Callable[[web.Application, SimState], None], ...]] = (
    webhook.register,
    dingtalk.register,
    wecom.register,
    feishu.register,
    aliyun_sms.register,
    slack.register,
    teams.register,
    twilio.register,
    pagerduty.register,
)
_SHUTDOWN_TIMEOUT_S: Final = 2.0


class Simulator:
    """Serve the twins on ``host:port`` (port 0: any free port) from the running event loop."""

    def __init__(
        self,
        *,
        webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: dict[str, dict[str, str]] | None = None,
        limits: dict[str, tuple[int, float]] | None = None,
    ) -> None:
        secret = None if webhook_secret is None else SecretStr(webhook_secret)
        if secret is not None:
            StandardWebhooksAuth(secret)  # refuse a malformed secret now, not on the first request
        self._state = SimState(
            webhook_secret=secret,
            credentials={k: dict(v) for k, v in (credentials or {}).items()},
            limits=dict(limits or {}),
        )
        self.records: list[SimRecord] = self._state.records
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        signed = self._state.webhook_secret is not None
        return f"Simulator(url={self._url!r}, signed={signed}, records={len(self.records)})"

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:41234``; the simulator must be started."""
        if self._url is None:
            raise ChannelError("the responder simulator is not running; await start() first")
        return self._url

    async def start(self) -> str:
        """Start serving; returns the base URL."""
        if self._runner is not None:
            return self.url
        app = web.Application()
        control.register(app, self._state)
        for register in _TWINS:
            register(app, self._state)
        self._state.start()
        # handler_cancellation: a client that gives up on a hang cancels it, as a real server would see.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ChannelError(
                f"the responder simulator could not listen on {self._host}:{self._port}: {exc}; choose another port"
            ) from exc
        host, port = runner.addresses[0][:2]
        self._runner = runner
        self._url = f"http://{_url_host(host)}:{port}"
        return self._url

    async def stop(self) -> None:
        """Stop serving; delays and hangs in progress end at once."""
        if self._runner is None:
            return
        self._state.stop()
        await self._state.responders.close()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    def script(self, path: str = "*", **settings: Any) -> SimScript:
        """Make requests to ``path`` misbehave; ``settings`` are the fields of ``SimScript``."""
        script = SimScript(path=path, **settings)
        self._state.set_script(script)
        return script

    def clear_scripts(self, path: str | None = None) -> None:
        """Make ``path`` (or every path) behave again."""
        self._state.clear_scripts(path)

    def respond(self, match: str = "*", **settings: Any) -> SimResponder:
        """Script a person who answers ack links; ``settings`` are the fields of ``SimResponder``."""
        responder = SimResponder(match=match, **settings)
        self._state.responders.add(responder)
        return responder

    def clear_responders(self) -> None:
        """Nobody answers any more (answers already scheduled are dropped)."""
        self._state.responders.clear()

    @property
    def answers(self) -> list[SimAnswer]:
        """The answers scripted responders sent, oldest first."""
        return self._state.responders.answers

    def reset(self) -> None:
        """Forget every record, script and rate-limit window, and what each twin keeps (alerts, nonces)."""
        self._state.reset()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
