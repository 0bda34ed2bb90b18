"""A config directory: ``roster.yaml`` (people, roles, contacts) and ``channels.yaml``.

A warm process parses each file once: the parse is kept until the file or an environment
variable it names in ``${VAR}`` changes. Secret references are resolved on every load.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

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


FileStamp = tuple[int, int, int, int]

# A file is trusted unchanged by its stamp only once its mtime is this old: a second write within
# the same file-system clock tick, and of the same size, would leave the stamp as it was (git's
# "racily clean" rule). Until then every load reads it again.
SETTLED_NS: Final = 2_000_000_000
_ENV_NAME = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")  # a superset of the loader's ${VAR} and ${VAR:-default}


def file_stamp(path: Path) -> FileStamp | None:
    """Inode, size, mtime and ctime of ``path``; None if it cannot be read or changed too recently to trust."""
    try:
        stat = path.stat()
    except OSError:
        return None  # reading it reports why
    if time.time_ns() - stat.st_mtime_ns < SETTLED_NS:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass(frozen=True)
class _Parsed:
    """Both files parsed, validated and cross-checked; the secret references still unresolved."""

    stamps: tuple[FileStamp | None, FileStamp | None]
    env: tuple[tuple[str, str | None], ...]  # every ${VAR} the files name, with the value it had
    roster_source: Source
    channels_source: Source
    roster: Roster | None
    channels_file: ChannelsFile | None
    problems: tuple[Problem, ...]  # the files' own, before the channel entries are built
    contact_problems: tuple[Problem, ...]  # contacts naming an undeclared channel

    def current(self, stamps: tuple[FileStamp | None, FileStamp | None]) -> bool:
        """Whether this parse still holds for files with ``stamps`` under today's environment."""
        return (
            None not in stamps
            and stamps == self.stamps
            and all(os.environ.get(name) == value for name, value in self.env)
        )


_parsed: dict[Path, _Parsed] = {}


def _env_names(data: Any) -> list[str]:
    """The names in every ``${VAR}`` of the data's text values (where the loader substitutes them)."""
    if isinstance(data, str):
        return _ENV_NAME.findall(data) if "${" in data else []
    if isinstance(data, dict):
        return [name for value in data.values() for name in _env_names(value)]
    if isinstance(data, list):
        return [name for value in data for name in _env_names(value)]
    return []


def _load_source(path: Path) -> tuple[Source, tuple[tuple[str, str | None], ...]]:
    """The file as the run sees it (``${VAR}`` substituted), and each VAR it names with its value now."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(path), 1, 1, f"cannot read the file: {exc}")]) from exc
    try:
        plain = load_yaml(path, text=text)
    except ConfigError:
        return load_yaml(path, text=text, substitute_env=True), ()  # raises, with every problem
    names = dict.fromkeys(_env_names(plain.data))
    if not names:
        return plain, ()  # nothing to substitute: the same as the substituted parse
    env = tuple((name, os.environ.get(name)) for name in names)  # before substituting: a later change shows
    return load_yaml(path, text=text, substitute_env=True), env


def _parse(roster_path: Path, channels_path: Path) -> _Parsed:
    """Parse both files, or reuse the parse made when they and their ${VAR}s were as they are now."""
    key = roster_path.absolute()
    stamps = (file_stamp(roster_path), file_stamp(channels_path))  # before reading: a later write shows
    cached = _parsed.get(key)
    if cached is not None and cached.current(stamps):
        return cached
    roster_source, roster_env = _load_source(roster_path)
    channels_source, channels_env = _load_source(channels_path)
    roster, roster_problems = validate_model(Roster, roster_source)
    channels_file, channel_problems = validate_model(ChannelsFile, channels_source)
    contact_problems: list[Problem] = []
    if roster is not None and channels_file is not None:
        # A channel that is declared but wrong gets its problem when built; its contacts get none more.
        declared = list(dict.fromkeys(str(entry.get("name")) for entry in channels_file.channels))
        for p_index, person in enumerate(roster.people):
            for c_index, contact in enumerate(person.contacts):
                if contact.channel not in declared:
                    loc = ("people", p_index, "contacts", c_index, "channel")
                    known = ", ".join(declared) or "(none)"
                    contact_problems.append(
                        roster_source.problem(loc, f"unknown channel {contact.channel!r}; channels.yaml has {known}")
                    )
    parsed = _Parsed(
        stamps=stamps,
        env=roster_env + channels_env,
        roster_source=roster_source,
        channels_source=channels_source,
        roster=roster,
        channels_file=channels_file,
        problems=(*roster_problems, *channel_problems),
        contact_problems=tuple(contact_problems),
    )
    _parsed[key] = parsed
    return parsed


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
    parsed = _parse(roster_path, channels_path)
    problems = list(parsed.problems)
    channels: dict[str, ChannelConfig] = {}
    targets: dict[str, ChannelConfig] = {}
    if parsed.channels_file is not None:  # secret references are resolved here, on every load
        source, entries = parsed.channels_source, parsed.channels_file
        channels = _channel_configs(source, "channels", entries.channels, problems)
        targets = _channel_configs(source, "http_targets", entries.http_targets, problems, "http")
    problems += parsed.contact_problems
    if problems or parsed.roster is None or parsed.channels_file is None:
        raise ConfigError(problems)
    return RunConfig(directory=folder, roster=parsed.roster, channels=channels, http_targets=targets)
