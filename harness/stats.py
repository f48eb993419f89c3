"""Paired bootstrap confidence intervals between two runs of the same task.

For runs A (usually the base model) and B on the same items (matched by id),
each of ``n_resamples`` resamples draws item indices with replacement, the
same indices for both runs, and recomputes every metric from the per-item
columns with its named aggregation (:mod:`harness.aggregate`). The 95% interval
of Δ = metric(B) − metric(A) is the 2.5th–97.5th percentile of the resampled Δ;
an interval that contains 0 is marked not significant (the paper's ``*``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from harness.aggregate import aggregate
from harness.errors import UserError


@dataclass
class MetricComparison:
    metric: str
    a: float
    b: float
    diff: float  # b − a on the full item set
    lower: float
    upper: float
    significant: bool  # the interval excludes 0
    higher_is_better: bool | None
    n_items: int
    n_resamples: int
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)


def _paired_columns(rec_a: dict, rec_b: dict) -> tuple[dict, dict, int]:
    ids_a = rec_a["items"]["ids"]
    ids_b = rec_b["items"]["ids"]
    pos_b = {i: k for k, i in enumerate(ids_b)}
    common = [(k, pos_b[i]) for k, i in enumerate(ids_a) if i in pos_b]
    if not common:
        raise UserError(f"no common items between the two {rec_a['task']} results: cannot pair them")
    ia = np.array([c[0] for c in common])
    ib = np.array([c[1] for c in common])
    cols_a = {n: np.asarray(v, dtype=float)[ia] for n, v in rec_a["items"]["columns"].items()}
    cols_b = {n: np.asarray(v, dtype=float)[ib] for n, v in rec_b["items"]["columns"].items()}
    return cols_a, cols_b, len(common)


def paired_bootstrap(rec_a: dict, rec_b: dict, n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95) -> list[MetricComparison]:
    """Compare two result records (dicts in the results schema) metric by metric."""
    for rec in (rec_a, rec_b):
        if not rec.get("items") or not rec.get("aggregations"):
            raise UserError(f"{rec['task']} result of {rec['model'].get('name')} has no per-item values to bootstrap")
    cols_a, cols_b, n = _paired_columns(rec_a, rec_b)
    metrics = [(m, agg["fn"], agg["columns"]) for m, agg in rec_b["aggregations"].items() if m in rec_a.get("aggregations", {})]
    rng = np.random.default_rng(seed)
    diffs = np.empty((n_resamples, len(metrics)))
    for r in range(n_resamples):  # one index draw per resample, shared by every metric and both runs
        idx = rng.integers(0, n, size=n)
        for j, (_, fn, names) in enumerate(metrics):
            diffs[r, j] = aggregate(fn, cols_b, names, idx) - aggregate(fn, cols_a, names, idx)
    alpha = (1 - confidence) / 2
    hib = rec_b.get("higher_is_better", {})
    out = []
    for j, (metric, fn, names) in enumerate(metrics):
        a_full = aggregate(fn, cols_a, names)
        b_full = aggregate(fn, cols_b, names)
        d = diffs[:, j][~np.isnan(diffs[:, j])]
        lo, hi = (float(np.quantile(d, alpha)), float(np.quantile(d, 1 - alpha))) if len(d) else (float("nan"),) * 2
        out.append(MetricComparison(
            metric=metric, a=a_full, b=b_full, diff=b_full - a_full, lower=lo, upper=hi,
            significant=bool(lo > 0 or hi < 0), higher_is_better=hib.get(metric),
            n_items=n, n_resamples=n_resamples, seed=seed,
        ))
    return out
