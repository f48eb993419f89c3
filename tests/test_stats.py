"""Paired bootstrap (harness/stats.py) against an independent implementation in the test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.errors import UserError
from harness.stats import paired_bootstrap

AGGS = {"perplexity": {"fn": "exp_ratio", "columns": ["nll", "count"]},
        "accuracy": {"fn": "ratio", "columns": ["correct", "count"]}}


def record(nll, correct, ids=None, name="m"):
    n = len(nll)
    return {"task": "global_ppl", "model": {"name": name},
            "items": {"ids": ids or [f"0:{i}" for i in range(n)],
                      "columns": {"nll": list(map(float, nll)), "correct": list(map(float, correct)), "count": [1.0] * n}},
            "aggregations": AGGS, "higher_is_better": {"perplexity": False, "accuracy": True}}


def reference_bootstrap(nll_a, nll_b, n_resamples, seed, confidence=0.95):
    """Percentile interval of Δ = exp(mean nll_B) − exp(mean nll_A) over paired resamples, by hand."""
    rng = np.random.default_rng(seed)
    n = len(nll_a)
    diffs = []
    for _ in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        diffs.append(math.exp(nll_b[idx].sum() / n) - math.exp(nll_a[idx].sum() / n))
    alpha = (1 - confidence) / 2
    return float(np.quantile(diffs, alpha)), float(np.quantile(diffs, 1 - alpha))


@pytest.fixture()
def tokens():
    rng = np.random.default_rng(11)
    nll = rng.gamma(2.0, 1.5, size=400)
    correct = (rng.random(400) < 0.4).astype(float)
    return nll, correct


def by_metric(comps):
    return {c.metric: c for c in comps}


def test_identical_results_give_an_interval_containing_zero(tokens):
    nll, correct = tokens
    comps = by_metric(paired_bootstrap(record(nll, correct), record(nll, correct), n_resamples=300, seed=0))
    for c in comps.values():
        assert c.lower <= 0 <= c.upper and c.diff == 0 and not c.significant
        assert c.n_items == 400


def test_constant_shift_is_recovered(tokens):
    nll, correct = tokens
    shift = 0.05
    noise = np.random.default_rng(5).normal(0, 0.01, size=len(nll))
    nll_b = nll + shift + noise
    comps = by_metric(paired_bootstrap(record(nll, correct), record(nll_b, correct), n_resamples=500, seed=1))
    ppl = comps["perplexity"]
    true_diff = math.exp(nll.mean() + shift) - math.exp(nll.mean())
    assert ppl.lower < true_diff < ppl.upper
    assert ppl.significant and ppl.lower > 0
    assert ppl.a == pytest.approx(math.exp(nll.mean())) and ppl.b == pytest.approx(math.exp(nll_b.mean()))
    # the interval equals an independent percentile bootstrap with the same draws
    lo, hi = reference_bootstrap(nll, nll_b, 500, seed=1)
    assert (ppl.lower, ppl.upper) == pytest.approx((lo, hi), rel=1e-9)
    # accuracy: every token flips from wrong to right with probability ~0.5 -> a shift of ~+0.3
    flip = np.random.default_rng(2).random(len(correct)) < 0.5
    correct_b = np.where(flip, 1.0, correct)
    acc = by_metric(paired_bootstrap(record(nll, correct), record(nll, correct_b), n_resamples=500, seed=1))["accuracy"]
    assert acc.lower < correct_b.mean() - correct.mean() < acc.upper and acc.significant


def test_same_seed_same_interval(tokens):
    nll, correct = tokens
    a, b = record(nll, correct), record(nll * 1.01, correct)
    first = paired_bootstrap(a, b, n_resamples=200, seed=7)
    second = paired_bootstrap(a, b, n_resamples=200, seed=7)
    other = paired_bootstrap(a, b, n_resamples=200, seed=8)
    assert [c.to_dict() for c in first] == [c.to_dict() for c in second]
    assert by_metric(first)["perplexity"].lower != by_metric(other)["perplexity"].lower


def test_items_are_paired_by_id_not_order(tokens):
    nll, correct = tokens
    nll_b = nll + 0.1
    perm = np.random.default_rng(0).permutation(len(nll))
    ids = [f"0:{i}" for i in range(len(nll))]
    shuffled = record(nll_b[perm], correct[perm], ids=[ids[i] for i in perm])
    straight = paired_bootstrap(record(nll, correct), record(nll_b, correct), n_resamples=100, seed=0)
    paired = paired_bootstrap(record(nll, correct), shuffled, n_resamples=100, seed=0)
    assert by_metric(straight)["perplexity"].diff == pytest.approx(by_metric(paired)["perplexity"].diff)
    assert by_metric(straight)["accuracy"].diff == pytest.approx(by_metric(paired)["accuracy"].diff)


def test_no_common_items_is_a_user_error(tokens):
    nll, correct = tokens
    other = record(nll, correct, ids=[f"9:{i}" for i in range(len(nll))])
    with pytest.raises(UserError, match="no common items"):
        paired_bootstrap(record(nll, correct), other, n_resamples=10)
