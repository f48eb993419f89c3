"""Named aggregations from per-item columns to a metric value.

Kept numpy/scipy-only (no torch) so ``harness compare`` and the leaderboard can
recompute metrics on bootstrap resamples from result files alone.

- ``spearman(human, score)``: Spearman rank correlation ρ of the two columns.
- ``mean(x)``: Σx / n.
- ``ratio(num, den)``: Σnum / Σden (e.g. accuracy = Σcorrect / Σtokens).
- ``exp_ratio(num, den)``: exp(Σnum / Σden) (perplexity = exp(ΣNLL / N)).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ = Pearson correlation of average ranks (ties share their mean rank); undefined (NaN)
    for fewer than 2 items or a constant side, which the result file then reports as undefined (so
    scipy's warning about it is ours to handle, not the user's to read)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a), np.asarray(b)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else float("nan")


def ratio(num: np.ndarray, den: np.ndarray) -> float:
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d else float("nan")


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
AGGREGATORS: dict[str, Callable[..., float]] = {
    "spearman": spearman,
    "mean": mean,
    "ratio": ratio,
    "exp_ratio": exp_ratio,
}


def aggregate(fn: str, columns: dict[str, np.ndarray], names: tuple[str, ...] | list[str], index: np.ndarray | None = None) -> float:
    """Apply aggregation ``fn`` to the named columns, optionally on the rows ``index``."""
    cols = [np.asarray(columns[n], dtype=float) for n in names]
    if index is not None:
        cols = [c[index] for c in cols]
    return AGGREGATORS[fn](*cols)
