"""Standard Webhooks signing of the generic webhook (shared/domain/channels.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from muster.errors import ChannelError
from notifications import Channel, Message, StandardWebhooksAuth, sign_standard_webhook, verify_standard_webhook
from notifications.channels.webhook import webhook_id

ChannelFactory = Callable[..., Channel]
MessageFactory = Callable[..., Message]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers(signature: str = VECTOR_SIGNATURE, timestamp: int = VECTOR_TS) -> dict[str, str]:
    return {"webhook-id": VECTOR_ID, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def capture(channel_auth: httpx.Auth | None, request: httpx.Request) -> httpx.Request:
    """Send ``request`` through a MockTransport and return a copy of the request as it left the client."""
    sent: list[httpx.Request] = []

    def handler(outgoing: httpx.Request) -> httpx.Response:
        sent.append(httpx.Request("POST", outgoing.url, headers=outgoing.headers.copy(), content=outgoing.content))
        return httpx.Response(200, json={"ok": True})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.send(request, auth=channel_auth)
    return sent[0]


def test_signature_matches_the_standard_webhooks_vector() -> None:
    """Signing the channels.md vector gives exactly its published signature."""
    assert sign_standard_webhook(SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE


def test_signing_accepts_a_secret_str() -> None:
    """A SecretStr secret signs the same as its plain value."""
    assert sign_standard_webhook(SecretStr(SECRET), VECTOR_ID, VECTOR_TS, VECTOR_BODY.decode()) == VECTOR_SIGNATURE


def test_verify_accepts_the_vector_within_five_minutes() -> None:
    """The vector verifies at its own time and up to 300 s either side."""
    for now in (VECTOR_TS, VECTOR_TS - 300, VECTOR_TS + 300):
        assert verify_standard_webhook(SECRET, vector_headers(), VECTOR_BODY, now=now)


def test_verify_rejects_a_timestamp_outside_the_tolerance() -> None:
    """A correct signature more than five minutes old or ahead does not verify."""
    assert not verify_standard_webhook(SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TS + 301)
    assert not verify_standard_webhook(SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TS - 301)


def test_verify_rejects_a_changed_body_id_or_signature() -> None:
    """Any change to body, id or signature fails verification."""
    assert not verify_standard_webhook(SECRET, vector_headers(), b'{"test": 2432232315}', now=VECTOR_TS)
    changed_id = {**vector_headers(), "webhook-id": "msg_other"}
    assert not verify_standard_webhook(SECRET, changed_id, VECTOR_BODY, now=VECTOR_TS)
    assert not verify_standard_webhook(SECRET, vector_headers("v1,AAAA"), VECTOR_BODY, now=VECTOR_TS)
    assert not verify_standard_webhook(SECRET, vector_headers("v1,not base64!"), VECTOR_BODY, now=VECTOR_TS)


def test_verify_finds_the_valid_signature_among_several() -> None:
    """A space-separated list (key rotation) verifies when any v1 entry matches."""
    headers = vector_headers(f"v1,AAAA v2,xyz {VECTOR_SIGNATURE}")
    assert verify_standard_webhook(SECRET, headers, VECTOR_BODY, now=VECTOR_TS)


def test_verify_rejects_missing_headers() -> None:
    """Without id, timestamp or signature nothing verifies."""
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in vector_headers().items() if k != missing}
        assert not verify_standard_webhook(SECRET, headers, VECTOR_BODY, now=VECTOR_TS)


def test_signed_request_verifies_with_the_reference_library(
    make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """The webhook channel's request, as sent, passes the `standardwebhooks` reference verifier."""
    channel = make_channel()
    sent = capture(channel.auth(), channel.build_request(make_message()))
    payload = Webhook(SECRET).verify(sent.content, dict(sent.headers))
    assert payload["delivery_key"] == "inc-1/notify-duty/r1/1"


def test_every_attempt_keeps_the_webhook_id_and_is_signed_afresh(
    make_channel: ChannelFactory, make_message: MessageFactory
) -> None:
    """Retries carry the delivery key's webhook-id, with a fresh timestamp and matching signature."""
    ticks = iter([1_700_000_000, 1_700_000_007])
    auth = StandardWebhooksAuth(SecretStr(SECRET), clock=lambda: next(ticks))
    request = make_channel().build_request(make_message())
    first, second = capture(auth, request), capture(auth, request)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == webhook_id("inc-1/notify-duty/r1/1")
    assert (first.headers["webhook-timestamp"], second.headers["webhook-timestamp"]) == ("1700000000", "1700000007")
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    assert verify_standard_webhook(SECRET, second.headers, second.content, now=1_700_000_007)


def test_unsigned_channel_sends_no_signature(make_channel: ChannelFactory, make_message: MessageFactory) -> None:
    """Without a secret the request has a webhook-id but no timestamp or signature."""
    channel = make_channel(secret=None)
    sent = capture(channel.auth(), channel.build_request(make_message()))
    assert sent.headers["webhook-id"].startswith("msg_")
    assert "webhook-signature" not in sent.headers
    assert json.loads(sent.content)["type"] == "muster.message"


def test_auth_requires_the_webhook_id_header() -> None:
    """Signing a request that lacks webhook-id raises a ChannelError saying who must set it."""
    auth = StandardWebhooksAuth(SecretStr(SECRET))
    with pytest.raises(ChannelError, match="webhook-id"):
        capture(auth, httpx.Request("POST", "http://127.0.0.1:9/", content=b"{}"))


def test_malformed_secret_is_refused_without_quoting_it() -> None:
    """A secret that is not base64 after whsec_ raises a ChannelError that does not contain it."""
    bad = "whsec_not*base64*at*all"
    with pytest.raises(ChannelError) as raised:
        StandardWebhooksAuth(SecretStr(bad))
    assert "not*base64" not in str(raised.value)


def test_auth_repr_hides_the_secret() -> None:
    """The auth's repr shows no part of the secret."""
    assert SECRET.removeprefix("whsec_")[:8] not in repr(StandardWebhooksAuth(SecretStr(SECRET)))


def test_current_signature_verifies_now() -> None:
    """A signature made with the current time verifies against the current time."""
    now = int(time.time())
    signature = sign_standard_webhook(SECRET, VECTOR_ID, now, VECTOR_BODY)
    assert verify_standard_webhook(SECRET, vector_headers(signature, now), VECTOR_BODY, now=time.time())
