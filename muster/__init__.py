"""Muster: emergency plans as runnable playbooks.

This package is the composition root (settings, the ``muster`` CLI, the HTTP
service). It deliberately imports nothing at package level: the domain packages
import only its leaf module :mod:`muster.errors`, which holds the one error tree.
"""

__version__ = "0.1.0"
