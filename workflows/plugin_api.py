"""The public plugin API: everything a plugin (a task, an objective, an aggregation, a selector) may
import, in one place. It is the stable surface: names here keep their meaning across releases; anything
else in the project (``harness.*``, ``tasks.*``, ``trainers.*``) is internal and may move.

A plugin is a module that registers at its top level (the idiom of :mod:`harness.registry`): a name, a
settings dataclass of :func:`option` fields declared once (its flags, typed values and records follow),
found by discovery (a module of a built-in plugin package, a ``harness.plugins`` entry point, or
:func:`import_plugin`)::

    from workflows.plugin_api import Metric, Task, TaskOutput, Items, Aggregation, option, register_task

    @dataclass(frozen=True)
    class MySettings:
        my_scale: float = option(1.0, help="what it scales")   # the flag --my-scale of harness eval

    def run(lm, ctx, prepared):
        scale = ctx.settings(MySettings).my_scale
        ...

    register_task(Task(name="my_task", ..., run=run, settings=MySettings))

Objectives: ``@register_objective(name, description, settings=...)`` over ``fn(logits, labels, concepts,
settings) -> LossOutput``, reading their own settings with ``settings.of(MySettings)`` and building on the
shared terms (:func:`ntp_terms`, :func:`combine`, ...). Aggregations: ``@register_aggregation(name,
description, settings=...)`` over ``fn(*columns[, settings])``, named by a metric's
``Aggregation(fn, columns, settings={...})`` (the values are recorded, so every bootstrap recomputes the
metric with them). Selectors: ``@register_selector(name, settings=...)`` over a factory ``factory(ctx:
SelectorContext)`` (a class) whose object has ``name``, ``settings() -> dict`` (recorded in the concept file's
header) and ``select(queries: list[SelectionQuery]) -> list[list[str]]``; it reads its own settings with
``ctx.settings(MySettings)`` (their flags join ``harness concepts build``). Tests of a plugin use
:mod:`harness.testing` (a tiny model, fixture files, isolated registries).

It lives in :mod:`workflows`, the top layer, because it re-exports every layer below (the engine, the selector
contract of :mod:`concepts` and the objective contract of :mod:`trainers.objectives`); the layers contract
therefore keeps the rest of the project from importing it, and tests/test_plugin_api.py checks that no other module does.
"""

from __future__ import annotations

from concepts.candidates import SelectionQuery
from concepts.selectors import SELECTORS, register_selector  # the package: the built-ins register before any plugin
from concepts.selector_registry import SelectorContext
from harness.aggregate import AGGREGATIONS, Aggregator, register_aggregation
from harness.config import AT_LEAST_0, AT_LEAST_1, NAMES, POSITIVE, SEED, SHARE, Check, check_fields, option
from harness.data import DataFile
from harness.errors import UserError
from harness.lm.interface import LanguageModel, TokenScores
from harness.plugins import import_plugin, load_plugins
from harness.registry import REGISTRIES, Registry, parse_names
from harness.results import Aggregation, Items, layer_name
from harness.task import (TASKS, EvalContext, EvalOptions, Metric, Task, TaskOption, TaskOutput, register_task,
                          settings_options)
from trainers.objectives import (OBJECTIVES, ConceptBatch, LossOutput, NtpTerms, Objective, ObjectiveSettings, combine,
                                 concept_logprob, content_mask, ntp_terms, register_objective, to_floats)


__all__ = [
    # tasks
    "Task", "Metric", "TaskOption", "TaskOutput", "EvalContext", "EvalOptions", "register_task", "settings_options",
    "TASKS", "Items", "DataFile", "LanguageModel", "TokenScores", "layer_name",
    # aggregations
    "Aggregation", "Aggregator", "register_aggregation", "AGGREGATIONS",
    # objectives
    "register_objective", "OBJECTIVES", "Objective", "ObjectiveSettings", "ConceptBatch", "LossOutput", "NtpTerms",
    "ntp_terms", "concept_logprob", "content_mask", "combine", "to_floats",
    # selectors
    "register_selector", "SELECTORS", "SelectorContext", "SelectionQuery",
    # settings, registries, discovery, errors
    "option", "Check", "check_fields", "AT_LEAST_0", "AT_LEAST_1", "POSITIVE", "SEED", "SHARE", "NAMES",
    "Registry", "REGISTRIES", "parse_names", "import_plugin", "load_plugins", "UserError",
]
