"""Plugin discovery: built-in modules plus the ``harness.plugins`` entry-point group.

Importing a plugin module registers its tasks, objectives or selectors. Plugin
modules must not import torch at import time, so ``harness list`` stays fast.
"""

from __future__ import annotations

import importlib

BUILTIN_PLUGINS = (
    "tasks.similarity",
    "tasks.lm",
    "tasks.geometry",
    "trainers.objectives",
    "harness.concepts.selectors",
)

_loaded = False


def load_plugins() -> None:
    """Import every built-in plugin module, then external entry points (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_PLUGINS:
        importlib.import_module(module)
    from importlib.metadata import entry_points

    for ep in entry_points(group="harness.plugins"):
        ep.load()
