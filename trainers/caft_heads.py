"""CAFT's auxiliary heads as published (arXiv 2506.07833, its public code's default ``transformer`` heads).

Head i (i = 1 … n, n = 4 by default: tokens t + 2 … t + 5) is ONE decoder layer of the base model's own class,
its weights a copy of the base's second-to-last decoder layer (the public code copies ``layers[-2]``; a
one-layer model copies its only layer), followed by the base's own output embedding E (shared, frozen, and
with no final norm in between, as published). Every head reads u_t, the input of the base's LAST decoder
layer (the second-to-last hidden state), and runs with the arguments the model gave that layer (attention
mask, position embeddings, ...: recorded by :class:`LayerInput`, hooks this module puts on the base), so any
causal LM in transformers works without knowing its layer's signature. With
``nll_i(t) = −log softmax(E·f_i(u)_t)[x_{t+1+i}]`` over the N_i positions whose target exists and is not padding:

    CE_i = Σ_t nll_i(t) / N_i,     L_heads = Σ_{i=1}^{n} decay^i · CE_i

Stage 1 (:mod:`trainers.caft_stage1`) minimises L_heads over the heads alone, the base frozen. Stage 2
(:mod:`trainers.caft`) keeps the heads frozen and adds ``coef · s(progress) · L_heads`` to NTP while LoRA trains;
s is the public code's schedule over the optimizer steps (:func:`schedule`, default ``rsine``: from 1 down to 0).

One deliberate difference: the public code's stage 2 feeds the heads the final (normed) hidden state, not the
second-to-last one stage 1 trained them on; here both stages feed them the same input, so frozen heads see
what they were trained on.
"""

from __future__ import annotations

import math
from typing import Any

SCHEDULES = ("rsine", "sine", "linear", "constant")
ARCHITECTURE = "decoder-layer-copy-of-layers[-2]/input-of-last-layer/shared-output-embedding/v1"


class LayerInput:
    """The arguments of ``layer``'s call in each forward pass of ``model`` (a forward pre-hook on each): taken
    once per pass by :meth:`take`. Armed by the model's own call, so the recomputation of an activation-
    checkpointed layer in the backward pass records nothing. :meth:`remove` takes the hooks off."""

    def __init__(self, model: Any, layer: Any) -> None:
        self.value: tuple[tuple, dict] | None = None
        self._armed = False
        self._handles = [model.register_forward_pre_hook(self._arm),
                         layer.register_forward_pre_hook(self._record, with_kwargs=True)]

    def _arm(self, _module, _args) -> None:
        self._armed = True

    def _record(self, _module, args, kwargs) -> None:
        if self._armed:
            self.value, self._armed = (tuple(args), dict(kwargs)), False

    def take(self) -> tuple[tuple, dict]:
        value, self.value = self.value, None
        assert value is not None, "no forward pass of the model recorded the layer's input"
        return value

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def schedule(name: str, progress: float | None) -> float:
    """The weight s of the auxiliary term after a share ``progress`` = step / max_steps of training (the public
    code's ``caft_scheduler``): rsine = sin((1 − p)·π/2), sine = sin(p·π/2), linear = p, constant = 1; 1 while
    the number of steps is not known (``progress`` None)."""
    if progress is None or name == "constant":
        return 1.0
    if name == "rsine":
        return math.sin((1.0 - progress) * math.pi / 2)
    if name == "sine":
        return math.sin(progress * math.pi / 2)
    if name == "linear":
        return progress
    raise ValueError(f"unknown CAFT schedule {name!r}")


def head_layers(model: Any, n_heads: int) -> Any:
    """``n_heads`` copies of ``model``'s second-to-last decoder layer (a ``ModuleList``), on its device and in its
    dtype, frozen. ``model`` is the base without LoRA (copies of LoRA layers would carry LoRA into the heads)."""
    import copy

    import torch

    from harness.lm.hf_train import decoder_layers

    layers = decoder_layers(model)
    source = layers[-2] if len(layers) > 1 else layers[-1]
    heads = torch.nn.ModuleList(copy.deepcopy(source) for _ in range(n_heads))
    heads.requires_grad_(False)
    return heads


def head_losses(layers: Any, recorded: tuple[tuple, dict], labels: Any, output_embedding: Any) -> list:
    """[CE_1, …, CE_n] of the heads ``layers`` on one batch: ``recorded`` = the arguments of the base's last
    decoder layer in that batch's forward pass; heads in another dtype than the base get them cast (stage 1
    trains float32 copies). A head whose target lies past every row (T ≤ i + 1) gives 0."""
    import torch

    from harness.lm.hf_train import call_layer, layer_hidden
    from trainers.objectives import ntp_terms

    args, kwargs = recorded
    dtype = next(layers[0].parameters()).dtype
    hidden = layer_hidden(args, kwargs)
    if hidden.dtype != dtype:
        args, kwargs = _cast(args, dtype), _cast(kwargs, dtype)
        hidden = layer_hidden(args, kwargs)
    losses = []
    for i, layer in enumerate(layers, start=1):  # head i at t predicts t + 1 + i
        if hidden.shape[1] <= i + 1:
            losses.append(hidden.new_zeros((), dtype=torch.float32))
            continue
        out = call_layer(layer, hidden, args, kwargs)[:, :-i]
        logits = output_embedding(out.to(output_embedding.weight.dtype))  # [B, T − i, V]
        ntp = ntp_terms(logits, labels[:, i:])
        losses.append(ntp.nll.sum() / ntp.n_tokens.clamp(min=1))
    return losses


def weighted_sum(losses: list, decay: float) -> Any:
    """L_heads = Σ_i decay^i · CE_i."""
    return sum(decay ** i * loss for i, loss in enumerate(losses, start=1))


def _cast(value: Any, dtype: Any) -> Any:
    """Floating tensors inside tuples, lists and dicts cast to ``dtype``; everything else as it is."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (tuple, list)):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value

