"""Fixtures: a real SQLite action log holding a realistic gas-explosion run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from report_samples import gas_explosion, gas_explosion_run

from incidents import Entry, Incident, SQLiteActionLog


@pytest.fixture
def action_log(tmp_path: Path) -> Iterator[SQLiteActionLog]:
    """A real SQLite action log in a temporary directory."""
    log = SQLiteActionLog(tmp_path / "muster.db")
    yield log
    log.close()


@pytest.fixture
def incident() -> Incident:
    """The reported gas explosion."""
    return gas_explosion()


@pytest.fixture
def entries(action_log: SQLiteActionLog, incident: Incident) -> list[Entry]:
    """The gas-explosion run as stored in, and read back from, the action log."""
    action_log.record_many(incident.id, gas_explosion_run(incident))
    return action_log.entries(incident.id)
