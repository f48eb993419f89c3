"""One typed registry: register, get, list. Duplicate names raise; unknown names
suggest the nearest registered ones, as in ``did you mean simlex999?``.

The one plugin idiom (tasks, objectives, aggregations, selectors): a plugin is

- a **name** in the :class:`Registry` of its kind, registered by a module-level call of that kind's
  register function (``register_task``, ``register_objective``, ``register_aggregation``, ``register_selector``);
- its **settings**, a dataclass of :func:`harness.config.option` fields declared once beside it and passed as
  ``settings=``: the fields become flags (with their help, defaults and checks), reach the plugin as a typed
  instance and land in the records, by the machinery of :mod:`harness.config` (:meth:`Registry.settings_classes`
  lists them);
- found by **discovery**: :mod:`harness.plugins` walks the built-in plugin packages and the ``harness.plugins``
  entry points, so a new plugin is one module and nothing else. A registry made with ``discover=True`` runs that
  discovery the first time it is asked for a name it lacks or for its full list, so a lookup never depends on
  which plugin modules happen to have been imported already.
"""

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

    def __init__(self, kind: str, *, discover: bool = False, listed: bool = True) -> None:
        self.kind = kind
        self.discover = discover  # a miss or a full listing first imports every plugin (harness.plugins)
        self.listed = listed  # shown by ``harness list`` (kinds a user names on the command line)
        self._items: dict[str, T] = {}
        REGISTRIES.setdefault(kind, self)  # the first registry of a kind is the real one

    def _load(self) -> None:
        if self.discover:
            from harness.plugins import load_plugins

            load_plugins()

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        if name not in self._items:
            self._load()
        if name not in self._items:
            raise UserError(self.unknown_message(name))
        return self._items[name]

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        known = ", ".join(sorted(self._items)) or "none"
        return f"unknown {self.kind} {name!r}{hint} (known: {known})"

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def registered(self) -> list[T]:
        """Every registered object, in registration order."""
        self._load()
        return list(self._items.values())

    def settings_classes(self) -> list[type]:
        """The settings dataclasses the registered plugins declare (their ``settings``), once each, in
        registration order."""
        return list(dict.fromkeys(s for s in (getattr(i, "settings", None) for i in self.registered()) if s is not None))

    def __contains__(self, name: object) -> bool:
        if name not in self._items:
            self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
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
