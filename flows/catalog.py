"""Finding playbooks: the shipped library plus the operator's own folders."""

from __future__ import annotations

from pathlib import Path

from muster.errors import PlaybookError, Problem
from playbooks import Playbook, library_paths, load_playbook, load_playbooks, playbook_paths

__all__ = ["all_playbooks", "find_playbook"]


_loaded: dict[Path, tuple[int, Playbook]] = {}


def _load(paths: list[Path]) -> dict[str, Playbook]:
    """Load playbooks, reusing those whose file has not changed (a warm service loads each once)."""
    fresh = [p for p in paths if _loaded.get(p, (None,))[0] != p.stat().st_mtime_ns]
    if fresh:
        for path, playbook in zip(fresh, load_playbooks(fresh).values(), strict=True):
            _loaded[path] = (path.stat().st_mtime_ns, playbook)
    found: dict[str, Playbook] = {}
    for path in paths:
        playbook = _loaded[path][1]
        if playbook.id in found:
            load_playbooks(paths)  # raises the located duplicate-id problem
        found[playbook.id] = playbook
    return found


def all_playbooks(extra_dirs: list[Path]) -> dict[str, Playbook]:
    """Every playbook by id; an operator's playbook replaces a library one with the same id."""
    return _load(library_paths()) | _load(playbook_paths(extra_dirs))


def find_playbook(name: str, extra_dirs: list[Path]) -> Playbook:
    """A playbook by file path or by id."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return load_playbook(Path(name))
    found = all_playbooks(extra_dirs)
    if name not in found:
        raise PlaybookError([Problem(name, 1, 1, f"no playbook with id {name!r}; known: {', '.join(sorted(found))}")])
    return found[name]
