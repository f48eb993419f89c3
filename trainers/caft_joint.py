"""Objective ``caft-joint``: a one-stage relative of CAFT (arXiv 2506.07833), NOT the published method.

The published method is :mod:`trainers.caft` (objective ``caft``): decoder-layer heads trained first with the
base frozen, then loaded frozen while LoRA trains, with a decaying weight. This variant instead trains small
linear heads from zero jointly with LoRA, and is kept as an ablation of that difference. Besides the model's own next-token head, k − 1 auxiliary heads predict the tokens t + 2 … t + k from the
final hidden state h_t at position t (the last of the hidden states the model returns, handed to the heads by
their attachment's hook: :class:`trainers.objective_heads.AttachedHeads`, so no model is patched). Head i (i = 1 … k − 1, predicting token t + 1 + i) is a residual block
``g_i(h) = h + SiLU(W_i h + b_i)`` followed by the model's own output embedding E (shared, not trained
here), the ``linear`` head architecture CAFT's public code offers (Medusa's heads; its default is the
``transformer`` one of :mod:`trainers.caft`); W_i and b_i start at zero, so every head starts as the
model's next-token distribution. With ``nll_i(t) = −log softmax(E g_i(h_t))[x_{t+1+i}]``:

    L = L_NTP + Σ_{i=1}^{k−1} coef · decay^i · (Σ_t nll_i(t) / N_i)

N_i counting the positions whose target t + 1 + i exists and is not padding. The gradient of the
auxiliary terms reaches the heads and, through h, the LoRA weights. The heads are saved beside the
adapter (``objective_heads.safetensors``, :mod:`trainers.objective_heads`; also in every checkpoint, so a
resumed run continues them); evaluation reads
the adapter only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from harness.config import option
from harness.errors import UserError
from trainers.objectives import (LossOutput, ObjectiveSettings, to_floats, combine, ntp_objective, ntp_terms,
                                 register_objective)


@dataclass(frozen=True)
class CaftJointSettings:
    caft_joint_k: int = option(4, help="caft-joint: predict tokens t+1 … t+k (k−1 auxiliary heads, k ≥ 2; default 4)")
    caft_joint_coef: float = option(0.01, help="caft-joint: weight coef of the auxiliary losses (default 0.01)")
    caft_joint_decay: float = option(0.8, help="caft-joint: head i's loss is weighted coef·decay^i, decay in (0, 1] "
                                               "(default 0.8)")

    def __post_init__(self) -> None:
        if self.caft_joint_k < 2:
            raise UserError(f"--caft-joint-k must be at least 2 (the model's own head predicts t+1), "
                            f"got {self.caft_joint_k}")
        if not 0.0 < self.caft_joint_decay <= 1.0:
            raise UserError(f"--caft-joint-decay must lie in (0, 1], got {self.caft_joint_decay}")
        if not self.caft_joint_coef >= 0.0:
            raise UserError(f"--caft-joint-coef must be at least 0, got {self.caft_joint_coef}")


def build_heads(model, settings: CaftJointSettings, context=None):
    """The k − 1 auxiliary heads for ``model`` (of its hidden size, on its device), zero-initialised
    (``context``, the training run's :class:`~trainers.objective_heads.HeadsContext`, is not needed)."""
    import torch

    from harness.lm.hf_train import hidden_size

    heads = _heads_class()(hidden_size(model), settings.caft_joint_k - 1, settings.caft_joint_coef,
                           settings.caft_joint_decay)
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
        """``forward(hidden [B, T, d], labels [B, T], output_embeddings, progress) -> LossOutput`` (the auxiliary
        term; the share of training done, ``progress``, does not change it)."""

        def __init__(self, hidden: int, n_heads: int, coef: float, decay: float) -> None:
            super().__init__()
            self.blocks = torch.nn.ModuleList(ResBlock(hidden) for _ in range(n_heads))
            self.coef, self.decay = coef, decay

        def forward(self, hidden, labels, output_embeddings, progress=None) -> LossOutput:
            total = hidden.new_zeros((), dtype=torch.float32)
            logs = {}
            for i, block in enumerate(self.blocks, start=1):  # head i at t predicts t + 1 + i: i positions fewer
                if hidden.shape[1] <= i + 1:
                    continue
                h = block(hidden[:, :-i].to(block.linear.weight.dtype))
                logits = output_embeddings(h.to(output_embeddings.weight.dtype))  # [B, T − i, V]
                loss_i = combine(ntp_terms(logits, labels[:, i:]), None, None, _NO_SETTINGS).loss
                total = total + self.coef * self.decay ** i * loss_i
                logs[f"caft_joint_head{i}_loss"] = loss_i
            return LossOutput(loss=total, logs=to_floats(caft_joint_loss=total, **logs))

    return Heads


_NO_SETTINGS = ObjectiveSettings()


# the loss is NTP's (trainers.objectives.ntp_objective): the heads' term is added by their attachment
# (trainers.objective_heads.AttachedHeads)
register_objective("caft-joint", "NOT the published CAFT (that is caft): L = L_NTP + Σ_{i=1}^{k−1} coef·decay^i·"
                                 "CE(head i → token t+1+i), linear heads on the final hidden states, zero-"
                                 "initialised and trained jointly with LoRA; heads saved beside the adapter",
                   uses_concepts=False, settings=CaftJointSettings, heads=build_heads)(ntp_objective)
