"""Two reads of a ``[B, T, V]`` logits tensor whose backward writes ONE ``[B, T, V]`` gradient buffer.

The training step's memory peak is the head, not the transformer: a logits tensor of a micro-batch of
8 × 128 tokens over SmolLM2's 49,152-token vocabulary is 201 MB in float32, and autograd's generic path
(slice, ``logsumexp``, ``gather``, advanced indexing, their sum) holds about six tensors of that size during
the backward pass (``python bench/train_step.py --memory``: 964 MB above the logits, 228 MB here). These
functions compute the same values with the same formulas, so the loss is unchanged; their backward passes
allocate one buffer each:

- :func:`lse_and_pick`: ``lse[b, t] = log Σ_v exp(logits[b, t, v])`` and ``picked[b, t] = logits[b, t, ids[b, t]]``
  for the first ``T'`` positions (the predicting ones); gradient
  ``∂/∂logits[b, t, v] = g_lse[b, t]·softmax(logits[b, t])_v + g_picked[b, t]·[v = ids[b, t]]``, written row by row
  into one buffer (rows of positions ≥ ``T'`` are 0), so the slice ``logits[:, :-1]`` costs no copy;
- :func:`gather_logits`: ``logits[rows, cols, ids]`` at index triples (any shape); gradient: a zero buffer
  with ``g`` accumulated at the triples (repeated triples add up).

Float32 throughout (half-precision logits are upcast one row at a time, as the causal-LM loss of
transformers upcasts them).
"""

from __future__ import annotations

from typing import Any

import torch


class _LseAndPick(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t = ids.shape
        lse = torch.empty(b, t, dtype=torch.float32, device=logits.device)
        for row in range(b):  # one row at a time: logsumexp's temporaries stay [T, V]
            lse[row] = torch.logsumexp(logits[row, :t].float(), dim=-1)
        picked = logits[:, :t].gather(-1, ids.unsqueeze(-1)).squeeze(-1).float()
        ctx.save_for_backward(logits, ids, lse)
        return lse, picked

    @staticmethod
    def backward(ctx: Any, g_lse: torch.Tensor, g_picked: torch.Tensor) -> tuple[torch.Tensor, None]:
        logits, ids, lse = ctx.saved_tensors
        t = ids.shape[1]
        grad = torch.zeros(logits.shape, dtype=torch.float32, device=logits.device)
        for row in range(ids.shape[0]):
            part = grad[row, :t]
            torch.sub(logits[row, :t].float(), lse[row].unsqueeze(-1), out=part)
            part.exp_().mul_(g_lse[row].unsqueeze(-1))
        grad[:, :t].scatter_add_(-1, ids.unsqueeze(-1), g_picked.unsqueeze(-1))
        return grad.to(logits.dtype), None


class _GatherLogits(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                ids: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(rows, cols, ids)
        ctx.shape, ctx.dtype = logits.shape, logits.dtype
        return logits[rows, cols, ids].float()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        rows, cols, ids = ctx.saved_tensors
        index = torch.stack([rows.reshape(-1), cols.reshape(-1), ids.reshape(-1)])
        grad = torch.sparse_coo_tensor(index, g.reshape(-1).to(ctx.dtype), ctx.shape, check_invariants=False)
        return grad, None, None, None


def lse_and_pick(logits: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(``lse``, ``picked``), both ``[B, T']`` float32, for ``ids`` ``[B, T']`` (``T' ≤ T``; see the module
    docstring)."""
    return _LseAndPick.apply(logits, ids)


def gather_logits(logits: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``logits[rows, cols, ids]`` as float32 (broadcast index tensors, advanced-indexing rules)."""
    rows, cols, ids = torch.broadcast_tensors(rows, cols, ids)
    return _GatherLogits.apply(logits, rows, cols, ids)
