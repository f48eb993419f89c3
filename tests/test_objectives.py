"""Golden tests of the objectives on random logits, against an independent NumPy implementation
(explicit softmax and explicit sums over each concept set), plus two deliberately broken
variants that the checks must catch (the noise control at λ = 1: test_objectives_noise.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.errors import UserError
from trainers.objectives import (OBJECTIVES, ConceptBatch, ConceptSettings, LossOutput, ObjectiveSettings, combine,
                                 concept_terms, method_name, ntp_terms)

V = 37


def make_batch(seed: int = 0, B: int = 3, T: int = 9, n_targets: int = 7, max_set: int = 4):
    """Random logits, labels with ignored tail positions, and ragged concept sets (padded, masked)."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, T, V, generator=g, dtype=torch.float32) * 3
    labels = torch.randint(0, V, (B, T), generator=g)
    labels[1, -2:] = -100  # padding of a shorter row
    rng = np.random.default_rng(seed)
    cells = [(b, p) for b in range(B) for p in range(1, T) if labels[b, p] != -100]
    chosen = [cells[i] for i in rng.choice(len(cells), size=n_targets, replace=False)]
    sets = []
    for b, p in chosen:
        others = [int(t) for t in rng.choice([t for t in range(V) if t != labels[b, p]], size=rng.integers(0, max_set),
                                             replace=False)]
        sets.append([int(labels[b, p])] + others)
    return logits, labels, chosen, sets


def to_concept_batch(chosen, sets, pad_id: int = 5) -> ConceptBatch:
    S = max(len(s) for s in sets)
    ids = torch.full((len(sets), S), pad_id, dtype=torch.long)
    mask = torch.zeros(len(sets), S, dtype=torch.bool)
    for i, s in enumerate(sets):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = True
    return ConceptBatch(batch_index=torch.tensor([b for b, _ in chosen]), position=torch.tensor([p for _, p in chosen]),
                        set_ids=ids, set_mask=mask)


# ---------------------------------------------------------------- the independent implementation


def softmax_np(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def reference(logits, labels, chosen, sets, lam: float, scope: str, threshold: float) -> dict[str, float]:
    """Explicit softmax per position, explicit sums; float64; no code shared with trainers.objectives."""
    z = logits.detach().double().numpy()
    y = labels.numpy()
    B, T, _ = z.shape
    nll = {}
    for b in range(B):
        for t in range(1, T):
            if y[b, t] != -100:
                nll[(b, t)] = -np.log(softmax_np(z[b, t - 1])[y[b, t]])
    n_tok = len(nll)
    ntp = sum(nll.values()) / n_tok
    masses = [sum(softmax_np(z[b, p - 1])[s] for s in set_) for (b, p), set_ in zip(chosen, sets)]
    kept = [m < threshold for m in masses]
    concept = sum(-np.log(m) for m, k in zip(masses, kept) if k) / len(sets)
    content = set(chosen)
    if scope == "all":
        total = (1 - lam) * ntp + lam * concept
    else:
        total = (sum(v for k, v in nll.items() if k not in content)
                 + (1 - lam) * sum(v for k, v in nll.items() if k in content)) / n_tok + lam * concept
    return {"loss": total, "ntp_loss": ntp, "concept_loss": concept, "zeroed_share": 1 - sum(kept) / len(kept),
            "masses": masses}


def run(fn, logits, labels, chosen, sets, lam=0.25, scope="all", threshold=0.6) -> LossOutput:
    return fn(logits, labels, to_concept_batch(chosen, sets), ObjectiveSettings(lam=lam, extra={
        "lambda_scope": scope, "mass_threshold": threshold}))


def check_values(fn, seed=0, lam=0.25, scope="all", threshold=1.0) -> None:
    logits, labels, chosen, sets = make_batch(seed)
    out = run(fn, logits, labels, chosen, sets, lam, scope, threshold)
    ref = reference(logits, labels, chosen, sets, lam, scope, threshold)
    for key in ("loss", "ntp_loss", "concept_loss"):
        got = float(out.loss) if key == "loss" else out.logs[key]
        assert got == pytest.approx(ref[key], rel=1e-5, abs=1e-6), f"{key}: {got} != reference {ref[key]}"


def analytic_grad(logits, labels, chosen, sets, lam: float) -> np.ndarray:
    """d/dz of (1−λ)·L_NTP + λ·L_concept (scope all, no threshold), written out by hand:
    d nll/dz = softmax − onehot(y);  d(−log Σ_{T*} p)/dz = softmax − 1[v∈T*]·softmax / Σ_{T*} softmax."""
    z = logits.detach().double().numpy()
    y = labels.numpy()
    grad = np.zeros_like(z)
    B, T, _ = z.shape
    n_tok = int((y[:, 1:] != -100).sum())
    for b in range(B):
        for t in range(1, T):
            if y[b, t] != -100:
                p = softmax_np(z[b, t - 1])
                g = p.copy()
                g[y[b, t]] -= 1
                grad[b, t - 1] += (1 - lam) * g / n_tok
    for (b, p_), set_ in zip(chosen, sets):
        p = softmax_np(z[b, p_ - 1])
        g = p.copy()
        g[set_] -= p[set_] / p[set_].sum()
        grad[b, p_ - 1] += lam * g / len(sets)
    return grad


def check_gradient(fn, seed=1, lam=0.5) -> None:
    logits, labels, chosen, sets = make_batch(seed)
    logits.requires_grad_(True)
    out = run(fn, logits, labels, chosen, sets, lam, "all", 1.0)
    assert out.loss.requires_grad, "the loss carries no gradient"
    (grad,) = torch.autograd.grad(out.loss, logits)
    want = analytic_grad(logits, labels, chosen, sets, lam)
    np.testing.assert_allclose(grad.double().numpy(), want, rtol=1e-4, atol=1e-6,
                               err_msg="autograd gradient differs from the hand-derived one")


# ---------------------------------------------------------------- two broken variants


def broken_no_grad(logits, labels, concepts, settings):
    """The concept term computed under no_grad: it trains nothing."""
    ntp = ntp_terms(logits, labels)
    with torch.no_grad():
        c = concept_terms(logits, ntp, concepts, settings.of(ConceptSettings).mass_threshold)
    return combine(ntp, c, concepts, settings)


def broken_mean_logprob(logits, labels, concepts, settings):
    """Averages log-probabilities over the set instead of taking the log of the summed probability."""
    ntp = ntp_terms(logits, labels)
    logp = torch.log_softmax(logits[:, :-1], -1)
    rows = logp[concepts.batch_index.unsqueeze(1), (concepts.position - 1).unsqueeze(1), concepts.set_ids]
    mean_logp = (rows * concepts.set_mask).sum(-1) / concepts.set_mask.sum(-1)
    c = concept_terms(logits, ntp, concepts, settings.of(ConceptSettings).mass_threshold)
    c.nll = -mean_logp
    return combine(ntp, c, concepts, settings)


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scope", ["all", "content"])
@pytest.mark.parametrize("lam", [0.0, 0.25, 1.0])
def test_concept_objective_matches_reference(seed, scope, lam):
    check_values(OBJECTIVES.get("concept"), seed=seed, lam=lam, scope=scope)


def test_ntp_objective_is_cross_entropy():
    logits, labels, chosen, sets = make_batch(3)
    out = run(OBJECTIVES.get("ntp"), logits, labels, chosen, sets)
    ce = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    assert float(out.loss) == pytest.approx(float(ce), rel=1e-6)
    assert out.loss.item() == pytest.approx(reference(logits, labels, chosen, sets, 0, "all", 1)["ntp_loss"], rel=1e-6)


@pytest.mark.parametrize("scope", ["all", "content"])
def test_lambda_zero_is_exactly_ntp(scope):
    logits, labels, chosen, sets = make_batch(4)
    concept = run(OBJECTIVES.get("concept"), logits, labels, chosen, sets, lam=0.0, scope=scope)
    ntp = run(OBJECTIVES.get("ntp"), logits, labels, chosen, sets)
    assert torch.equal(concept.loss, ntp.loss)


def test_threshold_zeroes_exactly_the_positions_above_it():
    logits, labels, chosen, sets = make_batch(5, n_targets=8)
    # push the set of every other target well above the threshold, independently of the code under test
    for i in range(0, len(sets), 2):
        b, p = chosen[i]
        logits[b, p - 1, sets[i]] += 12.0
    ref = reference(logits, labels, chosen, sets, 1.0, "all", 0.6)
    above = [m >= 0.6 for m in ref["masses"]]
    assert above == [i % 2 == 0 for i in range(len(sets))]  # the construction did what it says
    logits.requires_grad_(True)
    out = run(OBJECTIVES.get("concept"), logits, labels, chosen, sets, lam=1.0, threshold=0.6)
    assert out.logs["zeroed_share"] == pytest.approx(sum(above) / len(above))
    assert out.logs["concept_loss"] == pytest.approx(ref["concept_loss"], rel=1e-5)
    (grad,) = torch.autograd.grad(out.loss, logits)
    for (b, p), is_above in zip(chosen, above):
        row_has_grad = bool(grad[b, p - 1].abs().max() > 0)
        assert row_has_grad != is_above, f"target at ({b}, {p}): above={is_above} but gradient={row_has_grad}"


def test_gradient_matches_hand_derivation():
    check_gradient(OBJECTIVES.get("concept"))


def test_checks_catch_a_concept_term_without_gradient():
    check_values(broken_no_grad)  # its values are right ...
    with pytest.raises(AssertionError):
        check_gradient(broken_no_grad)  # ... but it trains nothing through the concept term


def test_checks_catch_averaged_log_probabilities():
    with pytest.raises(AssertionError):
        check_values(broken_mean_logprob)


def test_padded_set_entries_are_ignored():
    """Pad with a token whose logit dominates everywhere: if padding leaked into a set, its mass would jump."""
    logits, labels, chosen, sets = make_batch(6)
    logits[..., 7] += 20.0
    keep = [(c, [t for t in s if t != 7] or [int(labels[c[0], c[1]])]) for c, s in zip(chosen, sets)
            if int(labels[c[0], c[1]]) != 7]
    chosen, sets = [c for c, _ in keep], [s for _, s in keep]
    out = OBJECTIVES.get("concept")(logits, labels, to_concept_batch(chosen, sets, pad_id=7),
                                    ObjectiveSettings(lam=0.25, extra={"mass_threshold": 1.0}))
    ref = reference(logits, labels, chosen, sets, 0.25, "all", 1.0)
    assert out.logs["concept_loss"] == pytest.approx(ref["concept_loss"], rel=1e-5)


def test_no_targets_keeps_the_graph():
    logits, labels, _, _ = make_batch(7)
    logits.requires_grad_(True)
    empty = ConceptBatch(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long),
                         torch.zeros(0, 1, dtype=torch.long), torch.zeros(0, 1, dtype=torch.bool))
    out = OBJECTIVES.get("concept")(logits, labels, empty, ObjectiveSettings(lam=1.0))
    assert out.logs["concept_loss"] == 0.0 and out.logs["n_concepts"] == 0
    out.loss.backward()  # must not raise: the zero still belongs to the graph
    assert float(logits.grad.abs().sum()) == 0.0


@pytest.mark.parametrize("lam,scope,thr", [(-0.1, "all", 0.6), (1.5, "all", 0.6), (0.2, "tokens", 0.6),
                                           (0.2, "all", 0.0)])
def test_bad_settings_are_user_errors(lam, scope, thr):
    with pytest.raises(UserError):
        ObjectiveSettings(lam=lam, extra={"lambda_scope": scope, "mass_threshold": thr})


def test_registry_and_method_names():
    assert {"ntp", "concept"} <= set(OBJECTIVES.names())
    with pytest.raises(UserError, match="did you mean concept"):
        OBJECTIVES.get("concpet")
    assert method_name("concept", 0.0, randomized=True) == "ntp"
    assert method_name("ntp", 0.5, randomized=False) == "ntp"
    assert method_name("concept", 0.25, randomized=False) == "concept"
    assert method_name("concept", 0.25, randomized=True) == "noise"
