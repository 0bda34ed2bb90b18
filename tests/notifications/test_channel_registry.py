"""The channel registry and configuration: explicit, strict, and secret-safe."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from muster.errors import ChannelError
from notifications import CHANNEL_TYPES, ChannelConfig, build_channel
from notifications.channels.webhook import WebhookChannel
from notifications.registry import _load_channel_types

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_webhook_type_builds_the_webhook_channel() -> None:
    """type 'webhook' builds a WebhookChannel holding its config."""
    config = ChannelConfig(name="sim-webhook", type="webhook", url="http://127.0.0.1:9/webhook/ops")
    channel = build_channel(config)
    assert isinstance(channel, WebhookChannel)
    assert channel.config is config


def test_unknown_type_names_the_known_types() -> None:
    """An unknown type raises a ChannelError naming the channel, the type and the known types."""
    known = r"known types: [a-z_, ]*http[a-z_, ]*webhook"
    with pytest.raises(ChannelError, match=rf"channel 'ops': unknown type 'pigeon'; {known}"):
        build_channel(ChannelConfig(name="ops", type="pigeon", url="http://127.0.0.1:9/"))


def test_registry_cannot_be_changed_at_run_time() -> None:
    """CHANNEL_TYPES is read-only."""
    with pytest.raises(TypeError):
        CHANNEL_TYPES["pigeon"] = WebhookChannel  # type: ignore[index]


def test_channel_module_that_fails_to_import_stops_start_up() -> None:
    """A registered module that cannot be imported raises ChannelError instead of being skipped."""
    with pytest.raises(ChannelError, match=r"'pigeon' could not be loaded.*will not start"):
        _load_channel_types({"pigeon": "notifications.channels.pigeon:PigeonChannel"})


def test_channel_class_missing_from_its_module_stops_start_up() -> None:
    """A registered class that its module lacks raises ChannelError too."""
    with pytest.raises(ChannelError, match="'webhook' could not be loaded"):
        _load_channel_types({"webhook": "notifications.channels.webhook:NoSuchChannel"})


def test_config_refuses_unknown_fields() -> None:
    """A misspelt configuration field is an error, not ignored."""
    with pytest.raises(ValidationError, match="timeout"):
        ChannelConfig(name="ops", type="webhook", url="http://127.0.0.1:9/", timeout=3)  # type: ignore[call-arg]


def test_config_refuses_nonsense_limits() -> None:
    """A timeout of zero or fewer than one attempt is refused."""
    with pytest.raises(ValidationError):
        ChannelConfig(name="ops", type="webhook", url="http://127.0.0.1:9/", timeout_s=0)
    with pytest.raises(ValidationError):
        ChannelConfig(name="ops", type="webhook", url="http://127.0.0.1:9/", max_attempts=0)


def test_config_repr_and_dump_hide_the_secret() -> None:
    """repr, str and the JSON dump of a config never show the secret."""
    config = ChannelConfig(name="ops", type="webhook", url="http://127.0.0.1:9/", secret=SECRET)
    for shown in (repr(config), str(config), config.model_dump_json(), repr(build_channel(config))):
        assert SECRET not in shown
        assert SECRET.removeprefix("whsec_") not in shown
