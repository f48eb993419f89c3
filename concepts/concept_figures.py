"""What a concept file holds (``harness concepts stats``): coverage, set sizes, POS, frequent sets, set mass
under the base model, and the agreement of two files' selectors. Rendering: :mod:`concepts.concept_report`.

Definitions (one target = one content word with its set T*, :mod:`concepts.concept_file`; *synonyms*,
*non-empty* and *mean set size* as :mod:`concepts.set_counts` defines them for every report):

- *set size* ``|T*|`` as stored (original included in a built file), its histogram and mean;
- per POS: targets, non-empty share and mean ``|T*|``;
- most frequent sets: the non-empty ``(word, sorted synonym words)`` pairs (word lowercased), by count;
- *mass* ``m(t) = Σ_{u∈T*} p(u | input_ids[:position])`` under a model (the file's base model by default), and
  the share of targets with ``m(t) ≥ θ`` (θ = the objectives' mass threshold,
  :data:`~concepts.concept_sets.DEFAULT_MASS_THRESHOLD`): the concept loss of those targets is 0 from
  the first step (``keep_i = [p(T*_i) < θ]`` in ``trainers.objectives``). The same share for the original token
  alone, ``p(x_p | prefix) ≥ θ``, says how much of it the synonyms add.

Two files (:func:`compare_files`): targets are matched by (sequence text, position, original token); for matched
targets ``J(A, B) = |A ∩ B| / |A ∪ B|`` of the two synonym-id sets, reported as the mean over all matched targets
with ``J(∅, ∅) = 1`` (two selectors that both find nothing agree) and as the mean over matched targets where
either set is non-empty (``A ∪ B ≠ ∅``, where J is defined without a convention).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from concepts.concept_file import ConceptFile, ConceptRecord, ConceptTarget
from concepts.concept_sets import DEFAULT_MASS_THRESHOLD
from concepts.set_counts import SetCounts, ratio, synonym_ids_of

TOP_SETS = 10


def synonym_ids(t: ConceptTarget) -> frozenset[int]:
    """``T* \\ {original token}``."""
    return synonym_ids_of(t.token_id, t.set_ids)


def synonym_words(t: ConceptTarget) -> tuple[str, ...]:
    """The words of :func:`synonym_ids`, in the set's order."""
    return tuple(w for i, w in zip(t.set_ids, t.set_words) if i != t.token_id)


@dataclass
class PosStats(SetCounts):
    pos: str = ""


@dataclass
class MassStats:
    """Set mass under ``model``: ``at_threshold`` targets with ``m(t) ≥ threshold`` of ``targets``;
    ``original_at_threshold``: the original token alone reaches it."""

    model: str
    threshold: float
    targets: int
    at_threshold: int
    original_at_threshold: int
    mean_mass: float
    mean_original: float

    @property
    def share(self) -> float:
        return ratio(self.at_threshold, self.targets)

    @property
    def original_share(self) -> float:
        return ratio(self.original_at_threshold, self.targets)


@dataclass
class FileStats(SetCounts):
    name: str = ""
    selector: str | None = None
    model: str | None = None
    noise: bool = False
    sequences: int = 0
    size_hist: dict[int, int] = field(default_factory=dict)
    pos: list[PosStats] = field(default_factory=list)
    top_sets: list[tuple[str, tuple[str, ...], int]] = field(default_factory=list)
    mass: MassStats | None = None


def summarize_file(cf: ConceptFile, name: str, top: int = TOP_SETS) -> FileStats:
    """Every figure of the module docstring except the mass (:func:`mass_stats`)."""
    hist: Counter = Counter()
    by_pos: dict[str, PosStats] = {}
    sets: Counter = Counter()
    total = SetCounts(0, 0, 0)
    for _, t in cf.targets():
        total.add(t)
        by_pos.setdefault(t.pos, PosStats(0, 0, 0, pos=t.pos)).add(t)
        hist[len(t.set_ids)] += 1
        syn = tuple(sorted(synonym_words(t)))
        if syn:
            sets[(t.word.lower(), syn)] += 1
    ranked = sorted(sets.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return FileStats(total.targets, total.non_empty, total.size_sum, name=name, selector=cf.header.name("selector"),
                     model=cf.header.model_spec, noise=cf.header.is_noise_control, sequences=len(cf.records),
                     size_hist=dict(sorted(hist.items())), pos=sorted(by_pos.values(), key=lambda p: (-p.targets, p.pos)),
                     top_sets=[(w, s, n) for (w, s), n in ranked])


def mass_stats(cf: ConceptFile, model: Any, threshold: float = DEFAULT_MASS_THRESHOLD,
               max_batch_tokens: int | None = None) -> MassStats:
    """``m(t)`` and ``p(original)`` of every target through
    :meth:`~harness.lm.interface.LanguageModel.set_log_probs` (one request: each position asks for T* and for
    the original token alone), summarised as in the module docstring."""
    import numpy as np

    records = [r for r in cf.records if r.targets]
    positions = [[t.position for t in r.targets for _ in (0, 1)] for r in records]
    sets = [[s for t in r.targets for s in (t.set_ids, [t.token_id])] for r in records]
    logp = model.set_log_probs([r.input_ids for r in records], positions, sets, max_batch_tokens=max_batch_tokens)
    both = np.exp(np.concatenate(logp)) if logp else np.zeros(0)
    mass, original = both[0::2], both[1::2]
    return MassStats(model=str(model.info.spec), threshold=threshold, targets=len(mass),
                     at_threshold=int((mass >= threshold).sum()), original_at_threshold=int((original >= threshold).sum()),
                     mean_mass=float(mass.mean()) if len(mass) else float("nan"),
                     mean_original=float(original.mean()) if len(original) else float("nan"))


@dataclass
class PairStats:
    """Agreement of two files' selectors over their matched targets (module docstring)."""

    a: str
    b: str
    matched: int
    only_a: int
    only_b: int
    both_empty: int
    either_non_empty: int
    identical: int
    jaccard_sum: float  # Σ J over matched targets where either set is non-empty
    non_empty_a: int  # of the matched targets
    non_empty_b: int
    # POS -> (matched, Σ J with J(∅,∅) = 1, matched with either set non-empty, Σ J over those)
    per_pos: dict[str, tuple[int, float, int, float]] = field(default_factory=dict)

    @property
    def jaccard_all(self) -> float:
        """Mean J over all matched targets, J(∅, ∅) = 1."""
        return ratio(self.jaccard_sum + self.both_empty, self.matched)

    @property
    def jaccard_non_empty(self) -> float:
        """Mean J over matched targets where either set is non-empty."""
        return ratio(self.jaccard_sum, self.either_non_empty)


def _keyed(cf: ConceptFile) -> dict[tuple[str, int, int], tuple[ConceptRecord, ConceptTarget]]:
    return {(rec.text, t.position, t.token_id): (rec, t) for rec, t in cf.targets()}


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """``|a ∩ b| / |a ∪ b|``, 1 for two empty sets."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def compare_files(a: ConceptFile, b: ConceptFile, name_a: str, name_b: str) -> PairStats:
    """Match targets by (sequence text, position, original token) and compare their synonym sets."""
    ka, kb = _keyed(a), _keyed(b)
    common = [k for k in ka if k in kb]
    out = PairStats(a=name_a, b=name_b, matched=len(common), only_a=len(ka) - len(common),
                    only_b=len(kb) - len(common), both_empty=0, either_non_empty=0, identical=0, jaccard_sum=0.0,
                    non_empty_a=0, non_empty_b=0)
    per_pos: dict[str, list[float]] = {}  # POS -> [matched, Σ J, either non-empty, Σ J over those]
    for k in common:
        ta, tb = ka[k][1], kb[k][1]
        sa, sb = synonym_ids(ta), synonym_ids(tb)
        j = jaccard(sa, sb)
        out.non_empty_a += bool(sa)
        out.non_empty_b += bool(sb)
        out.identical += sa == sb
        if sa or sb:
            out.either_non_empty += 1
            out.jaccard_sum += j
        else:
            out.both_empty += 1
        acc = per_pos.setdefault(ta.pos, [0, 0.0, 0, 0.0])
        acc[0] += 1
        acc[1] += j
        if sa or sb:
            acc[2] += 1
            acc[3] += j
    out.per_pos = {p: (int(n), s, int(ne), se) for p, (n, s, ne, se) in sorted(per_pos.items())}
    return out
