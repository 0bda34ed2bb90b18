"""A config directory: ``roster.yaml`` (people, roles, contacts) and ``channels.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from muster.errors import ConfigError, Problem
from notifications import ChannelConfig
from playbooks import load_yaml, validate_model
from responders import Roster

__all__ = ["ChannelsFile", "RunConfig", "load_config"]


class ChannelsFile(BaseModel):
    """The contents of ``channels.yaml``."""

    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelConfig] = Field(min_length=1)
    http_targets: list[ChannelConfig] = Field(default_factory=list, description="Outside systems, type: http")


@dataclass(frozen=True)
class RunConfig:
    """Who can be reached, and through what."""

    directory: Path
    roster: Roster
    channels: dict[str, ChannelConfig]
    http_targets: dict[str, ChannelConfig]


def load_config(directory: Path | str) -> RunConfig:
    """Load and cross-check a config directory; raise ConfigError listing every problem."""
    folder = Path(directory)
    roster_path, channels_path = folder / "roster.yaml", folder / "channels.yaml"
    problems: list[Problem] = []
    for path in (roster_path, channels_path):
        if not path.is_file():
            problems.append(Problem(str(path), 1, 1, "missing; a config directory holds roster.yaml and channels.yaml"))
    if problems:
        raise ConfigError(problems)
    roster_source = load_yaml(roster_path, substitute_env=True)
    channels_source = load_yaml(channels_path, substitute_env=True)
    roster, roster_problems = validate_model(Roster, roster_source)
    channels_file, channel_problems = validate_model(ChannelsFile, channels_source)
    problems = roster_problems + channel_problems
    if roster is not None and channels_file is not None:
        names = [c.name for c in channels_file.channels]
        for index, channel in enumerate(channels_file.channels):
            if names.count(channel.name) > 1:
                problems.append(channels_source.problem(("channels", index, "name"), f"duplicate channel {channel.name!r}"))
        for p_index, person in enumerate(roster.people):
            for c_index, contact in enumerate(person.contacts):
                if contact.channel not in names:
                    loc = ("people", p_index, "contacts", c_index, "channel")
                    problems.append(roster_source.problem(
                        loc, f"unknown channel {contact.channel!r}; channels.yaml has {', '.join(names)}"
                    ))
    if problems or roster is None or channels_file is None:
        raise ConfigError(problems)
    return RunConfig(
        directory=folder,
        roster=roster,
        channels={c.name: c for c in channels_file.channels},
        http_targets={t.name: t for t in channels_file.http_targets},
    )
