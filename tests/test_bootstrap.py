"""Paired bootstrap (harness/bootstrap.py) against an independent implementation in the test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.errors import UserError
from harness.results import ResultRecord
from harness.bootstrap import paired_bootstrap

AGGS = {"perplexity": {"fn": "exp_ratio", "columns": ["nll", "count"]},
        "accuracy": {"fn": "ratio", "columns": ["correct", "count"]}}


def typed(d: dict) -> ResultRecord:
    """The result record of the essential fields ``d`` gives."""
    name = d["model"]["name"]
    return ResultRecord.from_dict({"schema_version": 1, "metrics": {}, "main_metric": "", **d,
                                   "model": {"id": name, "name": name, "spec": name}})


def record(nll, correct, ids=None, name="m"):
    n = len(nll)
    return typed({"task": "global_ppl", "model": {"name": name},
            "items": {"ids": ids or [f"0:{i}" for i in range(n)],
                      "columns": {"nll": list(map(float, nll)), "correct": list(map(float, correct)), "count": [1.0] * n}},
            "aggregations": AGGS, "higher_is_better": {"perplexity": False, "accuracy": True}})


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


# ------------------------------------------------------------------ sequence (cluster) bootstrap

LM_AGGS = {**AGGS, "nll": {"fn": "ratio", "columns": ["nll", "count"]}}


def lm_record(seq_nll: list[np.ndarray], name="m"):
    """Per-token items of an LM result: ids "s:p", one cluster per sequence."""
    ids = [f"{s}:{p}" for s, x in enumerate(seq_nll) for p in range(len(x))]
    nll = np.concatenate(seq_nll)
    return typed({"task": "content_word_ppl", "model": {"name": name},
            "items": {"ids": ids, "clusters": [s for s, x in enumerate(seq_nll) for _ in x],
                      "columns": {"nll": nll.tolist(), "correct": [0.0] * len(ids), "count": [1.0] * len(ids)}},
            "aggregations": LM_AGGS, "higher_is_better": {"perplexity": False, "nll": False, "accuracy": True}})


def correlated_sequences(n_seq=120, seed=0, shift=0.05):
    """Token NLLs with a strong per-sequence effect (tokens of one sequence are correlated), A and B = A + shift + noise."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 40, size=n_seq)
    level = rng.normal(3.0, 1.0, size=n_seq)
    a = [np.abs(level[s] + rng.normal(0, 0.3, size=k)) for s, k in enumerate(lengths)]
    effect = rng.normal(shift, 0.2, size=n_seq)  # how much B differs varies by sequence
    b = [x + effect[s] + rng.normal(0, 0.05, size=len(x)) for s, x in enumerate(a)]
    return a, b


def test_sequence_bootstrap_equals_a_loop_over_resampled_sequences():
    a, b = correlated_sequences()
    comps = by_metric(paired_bootstrap(lm_record(a), lm_record(b), n_resamples=400, seed=3))
    rng = np.random.default_rng(3)
    d_nll, d_ppl = [], []
    for _ in range(400):  # independent: draw sequences, concatenate their tokens, recompute both metrics
        draw = rng.integers(0, len(a), size=len(a))
        na = np.concatenate([a[s] for s in draw])
        nb = np.concatenate([b[s] for s in draw])
        d_nll.append(nb.mean() - na.mean())
        d_ppl.append(math.exp(nb.mean()) - math.exp(na.mean()))
    for metric, d in (("nll", d_nll), ("perplexity", d_ppl)):
        c = comps[metric]
        assert (c.lower, c.upper) == pytest.approx((np.quantile(d, 0.025), np.quantile(d, 0.975)), rel=1e-9)
        assert c.unit == "sequence" and c.n_units == len(a) and c.n_items == sum(map(len, a))
    all_a, all_b = np.concatenate(a), np.concatenate(b)
    assert comps["nll"].diff == pytest.approx(all_b.mean() - all_a.mean(), rel=1e-12)
    assert comps["perplexity"].diff == pytest.approx(math.exp(all_b.mean()) - math.exp(all_a.mean()), rel=1e-12)
    # ΔPPL is a view of the same resamples: its interval excludes 0 exactly when ΔNLL's does
    assert comps["nll"].significant == comps["perplexity"].significant


def test_sequence_interval_is_wider_and_matches_the_variance_of_cluster_sums():
    """With correlated tokens, the token-level interval is too narrow; the sequence-level one has the
    bootstrap variance of a ratio of cluster sums: Var* ≈ Σ_c (D_c − Δ n_c)² / N² (D_c = Σ of the
    sequence's token differences, n_c its tokens, N all tokens, Δ = ΣD / N)."""
    a, b = correlated_sequences(n_seq=150, seed=4)
    rec_a, rec_b = lm_record(a), lm_record(b)
    seq = by_metric(paired_bootstrap(rec_a, rec_b, n_resamples=3000, seed=1))["nll"]
    tok = by_metric(paired_bootstrap(rec_a, rec_b, n_resamples=3000, seed=1, unit="item"))["nll"]
    assert tok.unit == "item" and tok.n_units == tok.n_items
    assert (seq.upper - seq.lower) > 2 * (tok.upper - tok.lower)
    d = [y - x for x, y in zip(a, b)]
    D = np.array([x.sum() for x in d])
    n = np.array([len(x) for x in d], dtype=float)
    delta = D.sum() / n.sum()
    sd = math.sqrt(((D - delta * n) ** 2).sum()) / n.sum()
    assert (seq.upper - seq.lower) / (2 * 1.959964 * sd) == pytest.approx(1.0, abs=0.08)


def test_non_additive_metrics_resample_whole_clusters():
    """Spearman is not a sum: the drawn clusters' items are gathered; checked against a loop."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(2)
    human = rng.normal(size=90)
    cos_a, cos_b = human + rng.normal(0, 1, 90), human + rng.normal(0, 0.7, 90)
    clusters = [i // 3 for i in range(90)]  # 30 clusters of 3 items

    def rec(cos):
        return typed({"task": "men", "model": {"name": "m"}, "higher_is_better": {"spearman": True},
                "items": {"ids": [str(i) for i in range(90)], "clusters": clusters,
                          "columns": {"human": human.tolist(), "cosine": cos.tolist()}},
                "aggregations": {"spearman": {"fn": "spearman", "columns": ["human", "cosine"]}}})

    (c,) = paired_bootstrap(rec(cos_a), rec(cos_b), n_resamples=200, seed=5)
    draws = np.random.default_rng(5)
    d = []
    for _ in range(200):
        idx = np.concatenate([np.arange(3 * k, 3 * k + 3) for k in draws.integers(0, 30, size=30)])
        d.append(spearmanr(human[idx], cos_b[idx]).statistic - spearmanr(human[idx], cos_a[idx]).statistic)
    assert (c.lower, c.upper) == pytest.approx((np.quantile(d, 0.025), np.quantile(d, 0.975)), rel=1e-9)
    assert c.unit == "sequence" and c.n_units == 30


def test_every_layers_spearman_with_ties_matches_a_loop_over_resamples():
    """--layers: many Spearman metrics over tied scores, re-ranked per resample from multiplicities."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    human = np.round(rng.normal(size=60) * 2)  # ties
    cos = {(side, layer): np.round(human + rng.normal(0, 1 + layer, 60), 1) for side in "ab" for layer in range(3)}

    def rec(side):
        return typed({"task": "men", "model": {"name": side}, "higher_is_better": {f"spearman.L{l}": True for l in range(3)},
                      "items": {"ids": [str(i) for i in range(60)],
                                "columns": {"human": human.tolist(), **{f"cosine.L{l}": cos[(side, l)].tolist()
                                                                        for l in range(3)}}},
                      "aggregations": {f"spearman.L{l}": {"fn": "spearman", "columns": ["human", f"cosine.L{l}"]}
                                       for l in range(3)}})

    comps = {c.metric: c for c in paired_bootstrap(rec("a"), rec("b"), n_resamples=200, seed=7)}
    draws = np.random.default_rng(7)
    d = {layer: [] for layer in range(3)}
    for _ in range(200):
        idx = draws.integers(0, 60, size=60)
        for layer in range(3):
            d[layer].append(spearmanr(human[idx], cos[("b", layer)][idx]).statistic
                            - spearmanr(human[idx], cos[("a", layer)][idx]).statistic)
    for layer in range(3):
        c = comps[f"spearman.L{layer}"]
        assert (c.lower, c.upper) == pytest.approx((np.quantile(d[layer], 0.025), np.quantile(d[layer], 0.975)), abs=1e-12)


def test_runs_that_group_items_differently_cannot_be_paired():
    a, b = correlated_sequences(n_seq=10)
    rec_b = lm_record(b)
    rec_b.items.clusters = [0] * len(rec_b.items.ids)
    with pytest.raises(UserError, match="different clusters"):
        paired_bootstrap(lm_record(a), rec_b, n_resamples=10)
    with pytest.raises(UserError, match="bootstrap unit"):
        paired_bootstrap(lm_record(a), lm_record(b), n_resamples=10, unit="token")
