"""Objective ``weighted-ce``: the public code's ablation, a cross-entropy with content words weighted.

With m the ``--content-multiplier`` (default 5, the public code's), w_t = m at content positions (those that
carry a concept target) and 1 at the other label tokens:

    L = Σ_t w_t · nll_t / Σ_t w_t

a weighted mean, normalised by the weights as the public code does (not by the token count N_tok: that would
also scale the step size by (N_tok + (m − 1)·N_content) / N_tok, so m would change the learning rate as well as
the balance between words). m = 1 is NTP. It separates "more weight on content words" from the concept loss's
"any member of the set is right".
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.config import option
from harness.errors import UserError
from trainers.objectives import (ConceptBatch, LossOutput, ObjectiveSettings, to_floats, content_mask, ntp_terms,
                                 register_objective)


@dataclass(frozen=True)
class WeightedCeSettings:
    content_multiplier: float = option(5.0, help="weighted-ce: weight m > 0 of content-word positions in the "
                                                 "cross-entropy, a mean weighted by Σw (default 5)")

    def __post_init__(self) -> None:
        if not self.content_multiplier > 0.0:
            raise UserError(f"--content-multiplier must be greater than 0, got {self.content_multiplier}")


@register_objective("weighted-ce", "L = Σ_t w_t·nll_t / Σ_t w_t, w = m at content words, 1 elsewhere: cross-entropy "
                                   "with content words weighted by --content-multiplier m (default 5; the public "
                                   "code's ablation)",
                    settings=WeightedCeSettings, needs_targets=lambda settings: True)
def weighted_ce_objective(logits, labels, concepts: ConceptBatch | None, settings: ObjectiveSettings) -> LossOutput:
    import torch

    if concepts is None:
        raise ValueError("the weighted-ce objective needs a concept batch")
    m = settings.of(WeightedCeSettings).content_multiplier
    ntp = ntp_terms(logits, labels)
    n_tok = ntp.n_tokens.clamp(min=1)
    content = content_mask(ntp, concepts)
    weight = torch.where(content, m, 1.0) * ntp.valid
    loss = (ntp.nll * weight).sum() / weight.sum().clamp(min=1e-12)
    return LossOutput(loss=loss, logs=to_floats(ntp_loss=ntp.nll.sum() / n_tok, content_nll=(ntp.nll * content).sum()
                                              / content.sum().clamp(min=1), n_tokens=ntp.n_tokens))
