"""Named aggregations from per-item columns to a metric value, in the :data:`AGGREGATIONS` registry.

Kept numpy/scipy-only (no torch) so ``harness compare`` and the leaderboard can
recompute metrics on bootstrap resamples from result files alone.

A plugin adds one with :func:`register_aggregation` (the idiom of :mod:`harness.registry`): a name, a
function of the columns a metric's :class:`~harness.results.Aggregation` names and, optionally, a settings
dataclass of :func:`harness.config.option` fields, whose values the aggregation record carries
(``Aggregation(fn, columns, settings={...})``) and which arrive as ``fn(*columns, settings)``. The paired
bootstrap recomputes a registered aggregation on each resample's rows; only the built-in sum-decomposable
ones (:data:`SUM_DECOMPOSABLE`) take the faster path of :func:`from_sums`.

- ``spearman(human, score)``: Spearman rank correlation ρ of the two columns (:class:`ResampledSpearman`:
  of many column pairs on bootstrap resamples).
- ``mean(x)``: Σx / n.
- ``ratio(num, den)``: Σnum / Σden (e.g. accuracy = Σcorrect / Σtokens).
- ``exp_ratio(num, den)``: exp(Σnum / Σden) (perplexity = exp(ΣNLL / N)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from harness.registry import Registry


@dataclass(frozen=True)
class Aggregator:
    """A registered aggregation: ``fn(*columns)``, or ``fn(*columns, settings)`` with a settings class."""

    name: str
    fn: Callable[..., float]
    description: str = ""
    settings: type | None = None

    def __call__(self, columns: list[np.ndarray], settings: Any = ()) -> float:
        if self.settings is None:
            return self.fn(*columns)
        return self.fn(*columns, self.settings(**dict(settings)))


# the built-ins register below; plugins are found by walking the plugin packages (harness.plugins). Not in
# `harness list`: a user never names an aggregation, a task's metrics do.
AGGREGATIONS: Registry[Aggregator] = Registry("aggregation", discover=True, listed=False)


def register_aggregation(name: str, description: str = "", settings: type | None = None):
    """``@register_aggregation("name", "what it computes")`` over ``fn(*columns)`` (with ``settings``, a
    dataclass of :func:`harness.config.option` fields: ``fn(*columns, settings)``)."""

    def wrap(fn: Callable[..., float]) -> Callable[..., float]:
        AGGREGATIONS.register(name, Aggregator(name, fn, description, settings))
        return fn

    return wrap


@register_aggregation("spearman", "Spearman rank correlation of two columns")
def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ = Pearson correlation of average ranks (ties share their mean rank); undefined (NaN)
    for fewer than 2 items or a constant side, which the result file then reports as undefined (so
    scipy's warning about it is ours to handle, not the user's to read)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a), np.asarray(b)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


class ResampledSpearman:
    """ρ of each ``(x, y)`` column pair on bootstrap resamples given as item multiplicities ``w``: what
    :func:`spearman` gives on the resample's rows, in O(n) per column and resample, no sorting.

    Each column is sorted once, into groups of equal values. In a resample, a group of total multiplicity
    W_g whose predecessors hold S_g items takes the average rank S_g + (W_g + 1)/2 (ties, repeated items
    included, share their mean rank, as in scipy's ``rankdata``); ρ is the Pearson correlation of the ranks
    weighted by ``w``. One call serves every layer's Spearman of a resample (``--layers``: dozens of pairs
    sharing ``human``)."""

    def __init__(self, columns: dict[str, np.ndarray], pairs: list[tuple[str, str]]) -> None:
        names = list(dict.fromkeys(n for pair in pairs for n in pair))
        data = np.column_stack([np.asarray(columns[n], dtype=float) for n in names])
        self.order = np.argsort(data, axis=0, kind="stable")
        ordered = np.take_along_axis(data, self.order, axis=0)
        starts = np.vstack([np.ones((1, data.shape[1]), bool), ordered[1:] != ordered[:-1]])
        groups = np.cumsum(starts.ravel(order="F")).reshape(data.shape, order="F") - 1  # ids unique across columns
        self.groups, self.n_groups = groups, int(groups[-1, -1]) + 1
        self.column_of_group = np.repeat(np.arange(data.shape[1]), starts.sum(axis=0))
        self.nan = np.isnan(data).any(axis=0)
        pos = {n: i for i, n in enumerate(names)}
        self.x, self.y = [pos[a] for a, _ in pairs], [pos[b] for _, b in pairs]

    def __call__(self, w: np.ndarray) -> np.ndarray:
        total = float(w.sum())
        sorted_w = w[self.order]
        group_w = np.bincount(self.groups.ravel(), weights=sorted_w.ravel(), minlength=self.n_groups)
        group_rank = np.cumsum(group_w) - total * self.column_of_group - (group_w - 1) / 2
        ranks = np.empty(self.order.shape)
        np.put_along_axis(ranks, self.order, group_rank[self.groups], axis=0)
        ranks -= (w @ ranks / total) if total else 0.0
        weighted = ranks * w[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = (weighted[:, self.x] * ranks[:, self.y]).sum(axis=0)
            var = (weighted * ranks).sum(axis=0)
            rho = cov / np.sqrt(var[self.x] * var[self.y])
        rho[self.nan[self.x] | self.nan[self.y] | (np.count_nonzero(w) < 2)] = np.nan
        return rho


@register_aggregation("mean", "Σx / n")
def mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else float("nan")


@register_aggregation("ratio", "Σnum / Σden")
def ratio(num: np.ndarray, den: np.ndarray) -> float:
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d else float("nan")


@register_aggregation("exp_ratio", "exp(Σnum / Σden)")
def exp_ratio(num: np.ndarray, den: np.ndarray) -> float:
    r = ratio(num, den)
    return math.exp(r) if not math.isnan(r) else float("nan")


def from_sums(fn: str, sums: np.ndarray, count: np.ndarray) -> np.ndarray:
    """A sum-decomposable metric from totals, vectorised over rows (e.g. bootstrap resamples):
    ``sums[:, j]`` = Σ of the aggregation's column j, ``count`` = number of items.
    mean = Σx / n; ratio = Σnum / Σden; exp_ratio = exp(Σnum / Σden); NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if fn == "mean":
            return np.where(count > 0, sums[:, 0] / count, np.nan)
        r = np.where(sums[:, 1] != 0, sums[:, 0] / sums[:, 1], np.nan)
        return np.exp(r) if fn == "exp_ratio" else r


SUM_DECOMPOSABLE = frozenset({"mean", "ratio", "exp_ratio"})  # what from_sums can compute


def aggregate(fn: str, columns: dict[str, np.ndarray], names: tuple[str, ...] | list[str], index: np.ndarray | None = None,
              settings: Any = ()) -> float:
    """Apply aggregation ``fn`` (with its recorded ``settings``) to the named columns, optionally on the rows ``index``."""
    cols = [np.asarray(columns[n], dtype=float) for n in names]
    if index is not None:
        cols = [c[index] for c in cols]
    return AGGREGATIONS.get(fn)(cols, settings)
