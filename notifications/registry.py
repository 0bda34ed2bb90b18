"""The explicit registry of channel types: a module that fails to load stops start-up.

Adding an API means adding one line here. Nothing is discovered and nothing is
skipped: an emergency tool that silently lost a channel would fail when it matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from types import MappingProxyType
from typing import Any

from muster.errors import ChannelError
from notifications.channel import Channel
from notifications.config import ChannelConfig

__all__ = ["CHANNEL_TYPES", "build_channel", "parse_channel_config"]

# type name -> "module:Class"
_CHANNEL_MODULES: Mapping[str, str] = {
    "webhook": "notifications.channels.webhook:WebhookChannel",
    "http": "notifications.channels.http:HttpTargetChannel",
    "dingtalk": "notifications.channels.dingtalk:DingTalkChannel",
    "wecom": "notifications.channels.wecom:WeComChannel",
    "feishu": "notifications.channels.feishu:FeishuChannel",
    "aliyun_sms": "notifications.channels.aliyun_sms:AliyunSmsChannel",
    "slack": "notifications.channels.slack:SlackChannel",
    "teams": "notifications.channels.teams:TeamsChannel",
    "twilio_sms": "notifications.channels.twilio_sms:TwilioSmsChannel",
    "pagerduty": "notifications.channels.pagerduty:PagerDutyChannel",
}


def _load_channel_types(modules: Mapping[str, str]) -> Mapping[str, type[Channel]]:
    """Import every registered channel class, or raise ChannelError naming the one that failed."""
    loaded: dict[str, type[Channel]] = {}
    for type_name, target in modules.items():
        module_name, _, class_name = target.partition(":")
        try:
            loaded[type_name] = getattr(import_module(module_name), class_name)
        except Exception as exc:
            raise ChannelError(
                f"channel type {type_name!r} could not be loaded from {target}: {type(exc).__name__}: {exc}; "
                "Muster will not start with a broken channel: fix the module or remove it from the registry"
            ) from exc
    return MappingProxyType(loaded)


CHANNEL_TYPES: Mapping[str, type[Channel]] = _load_channel_types(_CHANNEL_MODULES)


def build_channel(config: ChannelConfig) -> Channel:
    """The channel for one configured entry; ChannelError if its type is unknown or it is misconfigured."""
    channel_type = CHANNEL_TYPES.get(config.type)
    if channel_type is None:
        known = ", ".join(sorted(CHANNEL_TYPES))
        raise ChannelError(f"channel {config.name!r}: unknown type {config.type!r}; known types: {known}")
    return channel_type(config)


def parse_channel_config(data: Mapping[str, Any]) -> ChannelConfig:
    """Validate one ``channels.yaml`` entry with its type's own settings model.

    Raises ChannelError for a missing or unknown type, and pydantic's ValidationError
    (field paths inside the entry) for wrong settings.
    """
    type_name = data.get("type")
    channel_type = CHANNEL_TYPES.get(type_name) if isinstance(type_name, str) else None
    if channel_type is None:
        known = ", ".join(sorted(CHANNEL_TYPES))
        raise ChannelError(f"unknown channel type {type_name!r}; known types: {known}")
    return channel_type.config_model.model_validate(dict(data))
