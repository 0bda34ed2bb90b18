"""A config directory: ``roster.yaml`` (people, roles, contacts) and ``channels.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.secrets import SECRET_SCHEMES, SecretReferenceError, resolve_secret
from muster.errors import ChannelError, ConfigError, Problem
from notifications import ChannelConfig, build_channel, parse_channel_config
from playbooks import Source, load_yaml, validate_model
from responders import Roster

__all__ = ["ChannelsFile", "RunConfig", "load_config"]


class ChannelsFile(BaseModel):
    """The shape of ``channels.yaml``; each entry is then checked by its channel type's own model."""

    model_config = ConfigDict(extra="forbid")

    channels: list[dict[str, Any]] = Field(min_length=1, description="Messaging channels")
    http_targets: list[dict[str, Any]] = Field(default_factory=list, description="Outside systems, type: http")


@dataclass(frozen=True)
class RunConfig:
    """Who can be reached, and through what."""

    directory: Path
    roster: Roster
    channels: dict[str, ChannelConfig]
    http_targets: dict[str, ChannelConfig]


def _channel_configs(
    source: Source,
    section: str,
    entries: list[dict[str, Any]],
    problems: list[Problem],
    default_type: str | None = None,
) -> dict[str, ChannelConfig]:
    configs: dict[str, ChannelConfig] = {}
    for index, entry in enumerate(entries):
        loc = (section, index)
        data = {"type": default_type, **entry} if default_type else dict(entry)
        for key, value in entry.items():
            if isinstance(value, str) and value.startswith(SECRET_SCHEMES):
                try:
                    data[key] = resolve_secret(value)
                except SecretReferenceError as exc:
                    problems.append(source.problem((*loc, key), f"{section}[{index}].{key}: {exc}"))
        try:
            config = parse_channel_config(data)
        except ChannelError as exc:
            problems.append(source.problem((*loc, "type"), str(exc)))
            continue
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                field = ".".join(str(p) for p in error["loc"])
                message = error["msg"].removeprefix("Value error, ")
                what = "unknown field" if error["type"] == "extra_forbidden" else message
                problems.append(
                    source.problem(
                        (*loc, *error["loc"]),
                        f"{section}[{index}].{field}: {what}",
                        at_key=error["type"] == "extra_forbidden",
                    )
                )
            continue
        try:
            build_channel(config)  # url and secret are checked here, not when the first message is due
        except ChannelError as exc:
            problems.append(source.problem(loc, f"{section}[{index}]: {exc}"))
            continue
        if config.name in configs:
            problems.append(source.problem((*loc, "name"), f"duplicate name {config.name!r} in {section}"))
        configs[config.name] = config
    return configs


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
    channels: dict[str, ChannelConfig] = {}
    targets: dict[str, ChannelConfig] = {}
    if channels_file is not None:
        channels = _channel_configs(channels_source, "channels", channels_file.channels, problems)
        targets = _channel_configs(channels_source, "http_targets", channels_file.http_targets, problems, "http")
    if roster is not None and channels_file is not None:
        # A channel that is declared but wrong already has its problem; its contacts get none more.
        declared = list(dict.fromkeys(str(entry.get("name")) for entry in channels_file.channels))
        for p_index, person in enumerate(roster.people):
            for c_index, contact in enumerate(person.contacts):
                if contact.channel not in declared:
                    loc = ("people", p_index, "contacts", c_index, "channel")
                    known = ", ".join(declared) or "(none)"
                    problems.append(
                        roster_source.problem(loc, f"unknown channel {contact.channel!r}; channels.yaml has {known}")
                    )
    if problems or roster is None or channels_file is None:
        raise ConfigError(problems)
    return RunConfig(directory=folder, roster=roster, channels=channels, http_targets=targets)
