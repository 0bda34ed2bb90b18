"""Durations as plans write them: ``30s``, ``5m``, ``1h``, ``1h30m``, ``2d``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["Duration", "format_duration", "parse_duration"]

_PART = re.compile(r"(\d+)(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
PATTERN = r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"


def parse_duration(value: Any) -> timedelta:
    """Read ``1h30m`` style text (or a timedelta) as a positive timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str) and value.strip() and re.fullmatch(PATTERN, value.strip()):
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(value.strip()))
    else:
        raise ValueError(f"bad duration {value!r}: write it like 30s, 5m, 1h, 1h30m or 2d")
    if seconds <= 0:
        raise ValueError(f"bad duration {value!r}: it must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest ``1h30m`` form of a timedelta."""
    total = int(delta.total_seconds())
    parts = []
    for unit, size in _UNITS.items():
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": PATTERN, "examples": ["30s", "5m", "1h", "1h30m"]}),
]
