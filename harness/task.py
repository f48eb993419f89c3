"""The task contract, in the style of lm-evaluation-harness: a task declares its
name, description, metrics (each with ``higher_is_better``) and main metric, and
turns a loaded model into a :class:`TaskOutput`. Tasks never write files; the
runner does (:mod:`harness.runner`).

Per-item raw values travel with every output (:class:`Items`) together with
named aggregations (:mod:`harness.aggregate`), so a paired bootstrap can
recompute any metric on a resample without the task's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from harness.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel
    from harness.runner import EvalContext


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    description: str = ""


@dataclass(frozen=True)
class Aggregation:
    """``metric = AGGREGATORS[fn](*[items.columns[c] for c in columns])``."""

    fn: str
    columns: tuple[str, ...]


@dataclass
class Items:
    """Per-item raw values: ``ids[i]`` names item i, ``columns[c][i]`` is its value in column c,
    ``clusters[i]`` the unit item i is resampled with (LM tasks: its sequence; ``None``: every item
    its own cluster).

    A paired bootstrap resamples clusters (or single items) shared by two runs, matched by item id.
    """

    ids: list[str]
    columns: dict[str, list[float]]
    clusters: list[int] | None = None

    def __post_init__(self) -> None:
        for name, col in self.columns.items():
            assert len(col) == len(self.ids), f"column {name} has {len(col)} values for {len(self.ids)} ids"
        assert self.clusters is None or len(self.clusters) == len(self.ids), "one cluster per item"

    def cluster_ids(self) -> list[int]:
        return list(range(len(self.ids))) if self.clusters is None else list(self.clusters)


@dataclass
class TaskOutput:
    """What one task run produced for one model (and one variant, e.g. one corpus)."""

    metrics: dict[str, float]
    items: Items
    aggregations: dict[str, Aggregation]
    protocol: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # data sources and their sha256
    variant: str = ""  # e.g. the corpus name for LM tasks; part of the result file name


@dataclass
class Task:
    """A registered evaluation task.

    ``prepare(ctx)`` resolves and parses the task's data before any model is loaded, so a
    missing or malformed file fails fast and no result is written; ``run(model, ctx, prepared)``
    returns one :class:`TaskOutput` per variant (most tasks: one; LM tasks: one per corpus).
    ``requires`` names model capabilities: ``"hidden_states"`` (any model),
    ``"causal_lm"`` (next-token logits; not sentence encoders).
    """

    name: str
    description: str
    metrics: tuple[Metric, ...]
    main_metric: str
    run: Callable[["LanguageModel", "EvalContext", Any], list[TaskOutput]]
    prepare: Callable[["EvalContext"], Any] = lambda ctx: None
    requires: frozenset[str] = frozenset({"hidden_states"})
    group: str = ""

    def __post_init__(self) -> None:
        assert self.main_metric in {m.name for m in self.metrics}, f"{self.name}: main metric not among metrics"

    @property
    def higher_is_better(self) -> dict[str, bool]:
        return {m.name: m.higher_is_better for m in self.metrics}


TASKS: Registry[Task] = Registry("task")


def register_task(task: Task) -> Task:
    return TASKS.register(task.name, task)
