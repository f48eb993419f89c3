"""Plugin discovery: built-in plugin packages, plus the ``harness.plugins`` entry-point group.

Importing a plugin module registers its tasks, objectives, aggregations or selectors (the idiom:
:mod:`harness.registry`). Every built-in entry is a package walked module by module (in name order), so a
new task is one file in ``tasks/`` and a new objective one file in ``trainers/``, and nothing else.

The walk imports the modules that *register* something: those whose top-level statements (decorators
included) call a function or method whose name starts with ``register`` (``register_task(...)``,
``@register_objective(...)``, ``PairSimilarity(...).register()``, ``@register_selector(...)``), read from the
source without importing it. A package's other modules (``trainers.trainer``, which subclasses
transformers' ``Trainer``) are imported only by the code that needs them, so ``harness list`` stays fast.
Plugins are named here, never imported statically (the engine imports no plugin package); plugin modules
must not import torch at import time.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

BUILTIN_PLUGINS = (
    "tasks",
    "trainers",
    "concepts.selectors",
)

_loaded = False


def _calls_register(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            fn = sub.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if name.startswith("register"):
                return True
    return False


def registers(source: str) -> bool:
    """Whether module ``source`` registers a plugin at its top level (see the module docstring)."""
    if "register" not in source:
        return False
    for stmt in ast.parse(source).body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if any(_calls_register(d) for d in stmt.decorator_list):
                return True
        elif _calls_register(stmt):
            return True
    return False


def import_plugin(name: str) -> None:
    """Import module ``name``; for a package, also every module in it that registers a plugin and every
    sub-package (in name order)."""
    module = importlib.import_module(name)
    if not hasattr(module, "__path__"):
        return
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
        spec = None if info.ispkg else importlib.util.find_spec(f"{name}.{info.name}")
        origin = Path(spec.origin) if spec is not None and spec.origin else None  # a sub-package: imported
        if origin is None or origin.suffix != ".py" or registers(origin.read_text(encoding="utf-8")):
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
