"""Paired bootstrap confidence intervals between two runs of the same task.

Runs A (usually the base model) and B are paired item by item (matched by id). Each of
``n_resamples`` resamples draws C *units* with replacement from the C units of the common items,
the same draw for both runs and every metric (``rng.integers(0, C, size=C)``, one call per
resample, ``rng = numpy.random.default_rng(seed)``), and recomputes every metric from the per-item
columns of the drawn units with its named aggregation (:mod:`harness.aggregate`). The 95%
interval of Δ = metric(B) − metric(A) is the 2.5th–97.5th percentile of the resampled Δ; an
interval that contains 0 is marked not significant (the paper's ``*``).

Units (``unit``, recorded in every :class:`MetricComparison`):

- ``sequence`` (the default): a unit is a cluster of items, ``items.clusters`` of the results (LM
  tasks: one held-out sequence with all its scored tokens). Tokens of one sequence share a topic
  and a context, so their errors are correlated; resampling them one by one treats them as
  independent and gives intervals that are too narrow. Similarity pairs and geometry concepts are
  one item per cluster, so for them both units agree. Units are numbered in order of first
  appearance among A's common items. Results without clusters (older files) fall back to ``item``.
- ``item``: every item is its own unit (the token-level bootstrap of earlier versions; the same
  draws as they made).

Compact copies (:mod:`harness.compaction`) hold one item per sequence with its column sums, in the
sequences' order of first appearance: the units are numbered as on the full file, the per-unit sums
below are the same numbers, so the same seed gives the same draws, the same resampled Δ and the same
interval; ``n_items`` counts the full file's items (``n_items`` column). A full record compared with a
compact one is compacted in memory first; ``item`` on a copy compacted per sequence is refused.

ΔNLL and ΔPPL: the LM tasks report ``nll`` = ΣNLL/N and ``perplexity`` = exp(ΣNLL/N) from the same
resamples, so per resample r ΔNLL_r = NLL_B,r − NLL_A,r and ΔPPL_r = exp(NLL_B,r) − exp(NLL_A,r)
(same sign, so the same significance). The PPL interval is the percentile interval of those
ΔPPL_r, not the exponential of the NLL interval's ends.

Speed: ``mean``, ``ratio`` and ``exp_ratio`` are functions of column sums, so each column is
summed per unit once (in its own file's item order, as a compact copy sums it) and a resample is
the units' multiplicities (``bincount`` of the draw) times those sums: O(C) per resample whatever
the number of tokens. Each column's total is reduced on its own (numpy's pairwise sum, not a matrix
product, whose result for one column can depend on the other columns: a compact copy has others).
``spearman`` ranks each column once and re-ranks a resample from the items' multiplicities
(:class:`harness.aggregate.ResampledSpearman`, every layer's ρ in one call); other aggregations
gather the items of the drawn units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.aggregate import SUM_DECOMPOSABLE, ResampledSpearman, aggregate, from_sums
from harness.compaction import ITEMS_COLUMN, comparable
from harness.comparison import MetricComparison
from harness.errors import UserError
from harness.results import ResultRecord

UNITS = ("sequence", "item")


@dataclass
class PairedItems:
    """The items both runs share, aligned, and the resampling unit of each."""

    cols_a: dict[str, np.ndarray]
    cols_b: dict[str, np.ndarray]
    units: np.ndarray  # unit number (0..n_units−1) of each common item
    n_units: int
    unit: str
    n_items: int  # items compared: of the full files, for copies compacted per sequence
    order_b: np.ndarray  # the common items in B's file order (A's order is theirs): how each side's sums are formed


def first_appearance_codes(labels: list) -> np.ndarray:
    """0, 1, ... per distinct label, numbered in order of first appearance."""
    index: dict = {}
    return np.array([index.setdefault(label, len(index)) for label in labels], dtype=np.int64)


def pair_items(rec_a: ResultRecord, rec_b: ResultRecord, unit: str = "sequence") -> PairedItems:
    if unit not in UNITS:
        raise UserError(f"bootstrap unit must be one of {', '.join(UNITS)} (got {unit!r})")
    items_a, items_b = rec_a.items, rec_b.items
    assert items_a is not None and items_b is not None, "paired_bootstrap checks both records hold items"
    pos_b = {i: k for k, i in enumerate(items_b.ids)}
    common = [(k, pos_b[i]) for k, i in enumerate(items_a.ids) if i in pos_b]
    if not common:
        raise UserError(f"no common items between the two {rec_a.task} results: cannot pair them")
    ia = np.array([c[0] for c in common])
    ib = np.array([c[1] for c in common])
    cols_a = {n: np.asarray(v, dtype=float)[ia] for n, v in items_a.columns.items()}
    cols_b = {n: np.asarray(v, dtype=float)[ib] for n, v in items_b.columns.items()}
    clusters_a, clusters_b = items_a.clusters, items_b.clusters
    merged = rec_a.compacted is not None and rec_a.compacted.per_cluster and ITEMS_COLUMN in cols_a
    n_items = int(cols_a[ITEMS_COLUMN].sum()) if merged else len(common)
    if unit == "item" or clusters_a is None or clusters_b is None:
        return PairedItems(cols_a, cols_b, np.arange(len(common)), len(common), "item", n_items, np.argsort(ib))
    ca = [clusters_a[k] for k in ia.tolist()]
    cb = [clusters_b[k] for k in ib.tolist()]
    codes = first_appearance_codes(ca)
    if not np.array_equal(codes, first_appearance_codes(cb)):
        raise UserError(f"the two {rec_a.task} results group their common items into different clusters: "
                        f"they were not computed on the same sequences")
    return PairedItems(cols_a, cols_b, codes, int(codes.max()) + 1, "sequence", n_items, np.argsort(ib))


def resampled_diffs(p: PairedItems, metrics: list[tuple[str, str, list[str], Any]], n_resamples: int,
                    seed: int) -> np.ndarray:
    """(n_resamples, len(metrics)): metric(B) − metric(A) on each resample of units; ``metrics`` holds
    (name, aggregation, its columns, its recorded settings)."""
    C = p.n_units
    summed = [j for j, (_, fn, _, _) in enumerate(metrics) if fn in SUM_DECOMPOSABLE]
    gathered = [j for j in range(len(metrics)) if j not in summed]
    ranked = [j for j in gathered if metrics[j][1] == "spearman"]  # all at once per resample
    rank_pairs = [(metrics[j][2][0], metrics[j][2][1]) for j in ranked]
    rhos = [ResampledSpearman(cols, rank_pairs) for cols in (p.cols_a, p.cols_b)] if ranked else []
    gathered = [j for j in gathered if j not in ranked]
    keys = list(dict.fromkeys((side, c) for j in summed for side in "ab" for c in metrics[j][2]))
    per_unit = [np.bincount(p.units, weights=p.cols_a[c], minlength=C) if side == "a" else
                np.bincount(p.units[p.order_b], weights=p.cols_b[c][p.order_b], minlength=C) for side, c in keys]
    per_unit.append(np.bincount(p.units, minlength=C).astype(float))  # items per unit
    sums = np.stack(per_unit)  # (columns, units): each row reduced on its own below
    totals = np.empty((n_resamples, len(per_unit)))
    members = np.argsort(p.units, kind="stable")
    sizes = np.bincount(p.units, minlength=C)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    diffs = np.full((n_resamples, len(metrics)), np.nan)
    rng = np.random.default_rng(seed)
    for r in range(n_resamples):
        draw = rng.integers(0, C, size=C)
        drawn = np.bincount(draw, minlength=C).astype(float)  # how often each unit was drawn
        totals[r] = (sums * drawn).sum(axis=1)  # row by row (pairwise sums), whatever the other rows: not BLAS
        if ranked:  # an item counts as often as its unit was drawn
            diffs[r, ranked] = rhos[1](drawn[p.units]) - rhos[0](drawn[p.units])
        if gathered:
            lens = sizes[draw]
            offsets = np.repeat(starts[draw] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
            idx = members[offsets + np.arange(int(lens.sum()))]
            for j in gathered:
                _, fn, names, settings = metrics[j]
                diffs[r, j] = aggregate(fn, p.cols_b, names, idx, settings) - aggregate(fn, p.cols_a, names, idx, settings)
    count = totals[:, -1]
    for j in summed:
        _, fn, names, _ = metrics[j]
        side = {s: totals[:, [keys.index((s, c)) for c in names]] for s in "ab"}
        diffs[:, j] = from_sums(fn, side["b"], count) - from_sums(fn, side["a"], count)
    return diffs


def paired_bootstrap(rec_a: ResultRecord, rec_b: ResultRecord, n_resamples: int = 1000, seed: int = 0,
                     confidence: float = 0.95, unit: str = "sequence") -> list[MetricComparison]:
    """Compare two results of one task metric by metric (every metric both aggregate and both define on the
    common items: an undefined one, e.g. a correlation of constant values, is left out, never NaN)."""
    for rec in (rec_a, rec_b):
        if not rec.items or not rec.aggregations:
            raise UserError(f"{rec.task} result of {rec.model.name} has no per-item values to bootstrap")
    rec_a, rec_b = comparable(rec_a, rec_b, unit)
    p = pair_items(rec_a, rec_b, unit)
    metrics = [(m, agg.fn, list(agg.columns), agg.settings) for m, agg in rec_b.aggregations.items()
               if m in rec_a.aggregations]
    diffs = resampled_diffs(p, metrics, n_resamples, seed)
    alpha = (1 - confidence) / 2
    hib = rec_b.higher_is_better
    out = []
    for j, (metric, fn, names, settings) in enumerate(metrics):
        a_full = aggregate(fn, p.cols_a, names, settings=settings)
        b_full = aggregate(fn, p.cols_b, names, settings=settings)
        d = diffs[:, j][np.isfinite(diffs[:, j])]
        if not (len(d) and math.isfinite(a_full) and math.isfinite(b_full)):
            continue  # undefined on these items (e.g. a correlation of constant values): nothing to compare
        lo, hi = float(np.quantile(d, alpha)), float(np.quantile(d, 1 - alpha))
        out.append(MetricComparison(
            metric=metric, a=a_full, b=b_full, diff=b_full - a_full, lower=lo, upper=hi,
            significant=bool(lo > 0 or hi < 0), higher_is_better=hib.get(metric),
            n_items=p.n_items, n_resamples=n_resamples, seed=seed, unit=p.unit, n_units=p.n_units,
        ))
    return out
