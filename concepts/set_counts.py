"""The set statistics every report of a concept file shares, defined once.

One target = one content word with its set T* (:mod:`concepts.concept_file`):

- its *synonyms* ``syn(t) = T* \\ {original token}`` (token ids; a built set puts the original first, a noise
  control never holds it);
- its set is *non-empty* when ``|syn(t)| ≥ 1`` (for a built set, whose ids are distinct, that is ``|T*| > 1``);
- *mean set size* ``Σ |T*| / targets``, over all targets, ``|T*|`` as stored (original included in a built file).

The build's summary and its header's ``build_stats`` (:mod:`concepts.build_summary`), ``harness concepts show``
(:func:`concepts.commands.set_summary`) and ``harness concepts stats`` (:mod:`concepts.concept_figures`) count with
:class:`SetCounts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


def ratio(a: float, b: float) -> float:
    """``a / b``, NaN when ``b`` is 0 (a share of nothing)."""
    return a / b if b else float("nan")


def synonym_ids_of(token_id: int, set_ids: Sequence[int]) -> frozenset[int]:
    """``T* \\ {original token}``."""
    return frozenset(i for i in set_ids if i != token_id)


@dataclass
class SetCounts:
    """Targets, how many have a non-empty set, and Σ |T*|."""

    targets: int = 0
    non_empty: int = 0
    size_sum: int = 0

    @property
    def non_empty_share(self) -> float:
        return ratio(self.non_empty, self.targets)

    @property
    def mean_size(self) -> float:
        return ratio(self.size_sum, self.targets)

    def add_set(self, token_id: int, set_ids: Sequence[int]) -> None:
        self.targets += 1
        self.non_empty += bool(synonym_ids_of(token_id, set_ids))
        self.size_sum += len(set_ids)

    def add(self, t) -> None:
        """One :class:`~concepts.concept_file.ConceptTarget`."""
        self.add_set(t.token_id, t.set_ids)

    @classmethod
    def of(cls, targets: Iterable) -> "SetCounts":
        counts = cls()
        for t in targets:
            counts.add(t)
        return counts
