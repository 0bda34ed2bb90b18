"""The action log for the terminal: a timeline table, or one JSON array."""

from __future__ import annotations

import json
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from incidents import Entry

__all__ = ["print_timeline", "timeline_json"]

_STYLE = {
    "delivered": "green",
    "ok": "green",
    "met": "green",
    "failed": "red",
    "missed": "red",
    "retry": "yellow",
    "rate_limited": "yellow",
    "skipped": "dim",
}
_DETAIL_KEYS = ("reason", "title", "recipient_name", "level", "grade", "status", "error", "path", "note")


def _summary(entry: Entry) -> str:
    parts = []
    for key in _DETAIL_KEYS:
        value = entry.detail.get(key)
        if value not in (None, "", [], {}):
            parts.append(f"{key}={value}")
    if entry.kind == "incident.reported":
        parts = [f"title={entry.detail.get('incident', {}).get('title', '')}", f"source={entry.detail.get('source')}"]
    return "; ".join(parts)[:160]


def print_timeline(console: Console, incident_id: str, entries: Sequence[Entry], zone: str = "Asia/Shanghai") -> None:
    """Print an incident's entries as a table, times in ``zone`` (named in the header)."""
    table = Table(title=f"{incident_id} — {len(entries)} entries", show_lines=False)
    for column in ("#", f"time ({zone})", "kind", "step", "recipient", "channel", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    tz = ZoneInfo(zone)
    for entry in entries:
        outcome = entry.outcome or ""
        table.add_row(
            str(entry.seq),
            entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            entry.kind,
            entry.step or "",
            entry.recipient or "",
            entry.channel or "",
            f"[{_STYLE.get(outcome, 'white')}]{outcome}[/]" if outcome else "",
            _summary(entry),
        )
    console.print(table)


def timeline_json(entries: Sequence[Entry]) -> str:
    """Every entry as one JSON array, exactly as stored (hashes included)."""
    return json.dumps([entry.as_dict() for entry in entries], ensure_ascii=False, indent=2)
