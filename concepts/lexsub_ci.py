"""Bootstrap confidence intervals over gold targets for the lexical-substitution measures, overall and by POS.

Every measure of :mod:`concepts.lexsub_score` is a ratio of column sums over instances
(:data:`~concepts.lexsub_score.RATIOS`; F1 = 2PR/(P+R) of the resampled P and R), so a resample is the
instances' multiplicities times their columns. The unit is a *target* (a gold instance with substitutes, matched
or not: an unmatched one adds to |T| only), drawn with replacement: ``rng = numpy.random.default_rng(seed)``, one
``rng.integers(0, n, size=n)`` per resample, ``n_resamples`` of them; the 95% interval is the 2.5th–97.5th
percentile of the resampled values (NaN resamples, e.g. no attempted instance drawn, left out). The same seed
gives the same intervals. A POS's interval resamples that POS's targets only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from concepts.lexsub_score import COLUMNS, RATIOS, LexsubScore

MEASURES = ("coverage", "mean_set_size", "precision", "recall", "f1", "recall_single", "best_precision",
            "best_recall", "oot_precision", "oot_recall", "best_mode_precision", "best_mode_recall",
            "oot_mode_precision", "oot_mode_recall")
POS_NAMES = {"n": "noun", "v": "verb", "a": "adjective", "r": "adverb"}


@dataclass
class Interval:
    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float | None]:
        return {k: (None if v != v else float(v)) for k, v in (("value", self.value), ("low", self.low),
                                                               ("high", self.high))}


def _measures(sums: np.ndarray) -> dict[str, np.ndarray]:
    """Each measure from column sums ``sums[..., column]`` (NaN where the denominator is 0)."""
    col = {c: sums[..., k] for k, c in enumerate(COLUMNS)}
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, (num, den) in RATIOS.items():
            out[name] = np.where(col[den] > 0, col[num] / np.where(col[den] > 0, col[den], 1), np.nan)
        p, r = out["precision"], out["recall"]
        both = p + r
        out["f1"] = np.where(both > 0, 2 * p * r / np.where(both > 0, both, 1), np.where(np.isnan(both), np.nan, 0.0))
    return out


def intervals(s: LexsubScore, n_resamples: int = 1000, seed: int = 0) -> dict[str, Interval]:
    """Each measure of :data:`MEASURES` with its percentile interval over resampled targets (module docstring)."""
    table = np.array([[float(getattr(r, c)) for c in COLUMNS] for r in s.rows]).reshape(len(s.rows), len(COLUMNS))
    point = {m: float(getattr(s, m)) for m in MEASURES}
    n = len(s.rows)
    if n == 0:
        return {m: Interval(point[m], float("nan"), float("nan")) for m in MEASURES}
    rng = np.random.default_rng(seed)
    sums = np.stack([np.bincount(rng.integers(0, n, size=n), minlength=n) @ table for _ in range(n_resamples)])
    resampled = _measures(sums)
    out = {}
    for m in MEASURES:
        vals = resampled[m][~np.isnan(resampled[m])]
        lo, hi = (np.percentile(vals, [2.5, 97.5]) if len(vals) else (float("nan"), float("nan")))
        out[m] = Interval(point[m], float(lo), float(hi))
    return out


def by_pos(s: LexsubScore, n_resamples: int = 1000, seed: int = 0) -> dict[str, dict[str, Interval]]:
    """``{"all": intervals(s), "n": ..., "v": ..., ...}`` for every POS that has a target."""
    out = {"all": intervals(s, n_resamples, seed)}
    for pos in POS_NAMES:
        sub = s.subset(pos)
        if sub.rows:
            out[pos] = intervals(sub, n_resamples, seed)
    return out

