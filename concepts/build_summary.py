"""What a concept build found: the ending statistics, the candidate counts, and the all-singleton check.

Candidate counts (per sequence record, summed in :class:`BuildStats` and in the file header's
``build_stats`` block): ``top_k`` candidates seen, of which ``whole_word`` passed the whole-word
filter (:class:`~concepts.candidates.WholeWordVocab`); each rule of
:mod:`concepts.candidate_rules` removed ``target``/``lemma``/``case``/``letter``/
``inflection`` of those, and ``pool`` were left for the selector.

A build whose concept sets all hold only the original token would train plain next-token
prediction under the name of concept training, so :func:`check_not_all_singletons` stops it with
a one-line user error saying why. "All" needs evidence:

- the tokenizer: when not one content word's own token reads as a whole word, the tokenizer's
  word-boundary convention is not understood and every candidate would be rejected too; that is
  decided at any size (content words are whole words by definition);
- the selector: when at least :data:`MIN_WORDS_ALL_SINGLETONS` content words got no synonym at all.
  Below that a build may legitimately find none (a few sequences, a small ``k``, a tiny random
  test model); the summary then says so instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from concepts.candidate_rules import RULES
from concepts.set_counts import SetCounts
from harness.errors import UserError

COUNT_KEYS = ("top_k", "whole_word", *RULES, "pool")
MIN_WORDS_ALL_SINGLETONS = 200


@dataclass
class BuildStats:
    """Ending statistics of one build run (the sequences processed by this run)."""

    sequences: int = 0  # written by this run
    already_done: int = 0  # found in the file on --resume
    dropped: int = 0  # sequences without a content word in ``last`` mode
    content_words: int = 0  # targets written
    whole_word_targets: int = 0  # targets whose own token the whole-word filter recognises
    sets: SetCounts = field(default_factory=SetCounts)  # the written targets' sets (:mod:`concepts.set_counts`)
    candidates: Counter = field(default_factory=Counter)  # COUNT_KEYS, summed over targets
    selector_seconds: float = 0.0
    candidate_seconds: float = 0.0
    filter_seconds: float = 0.0  # whole-word filter and candidate rules
    content_word_seconds: float = 0.0
    seconds: float = 0.0  # the whole loop (model and selector loading excluded)
    setup_seconds: float = 0.0
    out: str = ""

    def add_set(self, token_id: int, set_ids: list[int]) -> None:
        """Count one written target's set (the build counts ``content_words`` itself: the same targets)."""
        self.sets.add_set(token_id, set_ids)

    @property
    def with_synonyms(self) -> int:
        return self.sets.non_empty

    @property
    def share_with_synonyms(self) -> float:
        return self.sets.non_empty_share

    @property
    def mean_set_size(self) -> float:
        return self.sets.mean_size

    @property
    def words_per_second(self) -> float:
        return self.content_words / self.seconds if self.seconds else float("nan")

    def summary(self) -> str:
        lines = [
            f"concept file      {self.out}",
            f"sequences         {self.sequences} written" + (f", {self.already_done} already done" if self.already_done else "")
            + (f", {self.dropped} dropped (no content word)" if self.dropped else ""),
            f"content words     {self.content_words}",
            f"candidates        {candidate_line(self.candidates)}",
            f"non-empty sets    {self.share_with_synonyms:.1%} ({self.with_synonyms})"
            + (" - no synonym at all (too few content words to call it a failure)"
               if self.content_words and not self.with_synonyms else ""),
            f"mean set size     {self.mean_set_size:.2f} tokens (original included)",
            f"time              {self.seconds:.1f} s: content words {self.content_word_seconds:.1f} s, candidates "
            f"{self.candidate_seconds:.1f} s, filters {self.filter_seconds:.1f} s, selector "
            f"{self.selector_seconds:.1f} s (+{self.setup_seconds:.1f} s loading)",
            f"throughput        {self.words_per_second:.2f} content words/s",
        ]
        return "\n".join(lines)


def counts(c: Counter | dict[str, int]) -> dict[str, int]:
    """The candidate counts in :data:`COUNT_KEYS` order (0 for a missing key)."""
    return {k: int(c.get(k, 0)) for k in COUNT_KEYS}


def candidate_line(c: Counter | dict[str, int]) -> str:
    """``top-k 2000, whole-word 900; removed: target 10, lemma 25, ...; left for the selector 800``."""
    c = counts(c)
    removed = ", ".join(f"{r} {c[r]}" for r in RULES)
    return f"top-k {c['top_k']}, whole-word {c['whole_word']}; removed: {removed}; left for the selector {c['pool']}"


def check_not_all_singletons(stats: BuildStats, tokenizer_name: str, selector: str) -> None:
    """Raise the one-line UserError of the module docstring when the build's sets are all singletons."""
    if stats.with_synonyms:
        return
    if stats.content_words and not stats.whole_word_targets:
        raise UserError(
            f"no candidate passed the whole-word filter for tokenizer {tokenizer_name}: not one of "
            f"{stats.content_words} content words reads as a whole-word token, so its word-boundary convention "
            f"(Ġ, ▁ or WordPiece ##) is not understood and every concept set would hold only the original token")
    if stats.content_words >= MIN_WORDS_ALL_SINGLETONS:
        raise UserError(
            f"selector {selector} chose no synonym for any of {stats.content_words} content words "
            f"({candidate_line(stats.candidates)}): every concept set would hold only the original token, "
            f"i.e. plain next-token training")


def build_stats_block(path: Any) -> dict[str, Any]:
    """The header's ``build_stats`` block (a recorded key, kept literally when this module was renamed from
    ``build_stats``: a stable identifier of concept files): set statistics and candidate counts summed over every record of the
    file (so a resumed build reports the same as an uninterrupted one)."""
    from concepts.concept_file import iter_records

    sets = SetCounts()
    total: Counter = Counter()
    for rec in iter_records(path):
        total.update(rec.candidates)
        for t in rec.targets:
            sets.add(t)
    some = bool(sets.targets)  # None, not NaN, for no target: the header is JSON
    return {"content_words": sets.targets, "with_synonyms": sets.non_empty,
            "share_with_synonyms": sets.non_empty_share if some else None,
            "mean_set_size": sets.mean_size if some else None, "candidates": counts(total)}
