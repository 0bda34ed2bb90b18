"""Notifications: reach responders over HTTP messaging APIs, exactly once, with the reason for every outcome.

- ``Message`` / ``DeliveryResult``: what is sent, and what came of it.
- ``ChannelConfig`` → ``build_channel`` → ``Channel``: one module per API under ``channels/``,
  pure functions only, in the explicit registry ``CHANNEL_TYPES``.
- ``deliver``: the one place that sends: concurrent fan-out, retries with backoff, the ledger;
  ``delivery_client()`` opens the ``DeliveryClient`` a run's steps share.
- ``frame_message``: drill marker, subject, body and ack link, per language.
- ``StandardWebhooksAuth`` and friends: how the generic webhook is signed and checked.

Channels share what they have in common through modules named for it: ``framing``
(markers, labels, titles), ``fitting`` (a body within a vendor's limits, batch text),
``outbound`` (the JSON POST), ``answers`` and ``http_status`` (reading an answer),
``credentials`` (fingerprints, scrubbing), ``config`` (settings and url, errors without
values), ``group_robots`` (DingTalk and WeCom) and ``receivers`` (webhook and http targets).

The responder simulator is the subpackage ``notifications.simulator``; test helpers are in
``notifications.testing``.
"""

from notifications.channel import Channel, RateLimit
from notifications.config import ChannelConfig, RateLimitSetting
from notifications.delivery import DeliveryClient, DeliveryLedger, DeliveryOutcome, deliver, delivery_client
from notifications.framing import frame_message
from notifications.message import DeliveryResult, DeliveryStatus, Message
from notifications.pacing import Pacer
from notifications.registry import CHANNEL_TYPES, build_channel, parse_channel_config
from notifications.signing import StandardWebhooksAuth, sign_standard_webhook, verify_standard_webhook

__all__ = [
    "CHANNEL_TYPES",
    "Channel",
    "ChannelConfig",
    "DeliveryClient",
    "DeliveryLedger",
    "DeliveryOutcome",
    "DeliveryResult",
    "DeliveryStatus",
    "Message",
    "Pacer",
    "RateLimit",
    "RateLimitSetting",
    "StandardWebhooksAuth",
    "build_channel",
    "deliver",
    "delivery_client",
    "frame_message",
    "parse_channel_config",
    "sign_standard_webhook",
    "verify_standard_webhook",
]
