"""Concept-set construction and the proportion of content words that receive one.

Set rule (paper section 3.1, appendix B): T* = [original token] + [first token of
``" " + synonym`` for each synonym, in the selector's order], de-duplicated by token id,
at most ``max_synonyms`` (10) synonyms besides the original token. The leading space makes
the synonym a whole word continuing the prefix, as the original content word does (content
words begin with a space): the first token is the one that begins the synonym after a
preceding word, in the tokenizer's own convention (``Ġ``, ``▁`` or WordPiece's unprefixed
word start: :meth:`concepts.candidates.WholeWordVocab.first_token`); a synonym whose
first token does not begin a word there is skipped.

Proportion (paper section 5.4): ``1.0``, ``0.5``, ``0.25`` keep ``max(1, round(share · n))`` of
a sequence's ``n`` content words, drawn without replacement by a generator seeded with
``(seed, sequence index)`` (so a resumed build draws the same words); ``last`` keeps only the
last content word, and the sequence is cut right after it, so that every sequence "ends in a
content word" (our reading of "we filtered sequences to end in a content word": the text and
ids after the last content word are dropped; sequences without content words are dropped).
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from harness.errors import UserError

MAX_SYNONYMS = 10
# The concept objectives' default mass threshold: a target's concept loss is 0 once p(T*) = Σ_{t∈T*} p(t | prefix)
# reaches it (``trainers.objectives``); ``harness concepts stats`` reports the share of targets already there.
DEFAULT_MASS_THRESHOLD = 0.6


def build_concept_set(token_id: int, word: str, synonyms: Sequence[str], vocab: Any,
                      max_synonyms: int = MAX_SYNONYMS) -> tuple[list[int], list[str]]:
    """(set_ids, set_words) of T* (module docstring); ``vocab`` is the tokenizer's
    :class:`~concepts.candidates.WholeWordVocab`; ``set_words[j]`` is the text of ``set_ids[j]``
    (the original word, then each synonym's first token without its leading space)."""
    ids, words = [int(token_id)], [word]
    for syn in synonyms:
        if len(ids) - 1 >= max_synonyms:
            break
        syn = syn.strip()
        if not syn:
            continue
        tid = vocab.first_token(syn)
        if tid is None or tid in ids:
            continue
        ids.append(tid)
        words.append(vocab.tokenizer.decode([tid]).strip())
    return ids, words


def parse_proportion(value: str | float) -> str:
    """Normalise ``--proportion``: one of 1.0, 0.5, 0.25 (or any share in (0, 1]) and ``last``."""
    text = str(value).strip().lower()
    if text == "last":
        return "last"
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0 < share <= 1:
        raise UserError(f"--proportion must be a share in (0, 1] such as 1.0, 0.5, 0.25, or last (got {value!r})")
    return repr(share)


def sequence_rng(seed: int, index: int) -> random.Random:
    """A generator that depends only on (seed, sequence index), never on build order."""
    return random.Random(f"concept-proportion:{seed}:{index}")


def choose_targets(n: int, proportion: str, rng: random.Random) -> list[int]:
    """Indices (sorted) of the content words of one sequence that receive a concept set."""
    if n == 0:
        return []
    if proportion == "last":
        return [n - 1]
    share = float(proportion)
    if share >= 1:
        return list(range(n))
    keep = max(1, int(share * n + 0.5))
    return sorted(rng.sample(range(n), keep))
