"""One typed registry: register, get, list. Duplicate names raise; unknown names
suggest the nearest registered ones, as in ``did you mean simlex999?``."""

from __future__ import annotations

import difflib
from typing import Generic, Iterator, TypeVar

from harness.errors import UserError

T = TypeVar("T")
REGISTRIES: dict[str, "Registry"] = {}


class Registry(Generic[T]):
    """A name -> object mapping for one kind of plugin (tasks, objectives, selectors).

    Every registry is also listed in :data:`REGISTRIES` by kind, so ``harness list`` can show
    the plugins of every kind without importing the packages that define them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        REGISTRIES.setdefault(kind, self)  # the first registry of a kind is the real one

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        if name not in self._items:
            raise UserError(self.unknown_message(name))
        return self._items[name]

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        known = ", ".join(sorted(self._items)) or "none"
        return f"unknown {self.kind} {name!r}{hint} (known: {known})"

    def names(self) -> list[str]:
        return sorted(self._items)

    def registered(self) -> list[T]:
        """Every registered object, in registration order."""
        return list(self._items.values())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def parse_names(spec: str, registry: Registry) -> list[str]:
    """Split a comma-separated list of names (``all`` = every registered one) and check each; a name given
    twice is used once, and a list that names nothing is a user error (never "all")."""
    names = list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    if not names:
        raise UserError(f"{spec!r} names no {registry.kind}")
    if names == ["all"]:
        return registry.names()
    for n in names:
        registry.get(n)
    return names
