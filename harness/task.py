"""The task contract, in the style of lm-evaluation-harness and MTEB.

A task declares its name, description, metrics (each with ``higher_is_better`` and the
:class:`~harness.results.Aggregation` that recomputes it from per-item columns: lm-eval's
``MetricSpec`` idea), main metric, its data files by split (:class:`~harness.data.DataFile`, with
checksum and parser) and its own command-line options: :class:`TaskOption` s, or a settings dataclass of
:func:`harness.config.option` fields (``settings=``, the idiom of :mod:`harness.registry`; a task family's
shared settings, e.g. :class:`tasks.heldout.HeldoutSettings`, are one such class), read back typed with
:meth:`EvalContext.settings`. It turns a loaded
model into :class:`TaskOutput` s; the runner (:mod:`harness.runner`) writes them. The engine learns
options and data files from the registered tasks (:func:`declared_options`, :func:`declared_data`),
never from a table of its own.

What a task sees besides the model is an :class:`EvalContext`: the run's :class:`EvalOptions`
(engine options, and the task options under ``task_options``) and caches its tasks may share.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from harness.config import AT_LEAST_1, NO_CHECK, SEED, Check, add_flag, builtin_type, option, option_fields, spec_of
from harness.errors import UserError
from harness.registry import Registry
from harness.results import Aggregation, Items

if TYPE_CHECKING:  # pragma: no cover
    from harness.data import DataFile
    from harness.lm.interface import LanguageModel
    from harness.models import ModelInfo


@dataclass(frozen=True)
class Metric:
    """A metric a task reports. ``aggregation`` recomputes it from the output's per-item columns (what a
    paired bootstrap resamples); ``None`` for a descriptive figure (a count, a share) that is reported,
    never compared. ``higher_is_better`` is ``None`` for such figures."""

    name: str
    higher_is_better: bool | None
    description: str = ""
    aggregation: Aggregation | None = None


@dataclass(frozen=True)
class TaskOption:
    """A command-line option of a task (``--`` + name with ``-``): ``harness eval``, ``train-and-eval``,
    ``sweep`` accept it once whichever tasks declare it; its value reaches the task as
    ``ctx.option(name)`` (``None`` given: the declared ``default``). Tasks that share an option
    declare the same object. ``check`` says what a value must satisfy (:class:`harness.config.Check`),
    checked where the flag is parsed."""

    name: str
    help: str
    type: Callable[[str], Any] = str
    default: Any = None
    choices: tuple[str, ...] | None = None
    check: Check = NO_CHECK

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        add_flag(parser, self.flag, self.name, self.default, self.help, self.type, self.choices, check=self.check)


def settings_options(cls: type) -> tuple[TaskOption, ...]:
    """The task options of settings dataclass ``cls``: one per :func:`harness.config.option` field, named by
    the field (its flag ``--`` + name with ``-``), with its help, default, type, choices and check."""
    out = []
    for f in option_fields(cls):
        spec, default = spec_of(f), (None if f.default is MISSING else f.default)
        out.append(TaskOption(f.name, spec.help, type=spec.type or builtin_type(default), default=default,
                              choices=spec.choices, check=spec.check))
    return tuple(out)


def task_settings(cls: type, options: EvalOptions) -> Any:
    """Settings dataclass ``cls`` from the run's task option values (a value not given: the field's default)."""
    return cls(**{f.name: options.task_option(f.name, f.default) for f in fields(cls) if f.default is not MISSING})


@dataclass
class TaskOutput:
    """What one task run produced for one model (and one variant, e.g. one corpus): values of declared
    metrics only (:meth:`Task.check_output`), with their per-item columns."""

    metrics: dict[str, float]
    items: Items
    protocol: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # data sources and their sha256
    variant: str = ""  # e.g. the corpus name for LM tasks; part of the result file name
    extra_metrics: tuple[Metric, ...] = ()  # metrics whose number depends on the run (one per --layers layer)


@dataclass
class Task:
    """A registered evaluation task.

    ``prepare(ctx)`` resolves and parses the task's data before any model is loaded, so a
    missing or malformed file fails fast and no result is written; ``run(model, ctx, prepared)``
    returns one :class:`TaskOutput` per variant (most tasks: one; LM tasks: one per corpus).
    ``check(model, ctx, prepared)`` runs for every selected task once the model is loaded, before any task
    runs: a setting that does not fit the model (a layer out of range) fails before anything is written.
    ``requires`` names model capabilities: ``"hidden_states"`` (any model), ``"causal_lm"``
    (next-token logits; not sentence encoders). ``data`` maps a split to its benchmark file;
    ``default_split`` is the one read without options (the main job's). ``settings``: a dataclass of
    :func:`harness.config.option` fields whose options follow ``options`` (:attr:`all_options`).
    """

    name: str
    description: str
    metrics: tuple[Metric, ...]
    main_metric: str
    run: Callable[[LanguageModel, EvalContext, Any], list[TaskOutput]]
    prepare: Callable[[EvalContext], Any] = lambda ctx: None
    check: Callable[[LanguageModel, EvalContext, Any], None] = lambda lm, ctx, prepared: None
    requires: frozenset[str] = frozenset({"hidden_states"})
    options: tuple[TaskOption, ...] = ()
    data: dict[str, DataFile] = field(default_factory=dict)
    default_split: str = "test"
    settings: type | None = None

    def __post_init__(self) -> None:
        names = {m.name for m in self.metrics}
        assert self.main_metric in names, f"{self.name}: main metric not among metrics"
        assert not self.data or self.default_split in self.data, f"{self.name}: no data file for its default split"

    @property
    def all_options(self) -> tuple[TaskOption, ...]:
        """``options``, then those of ``settings``: the flags this task adds."""
        return self.options + (settings_options(self.settings) if self.settings is not None else ())

    @property
    def higher_is_better(self) -> dict[str, bool]:
        return directions(self.metrics)

    @property
    def aggregations(self) -> dict[str, Aggregation]:
        return aggregations(self.metrics)

    def output_metrics(self, out: TaskOutput) -> tuple[Metric, ...]:
        """The task's metrics and those the output declares for its run."""
        return self.metrics + out.extra_metrics

    def check_output(self, out: TaskOutput) -> None:
        """A bug, not a user error: an output reports an undeclared metric, misses a declared one, or lacks
        the columns a declared aggregation reads."""
        metrics = self.output_metrics(out)
        declared = {m.name for m in metrics}
        undeclared = sorted(set(out.metrics) - declared)
        if undeclared:
            raise ValueError(f"task {self.name} reported undeclared metric(s) {', '.join(undeclared)}")
        missing = sorted(declared - set(out.metrics))
        if missing:
            raise ValueError(f"task {self.name} did not report {', '.join(missing)}")
        for metric, agg in ((m.name, m.aggregation) for m in metrics if m.aggregation is not None):
            absent = [c for c in agg.columns if c not in out.items.columns]
            if absent:
                raise ValueError(f"task {self.name}: metric {metric} aggregates missing column(s) {', '.join(absent)}")


def directions(metrics: tuple[Metric, ...]) -> dict[str, bool]:
    return {m.name: m.higher_is_better for m in metrics if m.higher_is_better is not None}


def aggregations(metrics: tuple[Metric, ...]) -> dict[str, Aggregation]:
    return {m.name: m.aggregation for m in metrics if m.aggregation is not None}


TASKS: Registry[Task] = Registry("task", discover=True)  # found by walking tasks/ (harness.plugins)


def register_task(task: Task) -> Task:
    for opt in task.all_options:  # one flag, one meaning: a name two tasks declare must be the same option
        for other in declared_options():
            if other.name == opt.name and other != opt:
                raise ValueError(f"task {task.name} declares option {opt.flag} unlike an earlier task")
    return TASKS.register(task.name, task)


def declared_options() -> list[TaskOption]:
    """Every option of the registered tasks (built-in and plugins), once, in registration order."""
    return list({o.name: o for t in TASKS.registered() for o in t.all_options}.values())


def declared_data() -> list[tuple[Task, str, DataFile]]:
    """(task, split, data file) of every registered task's benchmark files (built-in and plugins)."""
    return [(t, split, df) for t in TASKS.registered() for split, df in t.data.items()]


# ------------------------------------------------------------------ the context of a run


@dataclass
class EvalOptions:
    """Every option of an evaluation: the engine's fields (flags of ``harness eval``) and, in
    ``task_options``, the values of the tasks' own options by name (``None``: the task's default)."""

    results_dir: Path = option(Path("results"), type=Path, help="where result files go (default: results/)")
    data_dir: str | None = option(None, help="benchmark folder laid out like shared/data (default: $HARNESS_DATA_DIR)")
    layer: int = option(-1, type=int, help="hidden-state layer to pool (default -1: final; 0: the embeddings; "
                                           "negative: counted from the last)")
    bos: str = option("context", choices=("context", "declared", "native", "add"),
                      help="token in front of texts for tokenizers that add none: context (default: the token that began "
                           "pretraining documents, e.g. <|endoftext|> where the declared BOS is a chat marker, left out "
                           "of the pool), declared (the declared BOS, else end-of-text, left out of the pool), native "
                           "(as the tokenizer does), add (prepend the context token and pool it)")
    pooling: str | None = option(None, help="pooling of a text's hidden states: mean (default), last (its last token) "
                                            "or echo (the text twice, mean over the second copy)")
    template: str | None = option(None, help="prompt around each text, with {text} where it goes, pooled at its last "
                                             "token (PromptEOL), e.g. 'This word : \"{text}\" means in one word:\"'")
    limit: int | None = option(None, type=int, check=AT_LEAST_1,
                               help="evaluate only the first N items of each task (for quick checks)")
    seed: int = option(0, check=SEED, help="seed of the run (set before every task)")
    max_batch_tokens: int = option(4096, check=AT_LEAST_1, help="padded tokens per forward batch")
    n_resamples: int = option(1000, flag="--bootstrap-resamples", check=AT_LEAST_1,
                              help="paired bootstrap resamples against the base")
    bootstrap_unit: str = option("sequence", choices=("sequence", "item"),
                                 help="paired bootstrap resampling unit: sequence (default: each held-out sequence "
                                      "with all its tokens; pairs and concepts are one item each) or item (single "
                                      "tokens)")
    task_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.embedding_protocol()  # a protocol that cannot work fails here, before any model is loaded

    def embedding_protocol(self):
        """The :class:`~harness.embedding.EmbeddingProtocol` of these options (a user error when it cannot work)."""
        from harness.embedding import EmbeddingProtocol

        return EmbeddingProtocol.of(self.layer, self.bos, self.pooling, self.template)

    def task_option(self, name: str, default: Any = None) -> Any:
        value = self.task_options.get(name)
        return default if value is None else value

    def recorded(self) -> dict[str, Any]:
        d = asdict(self)
        d["results_dir"] = str(self.results_dir)
        return d


class EvalContext:
    """What a task sees besides the model: the options and shared caches of one model's run.

    ``base_model()`` gives the base model of the one evaluated (itself for a base causal LM), loaded at
    most once and only when a task needs it (e.g. to build the held-out concept sets of an adapter's
    base); ``base_dtype()`` the name of the dtype it has, before it is loaded (it keys those cached
    sets); :func:`harness.runner.evaluate` provides both."""

    def __init__(self, options: EvalOptions, model_info: ModelInfo | None = None,
                 base_model: Callable[[], LanguageModel] | None = None,
                 base_dtype: Callable[[], str] | None = None) -> None:
        self.options = options
        self.model_info = model_info
        self.shared: dict[str, Any] = {}  # caches tasks may share within one run (e.g. LM passes)
        self._base_model = base_model
        self._base_dtype = base_dtype
        self._embedding_cache = None

    def option(self, name: str) -> Any:
        """The value of task option ``name``: the one given, else the declaring task's default."""
        declared = {o.name: o for o in declared_options()}
        if name not in declared:
            raise KeyError(f"no registered task declares option {name!r}")
        return self.options.task_option(name, declared[name].default)

    def settings(self, cls: type) -> Any:
        """The settings dataclass ``cls`` a task declared (``Task(settings=cls)``), from the values given."""
        return task_settings(cls, self.options)

    def base_model(self) -> LanguageModel:
        if self._base_model is None:
            raise UserError("this task needs the base model of the one evaluated (run it through harness eval)")
        return self._base_model()

    def base_dtype(self) -> str | None:
        """The dtype name of :meth:`base_model` (``float32``, ``bfloat16``), or None outside a run."""
        return self._base_dtype() if self._base_dtype is not None else None

    def embeddings(self, lm: LanguageModel):
        from harness.embedding_cache import EmbeddingCache

        if self._embedding_cache is None or self._embedding_cache.lm is not lm:
            self._embedding_cache = EmbeddingCache(lm, self.options.embedding_protocol(), self.options.max_batch_tokens)
        return self._embedding_cache
