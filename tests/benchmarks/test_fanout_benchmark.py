"""Smoke test of benchmarks/fanout.py: every engine runs end to end on a few messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fanout.py"


def test_fanout_benchmark_reports_every_engine_and_every_message_arrives_once() -> None:
    """A tiny run exits 0 (every message arrived exactly once and was logged) and prints the issue's JSON keys."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--n", "30", "--apprise-sample", "10", "--warmup", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert figures["recipients"] == 30
    for key in ("muster_per_s", "apprise_per_s", "ceiling_per_s", "muster_peak_mb", "muster_no_ledger_per_s"):
        assert figures[key] > 0, key
    assert figures["apprise_sample"] == 10
    assert figures["muster_log_entries"] == 60  # an attempt and an outcome per message
    assert set(figures["targets"]) == {"muster_90pct_of_ceiling", "muster_10x_apprise"}
