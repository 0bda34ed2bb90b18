"""The ``muster`` command line: one Typer app, its commands in three modules."""

from importlib import import_module

from muster.cli.console import app

__all__ = ["app", "main"]

# Importing a module registers its commands; this order is the order of `muster --help`.
for _module in ("plans", "records", "operations"):
    import_module(f"muster.cli.{_module}")


def main() -> None:
    """Entry point of the ``muster`` script."""
    app()
