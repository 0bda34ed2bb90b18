"""How one configured channel is reached: its type, address, secret and limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ChannelConfig"]


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
    timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
