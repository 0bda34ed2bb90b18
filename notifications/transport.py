"""Sending one request: the shared client, a timeout on every attempt, and the ONE mapping of transport errors.

The seam is ``DeliveryClient``, one method: ``send(request, auth, timeout_s)`` signs the
request with the channel's ``httpx.Auth``, sends it, reads at most 64 KiB of the answer
and returns it as one ``httpx.Response`` for the channel's ``parse_response``. Two
implement it:

- ``AiohttpDeliveryClient``, what ``delivery_client()`` opens: an ``aiohttp.ClientSession``.
  On these machines httpx's own pool managed 82 msg/s under concurrency, httpx over an
  aiohttp transport 863/s and raw aiohttp 898/s (DESIGN.md); going to aiohttp directly
  also drops httpx's per-request client machinery from every message's CPU time.
- ``HttpxDeliveryClient``: an ``httpx.AsyncClient`` a caller passes to ``deliver`` (tests
  swap in ``httpx.MockTransport``).

Either raises what its library raises; ``send_once`` bounds each attempt by the channel's
timeout and maps those errors to a ``DeliveryResult`` in one place, ``_transport_failure``.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Final, Protocol

import aiohttp
import httpx
import yarl

from muster.errors import ChannelError
from notifications.channel import Channel
from notifications.message import DeliveryResult, DeliveryStatus

__all__ = ["AiohttpDeliveryClient", "DeliveryClient", "HttpxDeliveryClient", "delivery_client", "send_once"]

MAX_ANSWER_BYTES: Final = 64 * 1024  # how much of an answer's body is read; the rest is dropped
KEEPALIVE_S: Final = 5.0  # an idle connection is closed after this long (httpx's default, what vendors tolerate)
# What a failing connection may raise; everything else is a bug and propagates.
_TRANSPORT_ERRORS = (httpx.TransportError, aiohttp.ClientError, TimeoutError, OSError)
# Headers of the answer that describe its body as it came over the wire, not as it is handed on (decoded, cut).
_WIRE_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


class DeliveryClient(Protocol):
    """Sends one attempt of a request; what ``deliver`` needs of an HTTP client."""

    async def send(self, request: httpx.Request, auth: httpx.Auth | None, timeout_s: float) -> httpx.Response:
        """Sign ``request`` with ``auth``, send it, and return the answer with at most 64 KiB of its body.

        Raises the client library's own errors; ``send_once`` bounds the attempt by ``timeout_s`` and maps them.
        """
        ...


@asynccontextmanager
async def delivery_client(concurrency: int = 100) -> AsyncIterator[DeliveryClient]:
    """The client deliveries share: one aiohttp session, ``concurrency`` connections, no pool timeout."""
    # No pool or session timeouts: deliver's semaphore bounds what waits for a connection (DESIGN.md),
    # and send_once bounds each attempt by the channel's timeout.
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=_tls_context(), keepalive_timeout=KEEPALIVE_S)
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        cookie_jar=aiohttp.DummyCookieJar(),  # one delivery's cookies are never sent with another's
    )
    async with session:
        yield AiohttpDeliveryClient(session)


class AiohttpDeliveryClient:
    """``DeliveryClient`` over an ``aiohttp.ClientSession``; signing runs through the channel's ``httpx.Auth``.

    Every Muster auth signs in one step (one request out, nothing asked of the answer); one
    that asks for a second request is a ChannelError. Proxies come from ``HTTP_PROXY``,
    ``HTTPS_PROXY`` and ``NO_PROXY`` as they were when the client was made, as with httpx.
    """

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        self._proxies = _EnvironmentProxies()

    async def send(self, request: httpx.Request, auth: httpx.Auth | None, timeout_s: float) -> httpx.Response:
        """Sign, send with aiohttp, read at most ``MAX_ANSWER_BYTES``; ``timeout_s`` is left to ``send_once``."""
        if auth is None:
            return await self._exchange(request)
        flow = auth.async_auth_flow(request)
        signed = await anext(flow)
        try:
            response = await self._exchange(signed)
            await flow.asend(response)  # a one-step auth ends here
        except StopAsyncIteration:
            return response
        except BaseException:
            await flow.aclose()
            raise
        await flow.aclose()
        raise ChannelError(
            f"{type(auth).__name__} asked for a second request after the answer; delivery signs in one step "
            "only: sign the request once in auth_flow and yield it once"
        )

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        async with self._session.request(
            request.method,
            yarl.URL(str(url), encoded=True),  # httpx has parsed and encoded it already
            headers=request.headers.multi_items(),
            data=request.content or None,
            allow_redirects=False,
            proxy=self._proxies.for_url(url),
        ) as answer:
            content = await _read_capped(answer.content)
            headers = [(name, value) for name, value in answer.raw_headers if name.lower() not in _WIRE_HEADERS]
        return httpx.Response(answer.status, headers=headers, content=content, request=request)


class HttpxDeliveryClient:
    """``DeliveryClient`` over an ``httpx.AsyncClient`` the caller owns (and closes)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, request: httpx.Request, auth: httpx.Auth | None, timeout_s: float) -> httpx.Response:
        """Send through the client with httpx's own phase timeouts of ``timeout_s``; read at most 64 KiB."""
        request.extensions["timeout"] = httpx.Timeout(timeout_s, pool=None).as_dict()
        response = await self._client.send(request, auth=auth, stream=True)
        body = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= MAX_ANSWER_BYTES:
                    break
        finally:
            await response.aclose()
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _WIRE_HEADERS]
        content = bytes(body[:MAX_ANSWER_BYTES])
        return httpx.Response(response.status_code, headers=headers, content=content, request=response.request)


async def send_once(channel: Channel, request: httpx.Request, http: DeliveryClient) -> DeliveryResult:
    """One attempt within the channel's timeout; the answer read by the channel, transport errors mapped here."""
    timeout_s = channel.config.timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            response = await http.send(request, channel.auth(), timeout_s)
    except _TRANSPORT_ERRORS as exc:
        return _transport_failure(exc, request.url, timeout_s)
    return channel.parse_response(response)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """The CA bundle and ``SSL_CERT_FILE`` handling httpx uses; loaded once a process (it takes ~20 ms)."""
    return httpx.create_ssl_context()


async def _read_capped(stream: aiohttp.StreamReader) -> bytes:
    """At most ``MAX_ANSWER_BYTES`` of a body, so a huge answer cannot exhaust memory; the rest is dropped."""
    body = b""
    while len(body) < MAX_ANSWER_BYTES and not stream.at_eof():
        chunk = await stream.read(MAX_ANSWER_BYTES - len(body))
        if not chunk:
            break
        body += chunk
    return body


class _EnvironmentProxies:
    """The proxy for a url from ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY``, read once, as httpx does."""

    def __init__(self) -> None:
        found = urllib.request.getproxies()  # the *_proxy environment variables, either case
        self._proxies: dict[str, str] = {scheme: found[scheme] for scheme in ("http", "https") if scheme in found}
        entries = (entry.strip().lower() for entry in found.get("no", "").split(","))
        self._no_proxy = tuple(entry.lstrip(".") for entry in entries if entry)

    def for_url(self, url: httpx.URL) -> str | None:
        """The proxy to send ``url`` through, or None to go direct."""
        if not self._proxies:
            return None
        host = url.host.lower()
        if any(entry == "*" or host == entry or host.endswith("." + entry) for entry in self._no_proxy):
            return None
        return self._proxies.get(url.scheme)


def _transport_failure(exc: BaseException, url: httpx.URL, timeout_s: float) -> DeliveryResult:
    """The one mapping of transport errors to results; the reason names the host, never the path or query."""
    origin = f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return DeliveryResult(DeliveryStatus.RETRY, f"no answer from {origin} within {timeout_s:g} s")
    detail = _without_url(str(exc), url) or type(exc).__name__
    if isinstance(exc, httpx.UnsupportedProtocol | aiohttp.InvalidURL):
        return DeliveryResult(DeliveryStatus.FAILED, f"the channel url cannot be used: {detail}")
    if isinstance(exc, httpx.ConnectError | aiohttp.ClientConnectorError | ConnectionRefusedError):
        return DeliveryResult(DeliveryStatus.RETRY, f"could not connect to {origin}: {detail}")
    return DeliveryResult(DeliveryStatus.RETRY, f"connection to {origin} failed: {type(exc).__name__}: {detail}")


def _without_url(text: str, url: httpx.URL) -> str:
    """``text`` with the url's path and query cut out: they may hold a channel's token.

    An error may quote the url as signed (DingTalk and Aliyun add a signature to the query):
    any url on the same origin is cut after the origin first.
    """
    origin = f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"
    text = re.sub(re.escape(origin) + r"[/?][^\s'\"<>]*", "…", text)
    for piece in sorted({str(url), url.raw_path.decode("ascii", "replace"), url.path}, key=len, reverse=True):
        if len(piece) > 1:
            text = text.replace(piece, "…")
    return text.strip()
