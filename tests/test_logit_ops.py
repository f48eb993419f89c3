"""``trainers.logit_ops`` against float64 autograd on explicit formulas: values and gradients, a gradient
through both functions at once (as the concept objective takes it), repeated index triples, bf16 logits."""

from __future__ import annotations

import pytest
import torch

from trainers.logit_ops import gather_logits, lse_and_pick


def random_case(dtype=torch.float32, b=3, t=7, v=50, seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(b, t, v, generator=gen) * 3).to(dtype)
    ids = torch.randint(0, v, (b, t - 1), generator=gen)
    return logits, ids


def reference(logits64: torch.Tensor, ids: torch.Tensor):
    """lse by max-shifted exp-sum, picked by a one-hot product: no gather, no logsumexp."""
    pred = logits64[:, : ids.shape[1]]
    m = pred.max(-1, keepdim=True).values
    lse = (pred - m).exp().sum(-1).log() + m.squeeze(-1)
    onehot = torch.nn.functional.one_hot(ids, logits64.shape[-1]).double()
    return lse, (pred * onehot).sum(-1)


def test_lse_and_pick_values_and_gradient():
    logits, ids = random_case()
    w_lse, w_pick = torch.randn(ids.shape, dtype=torch.float64), torch.randn(ids.shape, dtype=torch.float64)

    x = logits.clone().requires_grad_()
    lse, picked = lse_and_pick(x, ids)
    assert lse.dtype == picked.dtype == torch.float32 and lse.shape == ids.shape
    (lse.double() * w_lse + picked.double() * w_pick).sum().backward()

    x64 = logits.double().requires_grad_()
    lse64, picked64 = reference(x64, ids)
    (lse64 * w_lse + picked64 * w_pick).sum().backward()

    torch.testing.assert_close(lse.double(), lse64, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(picked.double(), picked64, rtol=0, atol=0)
    torch.testing.assert_close(x.grad.double(), x64.grad, rtol=1e-5, atol=1e-6)
    assert x.grad[:, -1].abs().sum() == 0  # the last position predicts nothing


def test_gather_logits_with_repeated_triples_accumulates():
    logits, _ = random_case()
    rows = torch.tensor([[0], [2], [0]])
    cols = torch.tensor([[1], [4], [1]])  # the first and last rows name the same positions
    ids = torch.tensor([[3, 7, 3], [0, 1, 2], [7, 7, 9]])
    w = torch.randn(3, 3, dtype=torch.float64)

    x = logits.clone().requires_grad_()
    out = gather_logits(x, rows, cols, ids)
    (out.double() * w).sum().backward()

    x64 = logits.double().requires_grad_()
    want = torch.stack([torch.stack([x64[rows[i, 0], cols[i, 0], ids[i, j]] for j in range(3)]) for i in range(3)])
    (want * w).sum().backward()

    torch.testing.assert_close(out.double(), want, rtol=0, atol=0)
    torch.testing.assert_close(x.grad.to_dense().double(), x64.grad, rtol=1e-6, atol=1e-7)
    assert x.grad.to_dense()[0, 1, 3].item() == pytest.approx(w[0, 0].item() + w[0, 2].item(), rel=1e-6)


def test_both_functions_feed_one_gradient_like_the_concept_objective():
    """NLL and a set log-probability from the same logits: the dense and the sparse gradient add up."""
    logits, ids = random_case(seed=1)
    rows, cols, sets = torch.tensor([[1]]), torch.tensor([[2]]), torch.tensor([[5, 6, ids[1, 2].item()]])

    x = logits.clone().requires_grad_()
    lse, picked = lse_and_pick(x, ids)
    set_lp = torch.logsumexp(gather_logits(x, rows, cols, sets), -1) - lse[1, 2]
    ((lse - picked).sum() - set_lp.sum()).backward()

    x64 = logits.double().requires_grad_()
    lse64, picked64 = reference(x64, ids)
    set64 = torch.logsumexp(x64[1, 2, sets[0]], -1) - lse64[1, 2]
    ((lse64 - picked64).sum() - set64).backward()
    torch.testing.assert_close(x.grad.double(), x64.grad, rtol=1e-5, atol=1e-6)


def test_bf16_logits_are_upcast_and_the_gradient_keeps_their_dtype():
    logits, ids = random_case(dtype=torch.bfloat16, seed=2)
    x = logits.clone().requires_grad_()
    lse, picked = lse_and_pick(x, ids)
    assert lse.dtype == torch.float32
    lse.sum().backward()
    assert x.grad.dtype == torch.bfloat16
    lse64, picked64 = reference(logits.double(), ids)  # the bf16 values, exactly, in float64
    torch.testing.assert_close(lse.double(), lse64, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(picked.double(), picked64, rtol=0, atol=0)
    softmax = torch.softmax(logits.double()[:, :-1], -1)
    torch.testing.assert_close(x.grad[:, :-1].double(), softmax, rtol=1e-2, atol=1e-3)  # bf16 resolution
