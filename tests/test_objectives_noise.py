"""The noise control at λ = 1: a randomized concept file through the trainer's data path never raises the
original token's probability (the objectives' golden tests: test_objectives.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_objectives import V, softmax_np
from trainers.objectives import OBJECTIVES, ObjectiveSettings


# ---------------------------------------------------------------- the noise control at λ = 1


def noise_batch(seed: int = 3):
    """A built concept file over token ids < V (every original also a frequent synonym elsewhere), made
    a noise control by ``concepts.randomize``, then through the trainer's own data path."""
    import random

    from concepts.concept_file import ConceptFile, ConceptRecord, ConceptTarget
    from concepts.concept_header import ConceptHeader
    from concepts.randomize import randomize_sets
    from trainers.data import ConceptCollator, examples_from_records, pop_concept_batch

    rng = random.Random(seed)
    records = []
    for r in range(3):
        ids = [rng.randrange(12) for _ in range(8)]
        targets = []
        for p in (2, 4, 6):
            syn = rng.sample([v for v in range(12) if v != ids[p]], rng.randint(0, 4))
            targets.append(ConceptTarget(position=p, token_id=ids[p], word=f"w{ids[p]}", pos="NOUN",
                                         set_ids=[ids[p]] + syn, set_words=[f"w{i}" for i in [ids[p]] + syn]))
        records.append(ConceptRecord(index=r, text="t", input_ids=ids, targets=targets))
    noise = randomize_sets(ConceptFile(header=ConceptHeader({"type": "header"}), records=records), seed=seed)
    batch = ConceptCollator(pad_id=0)([e.as_feature() for e in examples_from_records(noise.records, max_length=8)])
    labels = batch["labels"]
    concepts = pop_concept_batch(batch)
    sets = [[int(i) for i, m in zip(row, mask) if m] for row, mask in zip(concepts.set_ids, concepts.set_mask)]
    chosen = list(zip(concepts.batch_index.tolist(), concepts.position.tolist()))
    return labels, concepts, chosen, sets


@pytest.mark.parametrize("scope", ["all", "content"])
def test_noise_objective_at_lambda_one_never_raises_the_original_token(scope):
    """At λ = 1 the noise control's gradient treats the original token like any token outside the set:
    d L/d z_orig = +p_orig / N (float64, by hand), so a descent step lowers p_orig when the model
    predicts the original best. A set that kept the original (the old control) raised it."""
    labels, concepts, chosen, sets = noise_batch()
    B, T = labels.shape
    g = torch.Generator().manual_seed(0)
    z = torch.randn(B, T, V, generator=g, dtype=torch.float64)
    for b, p in chosen:
        z[b, p - 1, labels[b, p]] += 2.0  # the model predicts the original best, as a trained LM mostly does
    logits = z.float().requires_grad_(True)
    out = OBJECTIVES.get("concept")(logits, labels, concepts, ObjectiveSettings(lam=1.0, extra={
        "lambda_scope": scope, "mass_threshold": 1.0}))
    (grad,) = torch.autograd.grad(out.loss, logits)
    zz = logits.detach().double().numpy()
    for (b, p), set_ in zip(chosen, sets):
        orig = int(labels[b, p])
        assert orig not in set_, f"noise set {set_} holds the original token {orig}"
        prob = softmax_np(zz[b, p - 1])
        want = prob.copy()
        want[set_] -= prob[set_] / prob[set_].sum()
        want /= len(sets)
        np.testing.assert_allclose(grad[b, p - 1].double().numpy(), want, rtol=1e-4, atol=1e-7)
        assert want[orig] == pytest.approx(prob[orig] / len(sets)) and want[orig] > 0

        def after_step(s):  # p_orig after one float64 descent step on −log Σ_{t∈s} p(t)
            step = prob.copy()
            step[s] -= prob[s] / prob[s].sum()
            return softmax_np(zz[b, p - 1] - 0.5 * step)[orig]

        assert after_step(set_) < prob[orig]  # the noise control lowers the original's probability
        assert after_step(sorted(set(set_) | {orig})) > prob[orig]  # keeping it in the set raised it
