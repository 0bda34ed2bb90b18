"""How one configured channel is reached: its type, address, secret and limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ChannelConfig", "RateLimitSetting"]


class RateLimitSetting(BaseModel):
    """An operator's own limit for an endpoint, e.g. a robot shared with another system: 10 per 60 s."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=1)
    per_s: float = Field(gt=0)


class ChannelConfig(BaseModel):
    """One configured channel; ``type`` is a key of ``CHANNEL_TYPES``.

    The secret is a ``SecretStr``: it shows as ``**********`` in reprs, logs and
    validation errors, and only the signing code reads its value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

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
