"""Settling the heap once a process is warm, so the collector stops rescanning what start-up left.

Muster imports Prefect, pydantic, FastAPI and the plan library: some 150,000 long-lived
objects. Python's full collections walk all of them, and one that lands in a fan-out
stalls every answer in flight (measured: 94 ms inside a 1.3 s fan-out to 1,000 people,
benchmarks/fanout.py). ``gc.freeze`` moves them out of the collector's sight; what a
run creates afterwards is collected as before.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Collect start-up garbage, then freeze what is left; call once imports and configuration are done."""
    gc.collect()
    gc.freeze()
