"""Concept file -> training examples -> padded batches with a flattened concept batch.

Each sequence of a concept file becomes one example: its token ids (cut to ``max_length``) and
its concept targets inside that window, each set cut to its first ``1 + max_synonyms`` members
(a built set: the original token and at most ``max_synonyms`` synonyms; a noise set: as many
random tokens, never the original). The collator right-pads a batch, sets ``labels = input_ids`` with
−100 on padding, and flattens the targets into the tensors of
:class:`trainers.objectives.ConceptBatch` (``concept_*`` keys; the trainer pops them before the
forward pass).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Iterable

from harness.errors import UserError


@dataclass
class TrainExample:
    input_ids: list[int]
    positions: list[int]  # index in input_ids of each content token (≥ 1)
    sets: list[list[int]]  # concept set T* of each (a noise set need not hold the original token)
    words: list[list[str]] = field(default_factory=list)  # the words of each set (synonym-augment spells them)
    text: str = ""  # the record's text (its digest says what the model saw: harness.seen_texts)

    def as_feature(self) -> dict[str, Any]:
        return {"input_ids": self.input_ids, "positions": self.positions, "sets": self.sets}


def examples_from_records(records: Iterable, max_length: int, max_synonyms: int = 10) -> list[TrainExample]:
    """One example per concept-file record (``ConceptRecord``); sequences under 2 tokens are skipped."""
    out = []
    for rec in records:
        ids = list(rec.input_ids[:max_length])
        if len(ids) < 2:
            continue
        kept = [t for t in rec.targets if 1 <= t.position < len(ids)]
        out.append(TrainExample(input_ids=ids, positions=[t.position for t in kept],
                                sets=[list(t.set_ids[:1 + max_synonyms]) for t in kept],
                                words=[list(t.set_words[:1 + max_synonyms]) for t in kept], text=rec.text))
    if not out:
        raise UserError("the concept file holds no sequence of 2 tokens or more to train on")
    return out


def split_validation(examples: list[TrainExample], fraction: float, seed: int) -> tuple[list, list]:
    """Shuffle with ``seed`` and hold out ``fraction`` (at least one example when fraction > 0)."""
    if fraction <= 0:
        return examples, []
    if not fraction < 1:
        raise UserError(f"--val-fraction must lie in [0, 1), got {fraction}")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(fraction * len(examples)))
    if n_val >= len(examples):
        raise UserError(f"{len(examples)} sequence(s) are too few for a {fraction:.0%} validation split")
    val = sorted(order[:n_val])
    train = sorted(order[n_val:])
    return [examples[i] for i in train], [examples[i] for i in val]


@dataclass
class ConceptCollator:
    """Pads a list of :meth:`TrainExample.as_feature` dicts into model inputs plus concept tensors."""

    pad_id: int

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        from harness.lm.batching import pad_rows

        input_ids, attention = pad_rows([f["input_ids"] for f in features], self.pad_id)
        rows, positions, sets = [], [], []
        for b, f in enumerate(features):
            rows += [b] * len(f["positions"])
            positions += f["positions"]
            sets += f["sets"]
        labels = input_ids.masked_fill(attention == 0, -100)
        S = max((len(s) for s in sets), default=1)
        set_ids = torch.zeros((len(sets), S), dtype=torch.long)
        set_mask = torch.zeros((len(sets), S), dtype=torch.bool)
        for i, s in enumerate(sets):
            set_ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
            set_mask[i, :len(s)] = True
        return {"input_ids": input_ids, "attention_mask": attention, "labels": labels,
                "concept_batch_index": torch.tensor(rows, dtype=torch.long),
                "concept_position": torch.tensor(positions, dtype=torch.long),
                "concept_set_ids": set_ids, "concept_set_mask": set_mask}


def pop_concept_batch(inputs: dict[str, Any]):
    """Remove the ``concept_*`` tensors from a collated batch and return them as a ConceptBatch."""
    from trainers.objectives import ConceptBatch

    return ConceptBatch(batch_index=inputs.pop("concept_batch_index"), position=inputs.pop("concept_position"),
                        set_ids=inputs.pop("concept_set_ids"), set_mask=inputs.pop("concept_set_mask"))
