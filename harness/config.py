"""Typed configs declared once: a run kind is a dataclass whose fields carry their command-line help.

- :func:`option` makes a field one flag: ``--`` + its record key (``_`` → ``-``) unless ``flag`` says
  otherwise, with the field's default, type, choices and help. A bool is a switch (``store_true``;
  ``store_false`` when it defaults to True, whose ``flag`` then names the negation, e.g. ``--no-progress``).
- :func:`nested` puts another config inside this one: its flags join the same command.
- :func:`overrides` gives every option field of another class (e.g. the hyperparameters of a profile)
  an optional flag whose default ``None`` means "not given"; the given ones are collected into a dict.
- :func:`provided` collects into a dict the option fields of classes known only at run time (e.g. the
  settings that registered objectives declare), with their own defaults.

What a value must satisfy is declared with the option too (:class:`Check`: bounds, a comma-separated
list): it is checked where the flag is parsed, so a bad value ends in one line before any work
(``argument --lr: must be greater than 0, got -1``), and :func:`check_fields` applies the same
declarations to a config made in Python. Every float must be finite.

:func:`add_arguments` adds a config class's flags to an argparse parser, :func:`from_args` builds the
config from the parsed namespace, and :func:`recorded` gives its record (fields under their record
keys). A new setting is therefore one field: it becomes a flag of every command that uses the config,
reaches the code as a typed attribute and lands in the records written from it.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, get_type_hints

from harness.value_checks import (AT_LEAST_0, AT_LEAST_1, MAX_SEED, NAMES, NO_CHECK, POSITIVE, SEED,  # noqa: F401
                                  SHARE, Check)  # (declared with the options: plugins import them from here)

META = "harness.config"


@dataclass(frozen=True)
class OptionSpec:
    help: str = ""
    flag: str | None = None  # default: --<key>
    key: str | None = None  # name in records (default: the field name)
    type: Callable[[str], Any] | None = None  # default: the type of the default value, else str
    choices: tuple[Any, ...] | None = None
    kind: str = "option"  # option | nested | overrides | provided
    target: Any = None  # the class of a nested config or of the overridden fields; provided: () -> classes
    check: Check = NO_CHECK


def option(default: Any = MISSING, *, help: str, flag: str | None = None, key: str | None = None,
           type: Callable[[str], Any] | None = None, choices: Iterable[Any] | None = None,
           check: Check = NO_CHECK, default_factory: Any = MISSING) -> Any:
    """A config field that is also a command-line flag (see the module docstring)."""
    spec = OptionSpec(help=help, flag=flag, key=key, type=type, choices=tuple(choices) if choices else None,
                      check=check)
    return field(default=default, default_factory=default_factory, metadata={META: spec})


def nested(cls: type, **defaults: Any) -> Any:
    """A config inside a config; ``defaults`` override some of its field defaults."""
    return field(default_factory=lambda: cls(**defaults), metadata={META: OptionSpec(kind="nested", target=cls)})


def overrides(cls: type) -> Any:
    """A dict of optional values for the option fields of ``cls`` (None or absent: not given)."""
    return field(default_factory=dict, metadata={META: OptionSpec(kind="overrides", target=cls)})


def provided(classes: Callable[[], list[type]]) -> Any:
    """A dict of the option fields of the classes ``classes()`` returns when the flags are made (by default
    their declared defaults, as the flags give them)."""
    return field(default_factory=lambda: {g.name: _default(g) for cls in classes() for g in option_fields(cls)},
                 metadata={META: OptionSpec(kind="provided", target=classes)})


def option_fields(cls: type) -> list[Field]:
    return [f for f in fields(cls) if spec_of(f) is not None and spec_of(f).kind == "option"]


def spec_of(f: Field) -> OptionSpec | None:
    return f.metadata.get(META)


def record_key(f: Field) -> str:
    spec = spec_of(f)
    return (spec.key if spec else None) or f.name


def flag_of(f: Field) -> str:
    spec = spec_of(f)
    return (spec.flag if spec else None) or "--" + record_key(f).replace("_", "-")


def _default(f: Field) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None  # type: ignore[misc]


def _values(config: Any) -> dict[str, Any]:
    """The option values of a config instance by field name, nested configs' included."""
    out: dict[str, Any] = {}
    for f in fields(config):
        spec = spec_of(f)
        if spec is not None and spec.kind == "nested":
            out.update(_values(getattr(config, f.name)))
        elif spec is not None and spec.kind == "option":
            out[f.name] = getattr(config, f.name)
    return out


def add_flag(parser: argparse.ArgumentParser, flag: str, dest: str, default: Any, help: str,
             type: Callable[[str], Any] | None = None, choices: tuple[Any, ...] | None = None,
             required: bool = False, check: Check = NO_CHECK) -> None:
    """One flag, its value checked by ``check`` where it is parsed; a flag already present with the same
    ``dest`` (e.g. ``--seed`` of two nested configs that mean the same seed) is kept as it is, one with
    another ``dest`` is a bug."""
    if isinstance(default, bool):
        kwargs: dict[str, Any] = {"action": "store_false" if default else "store_true", "default": default}
    else:
        kind = type or builtin_type(default)
        kwargs = {"type": _checked(kind, check, flag), "default": None if required else default,
                  "required": required, "metavar": flag.lstrip("-").replace("-", "_").upper()}
        if choices:
            kwargs["choices"], kwargs["metavar"] = choices, None
    try:
        parser.add_argument(flag, dest=dest, help=help, **kwargs)
    except argparse.ArgumentError:
        existing = parser._option_string_actions.get(flag)  # noqa: SLF001 - argparse keeps no public index
        if existing is None or existing.dest != dest:
            raise


def _checked(kind: Callable[[str], Any], check: Check, flag: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return check.parse(text, kind, flag)

    parse.__name__ = getattr(kind, "__name__", "value")  # argparse names the type in some messages
    return parse


def check_fields(config: Any, *, provided: bool = False) -> None:
    """Apply the declared checks to the option fields of a config made in Python (nested ones included, and
    with ``provided`` the values of its provided fields, against their classes' fields, in flag order):
    a one-line UserError naming the flag of the first value refused."""
    for f in fields(config):
        spec, value = spec_of(f), getattr(config, f.name)
        if spec is not None and spec.kind == "nested" and is_dataclass(value):
            check_fields(value, provided=provided)
        elif spec is not None and spec.kind == "option":
            _check_value(f, value)
        elif provided and spec is not None and spec.kind == "provided":
            for g in (g for target in spec.target() for g in option_fields(target)):
                _check_value(g, value.get(g.name))


def _check_value(f: Field, value: Any) -> None:
    from harness.errors import UserError

    spec = spec_of(f)
    if value is None:
        return
    problem = spec.check.value_problem(value)
    if problem is None and spec.choices and value not in spec.choices:
        problem = f"must be one of {', '.join(map(str, spec.choices))}, got {value!r}"
    if problem:
        raise UserError(f"{flag_of(f)} {problem}")


def builtin_type(default: Any) -> Callable[[str], Any]:
    if isinstance(default, Path):
        return Path
    return type(default) if isinstance(default, (int, float)) else str


def add_arguments(parser: argparse.ArgumentParser, cls: type, *, exclude: Iterable[str] = (),
                  required: Iterable[str] = (), defaults: dict[str, Any] | None = None,
                  only: Iterable[str] | None = None) -> None:
    """Add the flags of config class ``cls`` (and of its nested configs); ``exclude``, ``required``,
    ``defaults`` and ``only`` (just these) name fields at any depth."""
    exclude, required, defaults = set(exclude), set(required), dict(defaults or {})
    only = set(only) if only is not None else None
    for f in fields(cls):
        spec = spec_of(f)
        if spec is None or f.name in exclude:
            continue
        if spec.kind == "nested":  # the nested instance's values are the defaults of its flags
            add_arguments(parser, spec.target, exclude=exclude, required=required,
                          defaults={**_values(_default(f)), **defaults}, only=only)
        elif only is not None and f.name not in only:
            continue
        elif spec.kind == "overrides":
            hints = get_type_hints(spec.target)
            for g in option_fields(spec.target):
                if g.name not in exclude:
                    kind = spec_of(g).type or (hints[g.name] if hints[g.name] in (int, float) else str)
                    add_flag(parser, flag_of(g), g.name, None, f"{spec_of(g).help} (default: the profile's)", kind,
                             spec_of(g).choices, check=spec_of(g).check)
        elif spec.kind == "provided":
            for target in spec.target():
                add_arguments(parser, target, exclude=exclude, required=required, defaults=defaults, only=only)
        else:
            add_flag(parser, flag_of(f), f.name, defaults.get(f.name, _default(f)), spec.help, spec.type,
                     spec.choices, required=f.name in required, check=spec.check)


def from_args(cls: type, args: argparse.Namespace, *, exclude: Iterable[str] = (), **given: Any) -> Any:
    """The config ``cls`` from parsed flags; excluded fields and fields without a flag keep their defaults,
    ``given`` fields take the values passed."""
    exclude = set(exclude)
    values: dict[str, Any] = {}
    for f in fields(cls):
        spec = spec_of(f)
        if f.name in given:
            values[f.name] = given[f.name]
        elif spec is None or f.name in exclude:
            continue
        elif spec.kind == "nested":
            values[f.name] = from_args(spec.target, args, exclude=exclude)
        elif spec.kind == "overrides":
            given_values = {g.name: getattr(args, g.name) for g in option_fields(spec.target) if g.name not in exclude}
            values[f.name] = {k: v for k, v in given_values.items() if v is not None}
        elif spec.kind == "provided":
            values[f.name] = {g.name: getattr(args, g.name) for target in spec.target() for g in option_fields(target)
                              if g.name not in exclude}
        else:
            values[f.name] = getattr(args, f.name)
    return cls(**values)


def recorded(config: Any) -> dict[str, Any]:
    """The option fields of ``config`` under their record keys (paths as strings), nested configs inline."""
    out: dict[str, Any] = {}
    for f in fields(config):
        spec = spec_of(f)
        if spec is None:
            continue
        value = getattr(config, f.name)
        if spec.kind == "nested" and is_dataclass(value):
            out.update(recorded(value))
        elif spec.kind == "provided":
            out.update(value)
        else:
            out[record_key(f)] = str(value) if isinstance(value, Path) else value
    return out
