"""Objective ``caft``: Concept-Aware Fine-Tuning (arXiv 2506.07833) for any causal LM in transformers.

Besides the model's own next-token head, k − 1 auxiliary heads predict the tokens t + 2 … t + k from the
final hidden state h_t at position t (the last of the hidden states the model returns,
:func:`harness.lm.hf_train.training_forward`, so no model is patched). Head i (i = 1 … k − 1, predicting token t + 1 + i) is a residual block
``g_i(h) = h + SiLU(W_i h + b_i)`` followed by the model's own output embedding E (shared, not trained
here), as in CAFT's public code (Medusa's heads); W_i and b_i start at zero, so every head starts as the
model's next-token distribution. With ``nll_i(t) = −log softmax(E g_i(h_t))[x_{t+1+i}]``:

    L = L_NTP + Σ_{i=1}^{k−1} coef · decay^i · (Σ_t nll_i(t) / N_i)

N_i counting the positions whose target t + 1 + i exists and is not padding. The gradient of the
auxiliary terms reaches the heads and, through h, the LoRA weights. The heads are saved beside the
adapter (``objective_heads.safetensors``, :mod:`trainers.trainer`; also in every checkpoint, so a
resumed run continues them); evaluation reads
the adapter only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from harness.config import option
from harness.errors import UserError
from trainers.objectives import LossOutput, ObjectiveSettings, _floats, combine, ntp_terms, register_objective


@dataclass(frozen=True)
class CaftSettings:
    caft_k: int = option(4, help="caft: predict tokens t+1 … t+k (k−1 auxiliary heads, k ≥ 2; default 4)")
    caft_coef: float = option(0.01, help="caft: weight coef of the auxiliary losses (default 0.01)")
    caft_decay: float = option(0.8, help="caft: head i's loss is weighted coef·decay^i, decay in (0, 1] (default 0.8)")

    def __post_init__(self) -> None:
        if self.caft_k < 2:
            raise UserError(f"--caft-k must be at least 2 (the model's own head predicts t+1), got {self.caft_k}")
        if not 0.0 < self.caft_decay <= 1.0:
            raise UserError(f"--caft-decay must lie in (0, 1], got {self.caft_decay}")
        if not self.caft_coef >= 0.0:
            raise UserError(f"--caft-coef must be at least 0, got {self.caft_coef}")


def build_heads(model, settings: CaftSettings):
    """The k − 1 auxiliary heads for ``model`` (of its hidden size, on its device), zero-initialised."""
    import torch

    from harness.lm.hf_train import hidden_size

    heads = _heads_class()(hidden_size(model), settings.caft_k - 1, settings.caft_coef, settings.caft_decay)
    return heads.to(device=next(model.parameters()).device, dtype=torch.float32)


@cache
def _heads_class():
    """The heads' module class (made on first use: this module loads at CLI start-up, without torch)."""
    import torch

    class ResBlock(torch.nn.Module):
        def __init__(self, hidden: int) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(hidden, hidden)
            torch.nn.init.zeros_(self.linear.weight)
            torch.nn.init.zeros_(self.linear.bias)

        def forward(self, h):
            return h + torch.nn.functional.silu(self.linear(h))

    class Heads(torch.nn.Module):
        """``forward(hidden [B, T, d], labels [B, T], output_embeddings) -> LossOutput`` (the auxiliary term)."""

        def __init__(self, hidden: int, n_heads: int, coef: float, decay: float) -> None:
            super().__init__()
            self.blocks = torch.nn.ModuleList(ResBlock(hidden) for _ in range(n_heads))
            self.coef, self.decay = coef, decay

        def forward(self, hidden, labels, output_embeddings) -> LossOutput:
            total = hidden.new_zeros((), dtype=torch.float32)
            logs = {}
            for i, block in enumerate(self.blocks, start=1):  # head i at t predicts t + 1 + i: i positions fewer
                if hidden.shape[1] <= i + 1:
                    continue
                h = block(hidden[:, :-i].to(block.linear.weight.dtype))
                logits = output_embeddings(h.to(output_embeddings.weight.dtype))  # [B, T − i, V]
                loss_i = combine(ntp_terms(logits, labels[:, i:]), None, None, _NO_SETTINGS).loss
                total = total + self.coef * self.decay ** i * loss_i
                logs[f"caft_head{i}_loss"] = loss_i
            return LossOutput(loss=total, logs=_floats(caft_loss=total, **logs))

    return Heads


_NO_SETTINGS = ObjectiveSettings()


@register_objective("caft", "CAFT: L = L_NTP + Σ_{i=1}^{k−1} coef·decay^i·CE(head i → token t+1+i), auxiliary heads "
                            "on the final hidden states (any causal LM); heads saved beside the adapter",
                    uses_concepts=False, settings=CaftSettings, heads=build_heads)
def caft_objective(logits, labels, concepts, settings: ObjectiveSettings) -> LossOutput:
    return combine(ntp_terms(logits, labels), None, None, settings)  # the heads' term is added by the trainer
