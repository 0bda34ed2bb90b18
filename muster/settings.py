"""Settings from the environment (``MUSTER_*``), with embedded defaults for one machine."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "prepare_environment"]


class Settings(BaseSettings):
    """Muster's settings; every field reads ``MUSTER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MUSTER_", extra="ignore")

    home: Path = Field(default=Path(".muster"), description="Data directory: action log, reports, Prefect home")
    config: Path | None = Field(default=None, description="Config directory with roster.yaml and channels.yaml")
    playbooks: str = Field(default="", description="Extra playbook folders, separated by ':'")
    database_url: str | None = Field(default=None, description="Action-log URL; default: HOME/muster.db")
    report_language: str = Field(default="zh", pattern="^(zh|en)$")
    public_url: str | None = Field(default=None, description="Base of ack links; default: service.yaml public_url")

    def playbook_dirs(self) -> list[Path]:
        """The extra playbook folders."""
        return [Path(p) for p in self.playbooks.split(":") if p]

    def config_dir(self, override: Path | None = None) -> Path:
        """The config directory to use: the flag, MUSTER_CONFIG, ./config, or the demo config."""
        for candidate in (override, self.config, Path("config")):
            if candidate is not None and candidate.is_dir():
                return candidate
        if override is not None or self.config is not None:
            return override or self.config  # type: ignore[return-value]
        return Path(__file__).resolve().parent.parent / "examples" / "demo"


def prepare_environment(settings: Settings) -> None:
    """Point Prefect at Muster's data directory and keep it quiet offline; call before importing prefect."""
    home = settings.home.resolve()
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "true")
