"""Geometry tasks (paper section 5.1): golden metrics, bootstrap pseudo-values, choosing concepts and the
prefix-cache forward (through the runner and the CLI: test_geometry_runner.py).

Expected values come from explicit loops over all pairs written here, independent of
tasks.geometry_metrics's closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

from tasks.geometry_metrics import centroid_stats, clustering_stats
from task_fixtures import write_concept_file

# ------------------------------------------------------------------ independent reference


def _cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


def reference_metrics(groups: list[np.ndarray]) -> dict[str, float]:
    """intra (mean over concepts of their mean pairwise cosine), inter (mean over every cross pair),
    centroid similarity (mean over centroid pairs), by explicit double loops."""
    intras = []
    for g in groups:
        cs = [_cos(g[i], g[j]) for i in range(len(g)) for j in range(i + 1, len(g))]
        intras.append(sum(cs) / len(cs))
    cross = []
    for a in range(len(groups)):
        for b in range(a + 1, len(groups)):
            for u in groups[a]:
                for v in groups[b]:
                    cross.append(_cos(u, v))
    cents = [np.mean([u / np.linalg.norm(u) for u in g], axis=0) for g in groups]
    cent = [_cos(cents[a], cents[b]) for a in range(len(cents)) for b in range(a + 1, len(cents))]
    intra = sum(intras) / len(intras)
    inter = sum(cross) / len(cross)
    return {"intra": intra, "inter": inter, "clustering_score": intra - inter, "centroid_similarity": sum(cent) / len(cent)}


# ------------------------------------------------------------------ golden metrics


def test_two_tight_far_apart_clusters_known_answer():
    rng = np.random.default_rng(1)
    e1, e2 = np.eye(8)[0], np.eye(8)[1]
    a = e1 * 3 + rng.normal(scale=1e-4, size=(4, 8))  # tight around e1 (scale must not matter)
    b = e2 * 0.5 + rng.normal(scale=1e-5, size=(3, 8))  # tight around e2, orthogonal to e1
    m = clustering_stats([a, b]).metrics()
    assert m["intra"] == pytest.approx(1.0, abs=1e-6)
    assert m["inter"] == pytest.approx(0.0, abs=1e-3)
    assert m["clustering_score"] == pytest.approx(1.0, abs=1e-3)
    assert centroid_stats([a, b]).similarity == pytest.approx(0.0, abs=1e-3)
    opposite = clustering_stats([a, -a[:3]]).metrics()  # clusters at e1 and −e1
    assert opposite["inter"] == pytest.approx(-1.0, abs=1e-6)
    assert opposite["clustering_score"] == pytest.approx(2.0, abs=1e-6)


def test_inter_uses_all_cross_pairs_not_adjacent_ones():
    e1, e2 = np.eye(3)[0], np.eye(3)[1]
    groups = [np.stack([e1, e1]), np.stack([e2, e2]), np.stack([e1, e1])]  # concepts 0 and 2 coincide
    adjacent = np.mean([_cos(u, v) for a in range(2) for u in groups[a] for v in groups[a + 1]])
    assert adjacent == 0.0  # the adjacent-pair shortcut would see no similarity at all
    st = clustering_stats(groups)
    assert st.inter == pytest.approx(1 / 3)  # pairs (0,2) are 1/3 of all cross pairs, cosine 1
    assert st.inter == pytest.approx(reference_metrics(groups)["inter"])
    assert centroid_stats(groups).similarity == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_double_loops_on_random_groups(seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(6, 5))
    groups = [c + rng.normal(scale=0.7, size=(int(rng.integers(2, 6)), 5)) for c in centers]
    want = reference_metrics(groups)
    st = clustering_stats(groups)
    got = st.metrics()
    for k in ("intra", "inter", "clustering_score"):
        assert got[k] == pytest.approx(want[k], abs=1e-12)
    assert centroid_stats(groups).similarity == pytest.approx(want["centroid_similarity"], abs=1e-12)
    # the per-concept columns reproduce the metrics through the aggregation the result file names
    assert np.mean(st.intra) == pytest.approx(want["intra"], abs=1e-12)
    assert np.mean(st.inter_item) == pytest.approx(want["inter"], abs=1e-12)
    assert np.mean(st.score_item) == pytest.approx(want["clustering_score"], abs=1e-12)
    assert np.mean(centroid_stats(groups).item) == pytest.approx(want["centroid_similarity"], abs=1e-12)


def test_bootstrap_pseudo_values_follow_exact_resampling():
    """Resampling concepts and recomputing inter exactly (pairs of resampled positions from different
    concepts) moves like the mean of the pseudo-values; the naive row-ratio moves half as much."""
    rng = np.random.default_rng(0)
    k, d = 120, 6
    centers = rng.normal(size=(k, d)) + rng.normal(size=d) * 0.8  # a shared direction: inter > 0, varies by concept
    groups = [c + rng.normal(scale=0.5, size=(int(rng.integers(2, 5)), d)) for c in centers]
    units = [g / np.linalg.norm(g, axis=1, keepdims=True) for g in groups]
    sums = np.stack([u.sum(0) for u in units])
    gram = sums @ sums.T  # Σ of cosines between the vectors of concepts c and c'
    n = np.array([len(u) for u in units], dtype=float)
    st = clustering_stats(groups)
    exact, linear, rowratio = [], [], []
    for _ in range(400):
        idx = rng.integers(0, k, size=k)
        diff = idx[:, None] != idx[None, :]
        exact.append(gram[np.ix_(idx, idx)][diff].sum() / np.outer(n[idx], n[idx])[diff].sum())
        linear.append(st.inter_item[idx].mean())
        rowratio.append(st.cross_sum[idx].sum() / st.cross_pairs[idx].sum())
    exact, linear, rowratio = map(np.asarray, (exact, linear, rowratio))
    assert np.corrcoef(exact, linear)[0, 1] > 0.95
    assert 0.85 < linear.std() / exact.std() < 1.15
    assert rowratio.std() / exact.std() < 0.65


# ------------------------------------------------------------------ choosing concepts


def _record(index: int, ids: list[int], targets: list[tuple[int, list[int]]]):
    from concepts.concept_file import ConceptRecord, ConceptTarget

    ts = [ConceptTarget(position=p, token_id=ids[p], word=f"w{ids[p]}", pos="NOUN", set_ids=[ids[p]] + syn,
                        set_words=[f"w{ids[p]}"] + [f"w{s}" for s in syn]) for p, syn in targets]
    return ConceptRecord(index=index, text="", input_ids=ids, targets=ts)


def test_choose_concepts_seeded_uniform_among_sets_of_two_or_more():
    from tasks.geometry_data import choose_concepts

    records = [
        _record(0, [10, 11, 12, 13, 14], [(1, [21, 22]), (2, []), (4, [23])]),
        _record(1, [30, 31, 32], [(2, [])]),  # no set with ≥ 2 members: skipped
        _record(2, [40, 41, 42, 43], [(1, [24]), (3, [25, 26, 27])]),
        _record(3, [50, 51], [(1, [28])]),
    ]
    chosen = choose_concepts(records, samples=2, seed=7)
    rng = np.random.default_rng(7)  # independent replay of the documented rule
    want = []
    for rec, eligible in ((records[0], [(1, [21, 22]), (4, [23])]), (records[2], [(1, [24]), (3, [25, 26, 27])])):
        p, syn = eligible[int(rng.integers(len(eligible)))]
        want.append((f"{rec.index}:{p}", [rec.input_ids[:p] + [t] for t in [rec.input_ids[p]] + syn]))
    assert [(c.id, c.variant_ids()) for c in chosen] == want
    assert choose_concepts(records, samples=2, seed=7) == chosen
    assert len(choose_concepts(records, samples=10, seed=7)) == 3
    seeds = {tuple(c.id for c in choose_concepts(records, 10, s)) for s in range(20)}
    assert len(seeds) > 1  # the seed matters


def test_concepts_do_not_move_with_the_run_seed(tmp_path):
    """The run seed drives training (and the bootstrap), never which held-out concepts are measured."""
    from concepts.concept_file import write_concept_file
    from harness.task import EvalContext, EvalOptions
    from tasks.geometry_data import prepare

    records = [_record(i, [10 + i, 11, 12, 13, 14], [(1, [21, 22]), (2, [23]), (4, [24])]) for i in range(8)]
    path = tmp_path / "heldout.jsonl"
    write_concept_file(path, {"format_version": 1, "corpus": "test", "split": "heldout"}, records)
    chosen = []
    for run_seed in range(5):
        ctx = EvalContext(EvalOptions(seed=run_seed, task_options={"geometry_concepts": str(path)}))
        chosen.append([c.id for c in prepare(ctx).inputs.concepts])
    assert all(ids == chosen[0] for ids in chosen) and len(chosen[0]) == 8
    split_seed = EvalContext(EvalOptions(task_options={"geometry_concepts": str(path), "split_seed": 3}))
    assert [c.id for c in prepare(split_seed).inputs.concepts] != chosen[0]  # the split seed chooses them


def test_choose_concepts_reads_the_original_from_the_record_not_the_set():
    """A noise control's sets never hold the original token: the variants still start with it (the
    record's token_id), followed by the noise members, and a one-member noise set is eligible."""
    from concepts.concept_file import ConceptRecord, ConceptTarget
    from tasks.geometry_data import choose_concepts

    ids = [10, 11, 12, 13]
    noise = ConceptRecord(index=0, text="", input_ids=ids, targets=[
        ConceptTarget(position=1, token_id=11, word="w11", pos="NOUN", set_ids=[31], set_words=["r31"]),
        ConceptTarget(position=3, token_id=13, word="w13", pos="NOUN", set_ids=[32, 33], set_words=["r32", "r33"])])
    (c,) = choose_concepts([noise], samples=5, seed=0)
    p = int(c.id.split(":")[1])
    want = {1: ([11, 31], ("w11", "r31")), 3: ([13, 32, 33], ("w13", "r32", "r33"))}[p]
    assert c.variant_ids() == [ids[:p] + [t] for t in want[0]] and c.member_words == want[1]


# ------------------------------------------------------------------ forward pass


def test_prefix_cache_equals_full_forward(tiny_llama):
    import torch

    from tasks.geometry import variant_hidden_states
    from tasks.geometry_data import ConceptVariants

    concepts = [ConceptVariants("0:3", "a", (5, 6, 7), (100, 200, 300), ("a", "b", "c")),
                ConceptVariants("1:1", "d", (9,), (400, 500), ("d", "e")),
                ConceptVariants("2:9", "f", tuple(range(20, 29)), (600, 700), ("f", "g"))]
    # one batch with prefixes of 3 lengths (padding), and one batch per concept
    for layer, max_batch_tokens in ((-1, 4096), (1, 4096), (-1, 4)):
        got = variant_hidden_states(tiny_llama, concepts, layer=layer, max_batch_tokens=max_batch_tokens,
                                    progress=False)
        for c, g in zip(concepts, got):
            assert g.shape == (len(c.members), 32)
            for row, ids in zip(g, c.variant_ids()):
                with torch.inference_mode():
                    out = tiny_llama.backbone(input_ids=torch.tensor([ids]), output_hidden_states=True)
                np.testing.assert_allclose(row, out.hidden_states[layer][0, -1].numpy(), atol=2e-5, rtol=1e-4)
