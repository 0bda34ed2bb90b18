"""Channel settings: a refused value is never quoted, and a url that cannot be parsed is a located error."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from muster.errors import ChannelError
from notifications import CHANNEL_TYPES, ChannelConfig, build_channel, parse_channel_config
from notifications.channels.dingtalk import DingTalkConfig

CREDENTIAL = "Cred0123456789abcdef"  # what stands in each url where the url holds a credential
LEAKED = "LEAKED-VALUE-5f3a"  # a refused value that must never be shown
PAGERDUTY_KEY = "R0MUSTERPAGERDUTYKEY0000000000AB"

# One valid channels.yaml entry per type, the url's credential part written {c}.
ENTRIES: dict[str, dict[str, Any]] = {
    "webhook": {"url": "https://receiver.example/muster/{c}"},
    "http": {"url": "https://siren.example/trigger/{c}"},
    "dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?access_token={c}"},
    "wecom": {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={c}"},
    "feishu": {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/{c}"},
    "aliyun_sms": {
        "url": "https://dysmsapi.aliyuncs.com/{c}",
        "access_key_id": "LTAI5tMusterTestKey01",
        "access_key_secret": "muster-test-access-key-secret-0001",
        "sign_name": "某市应急管理局",
        "template_code": "SMS_123456789",
    },
    "slack": {"url": "https://hooks.slack.com/services/T0MUSTER/B0DUTY/{c}"},
    "teams": {
        "url": "https://prod-12.westus.logic.azure.com/workflows/8f0c2d/triggers/manual/paths/invoke"
        "?api-version=2016-06-01&sig={c}"
    },
    "twilio_sms": {
        "url": "https://api.twilio.com/{c}",
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "auth_token": "f00dfeedcafe0123456789abcdefbeef",
        "from_number": "+15005550006",
    },
    "pagerduty": {"url": "https://events.pagerduty.com/v2/enqueue/{c}", "routing_key": PAGERDUTY_KEY},
}
TYPED = sorted(name for name, channel in CHANNEL_TYPES.items() if channel.config_model is not ChannelConfig)


def entry(type_name: str, credential: str = CREDENTIAL) -> dict[str, Any]:
    settings = dict(ENTRIES[type_name])
    settings["url"] = settings["url"].format(c=credential)
    return {"name": f"duty-{type_name}", "type": type_name, **settings}


def test_every_registered_type_has_an_entry_here() -> None:
    """The table above covers every channel type, so a new channel is checked here too."""
    assert sorted(ENTRIES) == sorted(CHANNEL_TYPES)


@pytest.mark.parametrize("type_name", sorted(ENTRIES))
def test_a_clean_entry_builds(type_name: str) -> None:
    """Each entry of the table builds its channel, so the refusals below are the url's doing."""
    assert build_channel(parse_channel_config(entry(type_name))).config.name == f"duty-{type_name}"


@pytest.mark.parametrize("type_name", sorted(ENTRIES))
def test_a_control_character_in_the_url_is_a_channel_error_naming_the_channel(type_name: str) -> None:
    """A url httpx cannot parse (a NUL pasted into it) is a ChannelError naming the channel, never the url."""
    config = parse_channel_config(entry(type_name, credential="Cred0123\x00456789abcdef"))
    with pytest.raises(ChannelError, match=f"'duty-{type_name}': url must be") as refused:
        build_channel(config)
    assert "Cred0123" not in str(refused.value) and "456789abcdef" not in str(refused.value)


def test_validation_errors_never_quote_the_refused_value() -> None:
    """The base settings and a channel's own settings name the field but hide the value."""
    with pytest.raises(ValidationError, match="timeout_s") as base:
        ChannelConfig(name="duty", type="webhook", url="https://receiver.example/", timeout_s=LEAKED)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at_all") as dingtalk:
        DingTalkConfig(name="duty", url="https://oapi.dingtalk.com/robot/send?access_token=t", at_all=LEAKED)  # type: ignore[arg-type]
    assert LEAKED not in str(base.value) + str(dingtalk.value)


@pytest.mark.parametrize("type_name", TYPED)
def test_settings_a_channel_refuses_are_a_channel_error_without_any_value(type_name: str) -> None:
    """Settings the channel's model refuses become a ChannelError naming each field, no value and no url."""
    config = ChannelConfig.model_construct(**(entry(type_name) | {"timeout_s": LEAKED}))
    with pytest.raises(ChannelError, match=rf"'duty-{type_name}': not .* configuration: .*timeout_s: ") as refused:
        build_channel(config)
    assert LEAKED not in str(refused.value) and CREDENTIAL not in str(refused.value)
