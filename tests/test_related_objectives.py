"""Golden tests of the related-work objectives (caft-joint, alternatives, weighted-ce; caft: test_caft.py) on
random logits against independent float64 computations written here (explicit softmax, explicit sums),
gradients that reach the LoRA weights and caft-joint's heads, and the two known-bad variants of Beyond Tokens'
released loss (a no_grad term, averaged log-probabilities), which the alternatives check must reject."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_objectives import make_batch, softmax_np, to_concept_batch
from trainers.beyond_tokens import AlternativesSettings, alternatives_only
from trainers.caft_joint import CaftJointSettings, build_heads
from trainers.objectives import OBJECTIVES, LossOutput, ObjectiveSettings, combine, concept_logprob, ntp_terms


def settings(**extra) -> ObjectiveSettings:
    return ObjectiveSettings(extra=extra)


def nll_table(z: np.ndarray, y: np.ndarray) -> dict[tuple[int, int], float]:
    """−log softmax(z[b, t−1])[y[b, t]] for every label token, float64."""
    return {(b, t): -np.log(softmax_np(z[b, t - 1])[y[b, t]])
            for b in range(z.shape[0]) for t in range(1, z.shape[1]) if y[b, t] != -100}


# ---------------------------------------------------------------- weighted-ce


@pytest.mark.parametrize("m", [0.5, 1.0, 3.0, 5.0])
def test_weighted_ce_matches_reference(m):
    logits, labels, chosen, sets = make_batch(seed=3)
    nll = nll_table(logits.double().numpy(), labels.numpy())
    content = set(chosen)
    weights = {k: m if k in content else 1.0 for k in nll}  # Σw normalises, as the public code does
    want = sum(weights[k] * v for k, v in nll.items()) / sum(weights.values())
    out = OBJECTIVES.get("weighted-ce")(logits, labels, to_concept_batch(chosen, sets), settings(content_multiplier=m))
    assert out.loss.item() == pytest.approx(want, rel=1e-5)
    if m == 1.0:
        assert out.loss.item() == pytest.approx(sum(nll.values()) / len(nll), rel=1e-5)
    assert content and all(k in nll for k in content)  # the content positions carry labels: m matters


def test_weighted_ce_default_multiplier_is_the_public_codes():
    from trainers.weighted_ce import WeightedCeSettings

    assert WeightedCeSettings().content_multiplier == 5.0


# ---------------------------------------------------------------- alternatives


def alternatives_reference(logits, labels, chosen, sets, w: float) -> tuple[float, np.ndarray]:
    """(loss, d loss / d logits) in float64: L = NTP + w · mean_i −log Σ_{a ∈ A_i} p_a, A_i = set without the
    label; gradient by hand: NTP gives (p − onehot)/N_tok at t − 1, the term (p − q)/N_A with q = p restricted
    to A_i and renormalised."""
    z = logits.detach().double().numpy()
    y = labels.numpy()
    nll = nll_table(z, y)
    grad = np.zeros_like(z)
    for (b, t) in nll:
        p = softmax_np(z[b, t - 1])
        grad[b, t - 1] += p / len(nll)
        grad[b, t - 1, y[b, t]] -= 1 / len(nll)
    terms = []
    with_alternatives = [((b, p), [a for a in s if a != y[b, p]]) for (b, p), s in zip(chosen, sets)]
    with_alternatives = [(cell, alt) for cell, alt in with_alternatives if alt]
    for (b, p), alt in with_alternatives:
        probs = softmax_np(z[b, p - 1])
        mass = sum(probs[a] for a in alt)
        terms.append(-np.log(mass))
        q = np.zeros_like(probs)
        q[alt] = probs[alt] / mass
        grad[b, p - 1] += w * (probs - q) / len(with_alternatives)
    return sum(nll.values()) / len(nll) + w * sum(terms) / len(terms), grad


def check_alternatives(fn, seed: int = 0, w: float = 0.7) -> None:
    """The value and the gradient with respect to the logits equal the float64 reference."""
    logits, labels, chosen, sets = make_batch(seed=seed, n_targets=9, max_set=5)
    assert sum(len([a for a in s if a != labels[b, p]]) >= 2 for (b, p), s in zip(chosen, sets)) >= 2  # sums matter
    logits = logits.clone().requires_grad_(True)
    out = fn(logits, labels, to_concept_batch(chosen, sets), settings(alternatives_weight=w))
    out.loss.backward()
    want, want_grad = alternatives_reference(logits, labels, chosen, sets, w)
    assert out.loss.item() == pytest.approx(want, rel=1e-5)
    np.testing.assert_allclose(logits.grad.double().numpy(), want_grad, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alternatives_matches_reference_in_value_and_gradient(seed):
    check_alternatives(OBJECTIVES.get("alternatives"), seed=seed)


def no_grad_variant(logits, labels, concepts, s):
    """Beyond Tokens' released mistake 1: the extra term computed under no_grad (it trains nothing)."""
    ntp = ntp_terms(logits, labels)
    with torch.no_grad():
        term = -concept_logprob(logits, ntp.lse, alternatives_only(labels, concepts)).mean()
    return LossOutput(combine(ntp, None, None, s).loss + s.of(AlternativesSettings).alternatives_weight * term, {})


def averaged_variant(logits, labels, concepts, s):
    """Mistake 2: the mean of the alternatives' log-probabilities instead of the log of their summed probability."""
    ntp = ntp_terms(logits, labels)
    alt = alternatives_only(labels, concepts)
    logp = logits.float()[alt.batch_index.unsqueeze(1), (alt.position - 1).unsqueeze(1), alt.set_ids] \
        - ntp.lse[alt.batch_index, alt.position - 1].unsqueeze(1)
    mean_logp = (logp * alt.set_mask).sum(1) / alt.set_mask.sum(1)
    return LossOutput(combine(ntp, None, None, s).loss - s.of(AlternativesSettings).alternatives_weight
                      * mean_logp.mean(), {})


@pytest.mark.parametrize("variant", [no_grad_variant, averaged_variant])
def test_alternatives_check_rejects_the_known_bad_variants(variant):
    with pytest.raises(AssertionError):
        check_alternatives(variant)


def test_alternatives_ignores_targets_whose_set_is_only_the_original():
    logits, labels, chosen, sets = make_batch(seed=4)
    lonely = [[int(labels[b, p])] for b, p in chosen]
    out = OBJECTIVES.get("alternatives")(logits, labels, to_concept_batch(chosen, lonely), settings())
    nll = nll_table(logits.double().numpy(), labels.numpy())
    assert out.loss.item() == pytest.approx(sum(nll.values()) / len(nll), rel=1e-5)
    assert out.logs["n_alternative_targets"] == 0


# ---------------------------------------------------------------- caft-joint


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1 + np.exp(-x))


def test_caft_joint_heads_match_reference():
    """Random (non-zero) head weights, a random output embedding, padded labels: the auxiliary term equals
    Σ_i coef·decay^i · mean_t −log softmax(E(h + SiLU(W_i h + b_i)))[x_{t+1+i}], float64."""
    torch.manual_seed(0)
    B, T, d, V, k, coef, decay = 2, 7, 8, 11, 4, 0.3, 0.6
    hidden = torch.randn(B, T, d)
    labels = torch.randint(0, V, (B, T))
    labels[1, -2:] = -100
    embedding = torch.nn.Linear(d, V, bias=False)
    owner = torch.nn.Module()
    owner.embed = torch.nn.Embedding(V, d)
    owner.get_input_embeddings = lambda: owner.embed
    heads = build_heads(owner, CaftJointSettings(caft_joint_k=k, caft_joint_coef=coef, caft_joint_decay=decay))
    with torch.no_grad():
        for p in heads.parameters():
            p.normal_()
    got = heads(hidden, labels, embedding)
    h, y, E = hidden.double().numpy(), labels.numpy(), embedding.weight.detach().double().numpy()
    want = 0.0
    for i, block in enumerate(heads.blocks, start=1):
        W, b = block.linear.weight.detach().double().numpy(), block.linear.bias.detach().double().numpy()
        nll = [-np.log(softmax_np(E @ (h[r, t] + silu(W @ h[r, t] + b)))[y[r, t + 1 + i]])
               for r in range(B) for t in range(T - 1 - i) if y[r, t + 1 + i] != -100]
        want += coef * decay ** i * sum(nll) / len(nll)
    assert len(heads.blocks) == k - 1
    assert got.loss.item() == pytest.approx(want, rel=1e-5)


def test_gradients_reach_the_lora_weights_and_the_caft_joint_heads():
    """One backward pass of each new objective on a LoRA-wrapped tiny Llama: every LoRA B matrix (A's gradient
    is 0 while B is at its zero init) gets a gradient, and caft-joint's auxiliary term alone reaches both the heads
    and the LoRA weights."""
    from harness.lm.hf_train import output_embedding
    from harness.testing import tiny_llama_model
    from trainers.profiles import resolve_profile
    from trainers.trainer import add_lora

    model = add_lora(tiny_llama_model(4096), resolve_profile("cpu", {"lora_dropout": 0.0})).train()
    heads = build_heads(model, CaftJointSettings())
    ids = torch.randint(100, 2000, (2, 12), generator=torch.Generator().manual_seed(0))
    chosen = [(0, 3), (0, 7), (1, 5)]
    sets = [[int(ids[b, p]), 101 + i, 202 + i] for i, (b, p) in enumerate(chosen)]
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]

    def grads_after(loss_of) -> tuple[list[float], list[float]]:
        model.zero_grad()
        heads.zero_grad()
        out = model(input_ids=ids, output_hidden_states=True)
        loss_of(out.logits, out.hidden_states[-1]).backward()
        return ([p.grad.abs().sum().item() if p.grad is not None else 0.0 for p in lora_b],
                [p.grad.abs().sum().item() if p.grad is not None else 0.0 for p in heads.parameters()])

    for name in ("alternatives", "weighted-ce", "synonym-augment", "caft", "caft-joint"):
        lora, _ = grads_after(lambda logits, _: OBJECTIVES.get(name)(logits, ids, to_concept_batch(chosen, sets),
                                                                      settings()).loss)
        assert all(g > 0 for g in lora), name
    lora, head = grads_after(lambda _, hidden: heads(hidden, ids, output_embedding(model)).loss)
    assert all(g > 0 for g in lora) and all(g > 0 for g in head)
    assert len(head) == 2 * (CaftJointSettings().caft_joint_k - 1)  # W and b of each head
