"""Objective ``weighted-ce``: the public code's ablation, a cross-entropy with content words weighted.

With m the ``--content-multiplier`` and content positions those that carry a concept target:

    L = (Σ_{non-content t} nll_t + m · Σ_{content t} nll_t) / N_tok

normalised by the label tokens as the ``content`` λ scope of :func:`trainers.objectives.combine` is (m = 1
is NTP; the content scope's (1 − λ) is m < 1). It separates "more weight on content words" from the
concept loss's "any member of the set is right".
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.config import option
from harness.errors import UserError
from trainers.objectives import (ConceptBatch, LossOutput, ObjectiveSettings, _floats, content_mask, ntp_terms,
                                 register_objective)


@dataclass(frozen=True)
class WeightedCeSettings:
    content_multiplier: float = option(2.0, help="weighted-ce: weight m > 0 of content-word positions in the "
                                                 "cross-entropy (default 2)")

    def __post_init__(self) -> None:
        if not self.content_multiplier > 0.0:
            raise UserError(f"--content-multiplier must be greater than 0, got {self.content_multiplier}")


@register_objective("weighted-ce", "L = (Σ_non-content nll + m·Σ_content nll) / N_tok: cross-entropy with content-word "
                                   "positions weighted by --content-multiplier m (the public code's ablation)",
                    settings=WeightedCeSettings, needs_targets=lambda settings: True)
def weighted_ce_objective(logits, labels, concepts: ConceptBatch | None, settings: ObjectiveSettings) -> LossOutput:
    import torch

    if concepts is None:
        raise ValueError("the weighted-ce objective needs a concept batch")
    m = settings.of(WeightedCeSettings).content_multiplier
    ntp = ntp_terms(logits, labels)
    n_tok = ntp.n_tokens.clamp(min=1)
    content = content_mask(ntp, concepts)
    loss = (ntp.nll * torch.where(content, m, 1.0)).sum() / n_tok
    return LossOutput(loss=loss, logs=_floats(ntp_loss=ntp.nll.sum() / n_tok, content_nll=(ntp.nll * content).sum()
                                              / content.sum().clamp(min=1), n_tokens=ntp.n_tokens))
