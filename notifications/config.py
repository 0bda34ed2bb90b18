"""How one configured channel is reached: its type, address, secret and limits.

A channel reads its settings through ``channel_settings`` and its url through
``channel_url``, so a wrong entry is a ``ChannelError`` naming the channel and the
field, never a traceback and never the refused value: a url may be the credential.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from muster.errors import ChannelError

__all__ = ["ChannelConfig", "RateLimitSetting", "channel_settings", "channel_url", "settings_problems"]


class RateLimitSetting(BaseModel):
    """An operator's own limit for an endpoint, e.g. a robot shared with another system: 10 per 60 s."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=1)
    per_s: float = Field(gt=0)


class ChannelConfig(BaseModel):
    """One configured channel; ``type`` is a key of ``CHANNEL_TYPES``.

    The secret is a ``SecretStr``: it shows as ``**********`` in reprs, logs and
    validation errors, and only the signing code reads its value. Validation errors
    never quote a refused value (``hide_input_in_errors``), and each channel's own
    settings model inherits that: a url or a key may be the credential.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    url: str = Field(min_length=1)
    secret: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, description="Each attempt's timeout")
    max_attempts: int = Field(default=4, ge=1, le=20)
    max_elapsed_s: float = Field(
        default=60.0, gt=0, description="How long one message may take on this channel before the next contact is tried"
    )
    rate_limit: RateLimitSetting | None = Field(
        default=None, description="Replaces the vendor's published limits for this endpoint"
    )


_Settings = TypeVar("_Settings", bound=ChannelConfig)


def settings_problems(exc: ValidationError) -> str:
    """Each problem of a settings model as ``field: message``, without the values (they may be credentials)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    )


def channel_settings(config: ChannelConfig, model: type[_Settings], *, kind: str) -> _Settings:
    """``config`` as the channel's own settings ``model``; ChannelError naming each problem, never a value.

    ``kind`` names what the settings should describe, e.g. "a DingTalk robot".
    """
    if isinstance(config, model):
        return config
    try:
        return model(**dict(config))
    except ValidationError as exc:
        raise ChannelError(f"channel {config.name!r}: not {kind} configuration: {settings_problems(exc)}") from None


def channel_url(
    config: ChannelConfig,
    *,
    expected: str,
    accept: Callable[[httpx.URL], bool] = lambda url: True,
    label: str = "channel",
) -> httpx.URL:
    """The configured url, parsed; ChannelError naming the channel (not the url) unless it is http(s) with a host.

    ``accept`` adds the channel's own checks (a token in the query, a webhook path); ``expected``
    says what the url must be instead; ``label`` is how the error names the channel.
    """
    try:
        url: httpx.URL | None = httpx.URL(config.url)
    except httpx.InvalidURL:  # e.g. a control character pasted into it
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host or not accept(url):
        raise ChannelError(f"{label} {config.name!r}: url must be {expected}")
    return url
