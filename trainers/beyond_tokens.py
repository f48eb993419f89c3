"""The two uses of concept sets in "Beyond Tokens" (arXiv 2601.11791), as objectives of this harness.

``synonym-augment`` (data augmentation): before training, each content word of a training sequence is
replaced, with probability ``--augment-rate``, by a member of its concept set other than itself
(WordNet synonyms, hypernyms, or whatever the concept file's selector chose; drawn uniformly), spelled
as the tokens of ``" " + word``; the model is then trained with plain NTP. The validation part keeps
the original text, so its loss stays comparable across objectives. Deterministic per seed.

``alternatives`` (an extra loss on the alternatives, written correctly): with A_i = T*_i \\ {x_i} the
members of target i's concept set other than its original token x_i,

    L = L_NTP + w · (1/N_A) Σ_{i: A_i ≠ ∅} −log Σ_{a ∈ A_i} p(a | prefix)

N_A counting the targets with at least one alternative. The term carries its gradient (the released
code computed it under ``no_grad``, so it trained nothing) and takes the log of the summed
probabilities (the released code averaged log-probabilities, a different quantity: it rewards every
alternative, not the set's mass). ``tests/test_related_objectives.py`` catches both mistakes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from harness.config import option
from harness.errors import UserError
from trainers.objectives import (ConceptBatch, LossOutput, ObjectiveSettings, to_floats, combine, concept_logprob,
                                 ntp_terms, register_objective)


@dataclass(frozen=True)
class AlternativesSettings:
    alternatives_weight: float = option(0.5, help="alternatives: weight w of −log Σ p(alternatives) (default 0.5)")

    def __post_init__(self) -> None:
        if not self.alternatives_weight >= 0.0:
            raise UserError(f"--alternatives-weight must be at least 0, got {self.alternatives_weight}")


@dataclass(frozen=True)
class AugmentSettings:
    augment_rate: float = option(0.5, help="synonym-augment: share of content words replaced by a member of their "
                                           "concept set, in (0, 1] (default 0.5)")

    def __post_init__(self) -> None:
        if not 0.0 < self.augment_rate <= 1.0:
            raise UserError(f"--augment-rate must lie in (0, 1], got {self.augment_rate}")


def alternatives_only(labels, concepts: ConceptBatch) -> ConceptBatch:
    """The targets' sets without their original token (the label at their position), and only the targets
    left with at least one member."""
    original = labels[concepts.batch_index, concepts.position]
    mask = concepts.set_mask & concepts.set_ids.ne(original.unsqueeze(1))
    keep = mask.any(dim=1)
    return ConceptBatch(batch_index=concepts.batch_index[keep], position=concepts.position[keep],
                        set_ids=concepts.set_ids[keep], set_mask=mask[keep])


@register_objective("alternatives", "Beyond Tokens' extra loss, with gradient: L = L_NTP + w·mean_i(−log Σ_{a∈T*_i∖{x_i}} "
                                    "p(a|prefix)) over the targets that have an alternative",
                    settings=AlternativesSettings, needs_targets=lambda settings: True)
def alternatives_objective(logits, labels, concepts: ConceptBatch | None, settings: ObjectiveSettings) -> LossOutput:
    if concepts is None:
        raise ValueError("the alternatives objective needs a concept batch")
    weight = settings.of(AlternativesSettings).alternatives_weight
    ntp = ntp_terms(logits, labels)
    alternatives = alternatives_only(labels, concepts)
    nll = -concept_logprob(logits, ntp.lse, alternatives)
    n_alt = nll.shape[0]
    term = nll.sum() / max(n_alt, 1)
    base = combine(ntp, None, None, settings)
    import torch

    return LossOutput(loss=base.loss + weight * term, logs={**base.logs, **to_floats(
        alternatives_loss=term, n_alternative_targets=torch.tensor(n_alt))})


def augment(examples: list, tokenizer, settings: AugmentSettings, seed: int) -> list:
    """Each example with its content words replaced at ``augment_rate`` (module docstring); the targets are
    dropped (NTP reads none), the length never grows past the example's own."""
    rng = random.Random(f"synonym-augment:{seed}")
    out, replaced, candidates = [], 0, 0
    for ex in examples:
        ids, cursor = [], 0
        for position, set_ids, words in zip(ex.positions, ex.sets, ex.words):
            original = ex.input_ids[position]
            alternatives = [w for t, w in zip(set_ids, words) if t != original]
            if not alternatives:
                continue
            candidates += 1
            if rng.random() >= settings.augment_rate:
                continue
            word = rng.choice(alternatives).replace("_", " ")
            ids += ex.input_ids[cursor:position] + tokenizer.encode(" " + word, add_special_tokens=False)
            cursor = position + 1
            replaced += 1
        ids += ex.input_ids[cursor:]
        out.append(replace(ex, input_ids=ids[:len(ex.input_ids)], positions=[], sets=[], words=[]))
    if not candidates:
        raise UserError("synonym-augment: no content word of the concept file has a concept-set member other than "
                        "itself to replace it with")
    print(f"synonym-augment: replaced {replaced} of {candidates} content words ({replaced / candidates:.0%})")
    return out


@register_objective("synonym-augment", "Beyond Tokens' augmentation: content words replaced by a member of their "
                                       "concept set at --augment-rate, then L = L_NTP", uses_concepts=False,
                    settings=AugmentSettings, needs_targets=lambda settings: True, prepare=augment)
def synonym_augment_objective(logits, labels, concepts, settings: ObjectiveSettings) -> LossOutput:
    return combine(ntp_terms(logits, labels), None, None, settings)
