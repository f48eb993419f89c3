"""Objective ``caft``: Concept-Aware Fine-Tuning (arXiv 2506.07833) as published, in two stages.

Stage 1 (:mod:`trainers.caft_stage1`, once per base model, data and settings, then cached): n auxiliary heads
(default 4, predicting tokens t + 2 … t + 5; each a copy of one of the base's decoder layers, reading the input
of its last layer, then its output embedding: :mod:`trainers.caft_heads`) are trained alone with the base
frozen and without LoRA. Stage 2 (here): the heads are loaded frozen (``requires_grad`` False) and, while LoRA
trains,

    L = L_NTP + coef · s(step / max_steps) · Σ_{i=1}^{n} decay^i · CE_i

with the public code's defaults coef = 0.01, decay = 0.8 and s = ``rsine`` (sin((1 − p)·π/2): the auxiliary
term fades from full weight to 0 over the optimizer steps; :func:`trainers.caft_heads.schedule`). The gradient
of the auxiliary term reaches the LoRA weights through the heads' input. Evaluation losses (the validation
loss that picks the best checkpoint) leave the auxiliary term out, as the public code selects by the plain
NTP loss. The heads are not saved with the adapter (they do not change): ``harness_train.json`` records their
cache key and file and the stage-1 settings under ``objective_heads``. :mod:`trainers.caft_joint` is the earlier
one-stage variant (zero-initialised linear heads trained jointly with LoRA).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.config import option
from harness.errors import UserError
from trainers.caft_heads import SCHEDULES
from trainers.objectives import LossOutput, ntp_objective, register_objective


@dataclass(frozen=True)
class CaftSettings:
    caft_heads: int = option(4, help="caft: auxiliary heads, head i predicting token t+1+i (default 4: t+2 … t+5)")
    caft_coef: float = option(0.01, help="caft: weight coef of the auxiliary losses while LoRA trains "
                                         "(default 0.01)")
    caft_decay: float = option(0.8, help="caft: head i's loss is weighted decay^i, decay in (0, 1] (default 0.8)")
    caft_schedule: str = option("rsine", choices=SCHEDULES,
                                help="caft: weight of the auxiliary term over the steps: rsine (default, 1 down "
                                     "to 0), sine (0 up to 1), linear (0 up to 1), constant")
    caft_heads_epochs: float = option(1.0, help="caft stage 1: epochs over the training sequences (default 1)")
    caft_heads_lr: float = option(1e-4, help="caft stage 1: peak learning rate of the heads (default 1e-4)")
    caft_heads_max_steps: int = option(0, help="caft stage 1: at most this many steps (default 0: no limit)")

    def __post_init__(self) -> None:
        if self.caft_heads < 1:
            raise UserError(f"--caft-heads must be at least 1, got {self.caft_heads}")
        if not 0.0 < self.caft_decay <= 1.0:
            raise UserError(f"--caft-decay must lie in (0, 1], got {self.caft_decay}")
        if not self.caft_coef >= 0.0:
            raise UserError(f"--caft-coef must be at least 0, got {self.caft_coef}")
        if not self.caft_heads_epochs > 0.0:
            raise UserError(f"--caft-heads-epochs must be greater than 0, got {self.caft_heads_epochs}")
        if not self.caft_heads_lr > 0.0:
            raise UserError(f"--caft-heads-lr must be greater than 0, got {self.caft_heads_lr}")
        if self.caft_heads_max_steps < 0:
            raise UserError(f"--caft-heads-max-steps must be at least 0, got {self.caft_heads_max_steps}")


def build_heads(model: Any, settings: CaftSettings, context: Any) -> Any:
    """The frozen stage-1 heads of the base ``model`` (trained now, or read from the cache), ready for stage 2:
    they record the input of ``model``'s last decoder layer in each forward pass until :meth:`release`."""
    from harness.lm.hf_train import decoder_layers
    from trainers.caft_heads import LayerInput
    from trainers.caft_stage1 import cached_heads

    layers, record = cached_heads(model, settings, context)
    return _frozen_heads_class()(layers, settings, LayerInput(model, decoder_layers(model)[-1]), record)


def _frozen_heads_class():
    """The stage-2 module's class (made on first use: this module loads at CLI start-up, without torch)."""
    import torch

    from trainers.caft_heads import head_losses, schedule, weighted_sum
    from trainers.objectives import to_floats

    class FrozenHeads(torch.nn.Module):
        """``forward(hidden, labels, output_embeddings, progress) -> LossOutput``: the auxiliary term of the
        module docstring (0 outside training mode), from the recorded input of the base's last layer."""

        def __init__(self, layers, settings: CaftSettings, recorder, record: dict) -> None:
            super().__init__()
            self.layers = layers.requires_grad_(False)
            self.settings, self.recorder, self.record = settings, recorder, record

        def forward(self, hidden, labels, output_embeddings, progress=None) -> LossOutput:
            losses = head_losses(self.layers, self.recorder.take(), labels, output_embeddings)
            aux = weighted_sum(losses, self.settings.caft_decay)
            s = schedule(self.settings.caft_schedule, progress)
            weight = self.settings.caft_coef * s if self.training else 0.0
            logs = {f"caft_head{i}_loss": loss for i, loss in enumerate(losses, start=1)}
            return LossOutput(loss=weight * aux, logs=to_floats(caft_loss=aux, caft_weight=aux.new_tensor(weight),
                                                              **logs))

        def release(self) -> None:
            """Take the recording hooks off the base model (it may serve again, e.g. to evaluate)."""
            self.recorder.remove()

    return FrozenHeads


# the loss is NTP's (trainers.objectives.ntp_objective): the heads' term is added by their attachment
# (trainers.objective_heads.AttachedHeads)
register_objective("caft", "CAFT as published: L = L_NTP + coef·s(step)·Σ_i decay^i·CE(head i → token t+1+i); "
                           "4 decoder-layer heads trained first alone (base frozen, cached per base model), then "
                           "frozen while LoRA trains; s decays 1 → 0 (rsine)",
                   uses_concepts=False, settings=CaftSettings, heads=build_heads)(ntp_objective)
