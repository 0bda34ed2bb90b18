"""Fixtures for the notifications tests: a signed simulator on loopback, messages, channels."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from notifications import Channel, ChannelConfig, Message, build_channel
from notifications.simulator import Simulator
from notifications.testing import MemoryLedger

# The Standard Webhooks test vector's secret (shared/domain/channels.md).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def webhook_secret() -> str:
    """The Standard Webhooks vector's secret, used to sign and to verify."""
    return SECRET


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A responder simulator checking signatures with SECRET, on a free loopback port."""
    async with Simulator(webhook_secret=SECRET) as running:
        yield running


@pytest.fixture
def ledger() -> MemoryLedger:
    """An empty in-memory delivery ledger."""
    return MemoryLedger()


@pytest.fixture
def make_message() -> Callable[..., Message]:
    """Build a message to recipient ``r1`` on channel ``sim-webhook``; keywords override fields."""

    def make(**overrides: Any) -> Message:
        recipient = overrides.pop("recipient_id", "r1")
        fields: dict[str, Any] = {
            "delivery_key": f"inc-1/notify-duty/{recipient}/1",
            "incident_id": "inc-1",
            "step_id": "notify-duty",
            "recipient_id": recipient,
            "recipient_name": "王伟",
            "channel": "sim-webhook",
            "address": f"{recipient}@duty",
            "language": "zh",
            "subject": "较大火灾",
            "body": "某化工厂发生火灾，请立即到岗。",
            "role": "duty_officer",
            "severity": "较大",
            "ack_url": "https://muster.example/ack/tok",
        }
        fields.update(overrides)
        return Message(**fields)

    return make


@pytest.fixture
def make_channel() -> Callable[..., Channel]:
    """Build a webhook channel from ChannelConfig keywords (name ``sim-webhook``, signed with SECRET)."""

    def make(**overrides: Any) -> Channel:
        fields: dict[str, Any] = {"name": "sim-webhook", "type": "webhook", "url": "http://127.0.0.1:9/webhook/ops"}
        fields["secret"] = SECRET
        fields.update(overrides)
        return build_channel(ChannelConfig(**fields))

    return make
