"""Finding playbooks: the shipped library plus the operator's own folders."""

from __future__ import annotations

from pathlib import Path

from flows.config import FileStamp, file_stamp
from muster.errors import PlaybookError, Problem
from playbooks import Playbook, library_paths, load_playbooks, playbook_paths

__all__ = ["all_playbooks", "find_playbook"]


_loaded: dict[Path, tuple[FileStamp, Playbook]] = {}


def _load(paths: list[Path]) -> dict[str, Playbook]:
    """Load playbooks, reusing those whose file has not changed (a warm service parses each once)."""
    stamps = {path: file_stamp(path) for path in paths}  # before reading: a later write shows
    by_path: dict[Path, Playbook] = {}
    for path in paths:
        kept = _loaded.get(path)
        if kept is not None and stamps[path] is not None and kept[0] == stamps[path]:
            by_path[path] = kept[1]
    fresh = [path for path in paths if path not in by_path]
    if fresh:
        for path, playbook in zip(fresh, load_playbooks(fresh).values(), strict=True):
            by_path[path] = playbook
            stamp = stamps[path]
            if stamp is not None:
                _loaded[path] = (stamp, playbook)
    found: dict[str, Playbook] = {}
    for path in paths:
        playbook = by_path[path]
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
        (playbook,) = _load([Path(name)]).values()
        return playbook
    found = all_playbooks(extra_dirs)
    if name not in found:
        raise PlaybookError([Problem(name, 1, 1, f"no playbook with id {name!r}; known: {', '.join(sorted(found))}")])
    return found[name]
