"""Compact records (harness/compaction.py): metrics recomputed from the compact items, checked against sums
taken here, and the paired bootstrap on two compact records, checked against the same bootstrap on the two
full records they came from (the full-file bootstrap is itself checked against a loop by hand in test_stats)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from harness.aggregate import aggregate
from harness.compaction import compact_record
from harness.errors import UserError
from harness.result_checks import validate, validate_untrusted
from harness.result_files import result_text
from harness.results import ResultRecord
from harness.bootstrap import paired_bootstrap, pair_items

LM_AGGS = {"perplexity": {"fn": "exp_ratio", "columns": ["nll", "count"]},
           "nll": {"fn": "ratio", "columns": ["nll", "count"]},
           "accuracy": {"fn": "ratio", "columns": ["correct", "count"]}}


def typed(d: dict, name: str) -> ResultRecord:
    return ResultRecord.from_dict({"schema_version": 1, "main_metric": next(iter(d["metrics"])), **d,
                                   "model": {"id": name, "name": name, "spec": name}})


def lm_sequences(n_seq: int, seed: int, shift: float = 0.0, lengths=(40, 160)):
    """Per-sequence token NLLs with a per-sequence level (correlated tokens), and 0/1 correctness."""
    rng = np.random.default_rng(seed)
    sizes = np.random.default_rng(99).integers(*lengths, size=n_seq)  # both runs score the same tokens
    level = np.random.default_rng(98).normal(3.0, 0.8, size=n_seq)
    nll = [np.abs(level[s] + shift + rng.normal(0, 0.5, size=k)) for s, k in enumerate(sizes)]
    ok = [(rng.random(k) < 0.4).astype(float) for k in sizes]
    return nll, ok


def lm_record(nll, ok, name: str, order=None) -> ResultRecord:
    """An LM result of per-token items (ids "s:p", cluster s); ``order`` permutes the items in the file."""
    ids = [f"{s}:{p}" for s, x in enumerate(nll) for p in range(1, len(x) + 1)]
    clusters = [s for s, x in enumerate(nll) for _ in x]
    flat_nll, flat_ok = np.concatenate(nll), np.concatenate(ok)
    n = len(ids)
    metrics = {"perplexity": math.exp(math.fsum(flat_nll) / n), "nll": math.fsum(flat_nll) / n,
               "accuracy": math.fsum(flat_ok) / n, "tokens": float(n)}
    order = np.arange(n) if order is None else order
    items = {"ids": [ids[i] for i in order], "clusters": [clusters[i] for i in order],
             "columns": {"nll": flat_nll[order].tolist(), "correct": flat_ok[order].tolist(), "count": [1.0] * n}}
    return typed({"task": "global_ppl", "variant": "wiki", "metrics": metrics, "aggregations": LM_AGGS, "items": items,
                  "higher_is_better": {"perplexity": False, "nll": False, "accuracy": True}}, name)


def through_file(rec: ResultRecord) -> ResultRecord:
    """What reading the written compact file gives back."""
    d = json.loads(result_text(rec))
    assert validate(d) == [] and validate_untrusted(d) == []
    return ResultRecord.from_dict(d)


def test_lm_items_become_one_per_sequence_with_exact_sums():
    nll, ok = lm_sequences(50, seed=1)
    full = lm_record(nll, ok, "a")
    compact = through_file(compact_record(full, source_sha256="ab" * 32, source_bytes=123))
    assert compact.items.ids == [str(s) for s in range(50)] and compact.items.clusters == list(range(50))
    for s in range(50):
        assert compact.items.columns["nll"][s] == pytest.approx(math.fsum(nll[s]), rel=1e-13)
        assert compact.items.columns["correct"][s] == ok[s].sum()  # integers: exact
        assert compact.items.columns["count"][s] == len(nll[s]) == compact.items.columns["n_items"][s]
    block = compact.compacted
    assert block.per_cluster and block.source_sha256 == "ab" * 32 and block.source_bytes == 123
    assert block.source_items == sum(map(len, nll)) and set(block.summed) == {"nll", "correct", "count"}
    assert compact.metrics == full.metrics  # stored metrics are copied, never recomputed
    cols = {c: np.asarray(v, dtype=float) for c, v in compact.items.columns.items()}
    for metric, agg in compact.aggregations.items():  # every metric recomputed from the compact items
        assert aggregate(agg.fn, cols, agg.columns) == pytest.approx(full.metrics[metric], rel=1e-12)


def test_sequence_bootstrap_of_compact_copies_equals_that_of_the_full_files():
    nll_a, ok_a = lm_sequences(300, seed=2)
    nll_b, ok_b = lm_sequences(300, seed=3, shift=0.03)
    shuffled = np.random.default_rng(5).permutation(sum(map(len, nll_b)))  # B's file lists its tokens in another order
    full_a, full_b = lm_record(nll_a, ok_a, "a"), lm_record(nll_b, ok_b, "b", order=shuffled)
    comp_a, comp_b = through_file(compact_record(full_a)), through_file(compact_record(full_b))
    # the units: sequences numbered by first appearance among A's items, on both kinds of file
    p_full, p_comp = pair_items(full_a, full_b), pair_items(comp_a, comp_b)
    assert p_full.n_units == p_comp.n_units == 300 and np.array_equal(p_comp.units, np.arange(300))
    first_seen = list(dict.fromkeys(full_a.items.clusters))
    assert [int(i) for i in comp_a.items.ids] == first_seen
    reference = paired_bootstrap(full_a, full_b, n_resamples=500, seed=7)
    for a, b in ((comp_a, comp_b), (full_a, comp_b), (comp_a, full_b)):  # mixed: the full one compacted in memory
        got = paired_bootstrap(a, b, n_resamples=500, seed=7)
        assert [c.metric for c in got] == [c.metric for c in reference]
        for c, r in zip(got, reference):
            assert (c.lower, c.upper, c.significant) == (r.lower, r.upper, r.significant)  # same draws, same CI
            assert (c.a, c.b, c.diff) == pytest.approx((r.a, r.b, r.diff), rel=1e-12, abs=1e-15)
            assert (c.n_items, c.n_units, c.unit) == (r.n_items, r.n_units, r.unit) == (sum(map(len, nll_a)), 300,
                                                                                          "sequence")


def test_an_item_bootstrap_of_a_compact_copy_is_refused():
    nll, ok = lm_sequences(10, seed=4)
    comp = through_file(compact_record(lm_record(nll, ok, "a"), source_sha256="cd" * 32))
    full = lm_record(nll, ok, "b")
    for a, b in ((comp, full), (full, comp)):
        with pytest.raises(UserError, match="compacted to one item per sequence.*full file") as err:
            paired_bootstrap(a, b, n_resamples=10, unit="item")
        assert "\n" not in str(err.value) and "cdcdcd" in str(err.value)
    assert paired_bootstrap(full, lm_record(nll, ok, "c"), n_resamples=10, unit="item")  # full files still can


def concept_record(name: str, seed: int) -> ResultRecord:
    """Geometry-like items: several concepts per sequence (cluster), metrics that are means of items."""
    rng = np.random.default_rng(seed)
    seq = np.random.default_rng(0).integers(0, 40, size=200)
    score, other = rng.normal(0.4, 0.1, 200), rng.normal(0.8, 0.05, 200)
    return typed({"task": "clustering", "metrics": {"clustering_score": float(np.mean(score)), "intra": float(np.mean(other))},
                  "aggregations": {"clustering_score": {"fn": "mean", "columns": ["score_item"]},
                                   "intra": {"fn": "mean", "columns": ["intra"]}},
                  "items": {"ids": [f"{s}:{i}" for i, s in enumerate(seq)], "clusters": seq.tolist(),
                            "columns": {"score_item": score.tolist(), "intra": other.tolist(), "n": [3.0] * 200}}},
                 name)


def test_means_become_ratios_over_the_full_files_item_counts():
    full_a, full_b = concept_record("a", 1), concept_record("b", 2)
    comp_a = through_file(compact_record(full_a))
    assert comp_a.aggregations["intra"].fn == "ratio" and comp_a.aggregations["intra"].columns == ("intra", "n_items")
    assert comp_a.compacted.aggregations["intra"].fn == "mean" and comp_a.compacted.dropped == ("n",)
    seq = np.asarray(full_a.items.clusters)
    assert sorted(comp_a.items.columns["n_items"]) == sorted(np.bincount(seq)[np.unique(seq)].tolist())
    cols = {c: np.asarray(v, dtype=float) for c, v in comp_a.items.columns.items()}
    for metric, agg in comp_a.aggregations.items():
        assert aggregate(agg.fn, cols, agg.columns) == pytest.approx(full_a.metrics[metric], rel=1e-12)
    reference = paired_bootstrap(full_a, full_b, n_resamples=300, seed=1)
    got = paired_bootstrap(comp_a, through_file(compact_record(full_b)), n_resamples=300, seed=1)
    assert [(c.lower, c.upper, c.n_items) for c in got] == [(r.lower, r.upper, r.n_items) for r in reference]


def pair_record(name: str, seed: int, n: int = 120, layers: int = 4) -> ResultRecord:
    """A similarity result with per-layer cosines, many of them tied (rounded to 2 decimals)."""
    rng = np.random.default_rng(seed)
    human = np.round(np.random.default_rng(0).uniform(0, 10, n), 1)
    cos = {f"cosine.L{l}": np.round(human / 10 + rng.normal(0, 0.2 + 0.1 * l, n), 2) for l in range(layers)}
    cos["cosine"] = human / 10 + rng.normal(0, 0.3, n)
    aggs = {"spearman": {"fn": "spearman", "columns": ["human", "cosine"]},
            **{f"spearman.L{l}": {"fn": "spearman", "columns": ["human", f"cosine.L{l}"]} for l in range(layers)}}
    metrics = {m: float(spearmanr(human, cos[a["columns"][1]]).statistic) for m, a in aggs.items()}
    return typed({"task": "men", "metrics": metrics, "aggregations": aggs,
                  "items": {"ids": [f"{i}:w{i}|v{i}" for i in range(n)], "clusters": list(range(n)),
                            "columns": {"human": human.tolist(), **{c: v.tolist() for c, v in cos.items()}}}}, name)


def test_layer_cosines_become_ranks_that_keep_every_spearman_exactly():
    full_a, full_b = pair_record("a", 1), pair_record("b", 2)
    comp_a, comp_b = through_file(compact_record(full_a)), through_file(compact_record(full_b))
    assert not comp_a.compacted.per_cluster and comp_a.compacted.ranked["cosine_rank.L2"] == "cosine.L2"
    assert comp_a.items.columns["cosine"] == full_a.items.columns["cosine"]  # the main layer keeps its values
    for l in range(4):
        ranks, values = comp_a.items.columns[f"cosine_rank.L{l}"], full_a.items.columns[f"cosine.L{l}"]
        assert all(isinstance(r, int) for r in ranks) and len(set(ranks)) == len(set(values)) < len(values)  # ties
        assert sorted(set(ranks)) == list(range(len(set(values))))
        agg = comp_a.aggregations[f"spearman.L{l}"]
        cols = {c: np.asarray(v, dtype=float) for c, v in comp_a.items.columns.items()}
        assert aggregate(agg.fn, cols, agg.columns) == full_a.metrics[f"spearman.L{l}"]  # scipy on the values
    for unit in ("sequence", "item"):  # pairs are their own clusters: both units are allowed and agree
        reference = paired_bootstrap(full_a, full_b, n_resamples=200, seed=3, unit=unit)
        got = paired_bootstrap(comp_a, comp_b, n_resamples=200, seed=3, unit=unit)
        assert [(c.metric, c.a, c.b, c.lower, c.upper) for c in got] == \
               [(r.metric, r.a, r.b, r.lower, r.upper) for r in reference]


def test_a_compact_record_is_compacted_once():
    nll, ok = lm_sequences(5, seed=6)
    comp = compact_record(lm_record(nll, ok, "a"), source_sha256="ef" * 32)
    assert compact_record(comp) is comp


def test_size_of_a_thousand_sequences_of_a_hundred_tokens():
    """Bound: per sequence an id (≤ 5 characters with quotes), a cluster (≤ 3 digits), Σnll (a float repr, ≤ 24
    characters), Σcorrect and count (≤ 5 each: "100.0"), n_items (3) and 6 separators: ≤ 50 bytes, so 50 kB for
    1,000 sequences, plus ≤ 5 kB of header. The full file writes one line per token value: ≥ 100,000 × 4 lines."""
    rng = np.random.default_rng(8)
    nll = [rng.gamma(2.0, 1.5, size=100) for _ in range(1000)]
    ok = [(rng.random(100) < 0.4).astype(float) for _ in range(1000)]
    full = lm_record(nll, ok, "a")
    full_bytes = len(result_text(full).encode())
    compact_bytes = len(result_text(compact_record(full, "00" * 32, full_bytes)).encode())
    assert compact_bytes < 55_000
    assert full_bytes > 100_000 * 4 * 5 and full_bytes / compact_bytes > 100


def test_a_malformed_compacted_block_is_refused():
    nll, ok = lm_sequences(4, seed=9)
    good = json.loads(result_text(compact_record(lm_record(nll, ok, "a"))))
    for key, value in (("items", "per-token"), ("summed", "nll"), ("source_items", -1)):
        bad = json.loads(json.dumps(good))
        bad["compacted"][key] = value
        assert any("'compacted'" in p for p in validate(bad)), key
    bad = json.loads(json.dumps(good))
    bad["items"]["clusters"][1] = bad["items"]["clusters"][0]  # two items of one sequence in a per-sequence copy
    assert any("one distinct cluster" in p for p in validate(bad))
