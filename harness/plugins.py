"""Plugin discovery: built-in plugin modules and packages, plus the ``harness.plugins`` entry-point group.

Importing a plugin module registers its tasks, objectives or selectors. A built-in entry that is a
package has every module in it imported, so a new task is one file in ``tasks/`` and nothing else.
Plugins are named here, never imported (the engine imports no plugin package); plugin modules must
not import torch at import time, so ``harness list`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil

BUILTIN_PLUGINS = (
    "tasks",
    "trainers.objectives",
    "concepts.selectors",
)

_loaded = False


def import_plugin(name: str) -> None:
    """Import module ``name``; for a package, also every module in it (in name order)."""
    module = importlib.import_module(name)
    if hasattr(module, "__path__"):
        for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
            importlib.import_module(f"{name}.{info.name}")


def load_plugins() -> None:
    """Import every built-in plugin, then external entry points (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILTIN_PLUGINS:
        import_plugin(name)
    from importlib.metadata import entry_points

    for ep in entry_points(group="harness.plugins"):
        ep.load()
