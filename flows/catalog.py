"""Finding playbooks: the shipped library plus the operator's own folders."""

from __future__ import annotations

from pathlib import Path

from muster.errors import PlaybookError, Problem
from playbooks import Playbook, library_paths, load_playbook, load_playbooks, playbook_paths

__all__ = ["all_playbooks", "find_playbook"]


def all_playbooks(extra_dirs: list[Path]) -> dict[str, Playbook]:
    """Every playbook by id; an operator's playbook replaces a library one with the same id."""
    library = load_playbooks(library_paths())
    return library | load_playbooks(playbook_paths(extra_dirs))


def find_playbook(name: str, extra_dirs: list[Path]) -> Playbook:
    """A playbook by file path or by id."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return load_playbook(Path(name))
    found = all_playbooks(extra_dirs)
    if name not in found:
        raise PlaybookError([Problem(name, 1, 1, f"no playbook with id {name!r}; known: {', '.join(sorted(found))}")])
    return found[name]
