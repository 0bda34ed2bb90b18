"""``service.yaml``: who may report incidents, how big a report may be, and which plan each source starts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from flows import resolve_secret
from incidents import MappingRule
from muster.errors import ConfigError, Problem
from playbooks import Duration, load_yaml, validate_model

__all__ = ["IntakeSource", "ServiceConfig", "load_service_config"]

Format = Literal["muster", "pagerduty", "alertmanager", "cap"]


class IntakeSource(BaseModel):
    """A system or office allowed to report incidents, with its own bearer token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    token: SecretStr = Field(description="Bearer token (or PagerDuty routing_key); env:NAME or prefect:block work")
    formats: list[Format] = Field(min_length=1)


class ServiceConfig(BaseModel):
    """Settings of `muster serve`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    public_url: str | None = Field(
        default=None, description="Base of links in messages (acks); default: the address muster serve listens on"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=16 * 1_048_576)
    dedup_window: Duration = Field(default=timedelta(hours=24), description="A repeat within it attaches")
    sources: list[IntakeSource] = Field(default_factory=list)
    mappings: list[MappingRule] = Field(default_factory=list)


def load_service_config(directory: Path) -> ServiceConfig:
    """``DIR/service.yaml`` (token references resolved), or the defaults when there is none."""
    path = directory / "service.yaml"
    if not path.is_file():
        return ServiceConfig()
    source = load_yaml(path, substitute_env=True)
    problems: list[Problem] = []
    for index, entry in enumerate(source.data.get("sources", []) if isinstance(source.data, dict) else []):
        token = entry.get("token") if isinstance(entry, dict) else None
        if isinstance(token, str) and token.startswith(("env:", "prefect:")):
            try:
                entry["token"] = resolve_secret(token)
            except LookupError as exc:
                problems.append(source.problem(("sources", index, "token"), str(exc)))
    config, more = validate_model(ServiceConfig, source)
    problems += more
    if problems or config is None:
        raise ConfigError(problems)
    names = [s.name for s in config.sources]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError([source.problem(("sources",), f"duplicate source names: {', '.join(sorted(duplicates))}")])
    return config
