"""The selector registry, apart from the built-ins' package so that a selector module registers itself
without importing the package that imports it (no import cycle): :mod:`concepts.selectors` names it."""

from __future__ import annotations

from harness.registry import Registry

SELECTORS: Registry = Registry("selector")
