"""Standard Webhooks 1.0 signing: how Muster signs its generic webhook, and how receivers check it.

    webhook-id:        a stable id per delivery (retries carry the same id)
    webhook-timestamp: seconds since the epoch, fresh on every attempt
    webhook-signature: "v1,<base64 HMAC-SHA256 of 'id.timestamp.body'>" (space-separated list)

The key is the base64-decoded secret after its ``whsec_`` prefix. Receivers allow ±5 minutes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Generator, Mapping

import httpx
from pydantic import SecretStr

from muster.errors import ChannelError

__all__ = [
    "SECRET_PREFIX",
    "StandardWebhooksAuth",
    "sign_standard_webhook",
    "verify_standard_webhook",
    "webhook_id",
]

SECRET_PREFIX = "whsec_"
_VERSION = "v1"


def webhook_id(delivery_key: str) -> str:
    """The ``webhook-id`` of a delivery: stable across retries, opaque to the receiver."""
    return "msg_" + hashlib.sha256(delivery_key.encode()).hexdigest()[:24]


def _signing_key(secret: SecretStr | str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret; the error never quotes the secret."""
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    encoded = value.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ChannelError(
            f"the webhook secret is not valid base64 after its {SECRET_PREFIX!r} prefix; "
            f"generate one as {SECRET_PREFIX!r} + base64 of 24–64 random bytes"
        ) from None
    if not key:
        raise ChannelError("the webhook secret is empty; set a 'whsec_…' secret or remove it")
    return key


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(key, b"%s.%d.%s" % (msg_id.encode(), timestamp, body), hashlib.sha256).digest()


def sign_standard_webhook(secret: SecretStr | str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` value for one message: ``v1,<base64 HMAC-SHA256>``."""
    payload = body.encode() if isinstance(body, str) else body
    digest = _signature(_signing_key(secret), msg_id, timestamp, payload)
    return f"{_VERSION},{base64.b64encode(digest).decode()}"


def verify_standard_webhook(
    secret: SecretStr | str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: float = 300,
) -> bool:
    """Whether the headers carry a valid, fresh signature of ``body`` (constant-time comparison)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and stamp.isdigit() and signatures):
        return False
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = _signature(_signing_key(secret), msg_id, timestamp, body)
    valid = False
    for candidate in signatures.split():
        version, _, encoded = candidate.partition(",")
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Check every candidate, so timing does not tell which one matched.
        valid |= version == _VERSION and hmac.compare_digest(expected, given)
    return valid


class StandardWebhooksAuth(httpx.Auth):
    """Signs each attempt of a request that already carries its ``webhook-id`` header.

    The id comes from the request (the channel derives it from the delivery key), so
    retries keep the id while the timestamp and signature are fresh on every attempt.
    """

    requires_request_body = True

    def __init__(self, secret: SecretStr, *, clock: Callable[[], float] = time.time) -> None:
        self._key = _signing_key(secret)
        self._clock = clock

    def __repr__(self) -> str:
        return "StandardWebhooksAuth(secret=SecretStr('**********'))"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add ``webhook-timestamp`` and ``webhook-signature`` for this attempt."""
        msg_id = request.headers.get("webhook-id")
        if not msg_id:
            raise ChannelError(
                "a request signed with Standard Webhooks has no 'webhook-id' header; "
                "the channel's build_request must set it from the delivery key"
            )
        timestamp = int(self._clock())
        digest = _signature(self._key, msg_id, timestamp, request.content)
        request.headers["webhook-timestamp"] = str(timestamp)
        request.headers["webhook-signature"] = f"{_VERSION},{base64.b64encode(digest).decode()}"
        yield request
