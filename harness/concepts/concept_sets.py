"""Concept-set construction and the proportion of content words that receive one.

Set rule (paper section 3.1, appendix B): T* = [original token] + [first token of
``" " + synonym`` for each synonym, in the selector's order], de-duplicated by token id,
at most ``max_synonyms`` (10) synonyms besides the original token. The leading space makes
the synonym a whole word continuing the prefix, as the original content word does (content
words begin with a space). A tokenizer may emit a bare-space piece first (SentencePiece
``▁``); the first token that carries a letter is taken then.

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
PROPORTIONS = ("1.0", "0.5", "0.25", "last")


def first_token_id(tokenizer: Any, word: str, cache: dict[str, int] | None = None) -> int | None:
    """Id of the first token of ``" " + word`` that carries a non-space character (None if none)."""
    if cache is not None and word in cache:
        return cache[word]
    ids = tokenizer.encode(" " + word, add_special_tokens=False)
    found = None
    for i in ids:
        if tokenizer.decode([i]).strip():
            found = int(i)
            break
    if cache is not None:
        cache[word] = found
    return found


def build_concept_set(token_id: int, word: str, synonyms: Sequence[str], tokenizer: Any,
                      max_synonyms: int = MAX_SYNONYMS, cache: dict[str, int] | None = None
                      ) -> tuple[list[int], list[str]]:
    """(set_ids, set_words) of T* (module docstring); ``set_words[j]`` is the text of ``set_ids[j]``
    (the original word, then each synonym's first token without its leading space)."""
    ids, words = [int(token_id)], [word]
    for syn in synonyms:
        if len(ids) - 1 >= max_synonyms:
            break
        syn = syn.strip()
        if not syn:
            continue
        tid = first_token_id(tokenizer, syn, cache)
        if tid is None or tid in ids:
            continue
        ids.append(tid)
        words.append(tokenizer.decode([tid]).strip())
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
