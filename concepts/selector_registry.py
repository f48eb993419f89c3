"""The selector registry and what a selector gets, apart from the built-ins' package so that a selector module
registers itself without importing the package that imports it (no import cycle): :mod:`concepts.selectors`
names it.

The one plugin idiom (:mod:`harness.registry`): ``@register_selector(name, settings=MySettings)`` over a factory
``factory(ctx: SelectorContext)`` (a class, usually), ``MySettings`` a dataclass of :func:`harness.config.option`
fields declared once beside it. Its fields become flags of ``harness concepts build`` (through
:attr:`concepts.builder.BuildConfig.selector_settings`, a :func:`~harness.config.provided` field), their values
reach the factory as a typed instance (``ctx.settings(MySettings)``) and key the concept cache as given. The built
selector records what decided its sets with its own ``settings() -> dict`` (the header's ``selector.settings``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

from concepts.concept_sets import MAX_SYNONYMS
from harness.config import option_fields
from harness.registry import Registry


@dataclass(frozen=True)
class Selector:
    """A registered selector: ``factory(ctx)`` builds it; ``settings``: its settings dataclass (or None);
    ``check(settings)``: refuses settings it cannot use, before anything is loaded (also when only a cached file's
    key is computed); ``preflight(settings)``: what a build needs that this machine may lack, checked before the
    corpus and the model load (not for a cache lookup: a cached file needs none of it)."""

    name: str
    factory: Callable[..., Any]
    settings: type | None = None
    check: Callable[[Any], None] | None = None
    preflight: Callable[[Any], None] | None = None

    def __call__(self, ctx: "SelectorContext", *args: Any, **kwargs: Any) -> Any:
        return self.factory(ctx, *args, **kwargs)

    def typed(self, values: dict[str, Any]) -> Any:
        """Its settings (an instance of :attr:`settings`) from the values by field name (absent: the default)."""
        return None if self.settings is None else settings_from(self.settings, values)


SELECTORS: Registry[Selector] = Registry("selector", discover=True)  # walks concepts/selectors (harness.plugins)


def register_selector(name: str, settings: type | None = None, check: Callable[[Any], None] | None = None,
                      preflight: Callable[[Any], None] | None = None):
    """``@register_selector("name", settings=MySettings)`` over the selector's factory (see :class:`Selector`)."""

    def wrap(factory):
        SELECTORS.register(name, Selector(name, factory, settings, check, preflight))
        return factory

    return wrap


def selector_settings() -> list[type]:
    """The settings classes of the registered selectors, in registration order (the order of their flags)."""
    return SELECTORS.settings_classes()


def setting_names() -> list[str]:
    return [f.name for cls in selector_settings() for f in option_fields(cls)]


def settings_from(cls: type, values: dict[str, Any]) -> Any:
    return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


class SelectorContext:
    """What a selector factory may use: the base model the candidates come from, spaCy, the build's shared
    settings, the ``--corpus`` it builds from (a name or path, ``""`` when unknown), and the values of the
    settings the registered selectors declare, by field name (``SelectorContext(model, threshold=0.5)``), read
    as a typed instance with :meth:`settings`."""

    def __init__(self, model: Any, nlp: Any = None, *, max_synonyms: int = MAX_SYNONYMS,
                 max_batch_tokens: int | None = None, device: str = "auto", dtype: str = "auto",
                 batch_size: int = 16, corpus: str = "", **settings: Any) -> None:
        unknown = sorted(set(settings) - set(setting_names())) if settings else []
        if unknown:
            raise TypeError(f"SelectorContext got settings no registered selector declares: {', '.join(unknown)}")
        self.model = model  # harness.lm.interface.LanguageModel
        self.nlp = nlp
        self.max_synonyms = max_synonyms
        self.max_batch_tokens = max_batch_tokens
        self.device, self.dtype = device, dtype
        self.batch_size = batch_size  # the llm judge's decode group (rows decoded together)
        self.corpus = corpus
        self.values = dict(settings)

    def settings(self, cls: type) -> Any:
        """The settings dataclass ``cls`` a selector declared, from the values given (else its defaults)."""
        return settings_from(cls, self.values)
