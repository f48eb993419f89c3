"""Which sequences of a split part a concept file is built from: ``first`` or ``paper``.

- ``first`` (the cpu profile, and every build that names no rule): the first ``limit`` sequences of
  the part. :func:`harness.splits.split_corpus` shuffles the train part, so they are a uniform sample.
- ``paper`` (the paper profile, section 3.1: "we downsample 2,000 English text sequences, keeping only
  sequences with 50 < characters < 2,000"): of the *train* part, only the sequences that are a whole
  document (``Corpus.whole``: a document of one piece that was neither cut nor trimmed, so a document
  outside the character range is dropped, never chunked) with ``50 < len < 2000``; of those (in
  train-part order), ``limit`` drawn uniformly without replacement by
  ``numpy.random.default_rng(split_seed).choice(n, size=min(limit, n), replace=False)``, in the drawn
  order. Fewer than ``limit`` → all of them, with a note; none → a user error.

The rule is applied to the train part of the standard document split, never instead of it: the
held-out and validation parts, and so every evaluation, are the same under every profile. The seed is
the fixed split seed, never a run's ``--seed``, so every run of a sweep trains on the same text. A
``paper`` build records :func:`describe` in its header (``split.sample``) and its cache key; a
``first`` build records nothing new, so its file is the one it always was, byte for byte.
"""

from __future__ import annotations

import sys
from typing import Any

from harness.errors import UserError

SAMPLE_RULES = ("first", "paper")
PAPER_CHARS = (50, 2000)  # exclusive bounds, as the paper states them
PAPER_SEQUENCES = 2000  # per corpus (the trainer's 10% validation cut leaves about 1,800 to train on)


def describe(rule: str, limit: int | None, split_seed: int) -> dict[str, Any] | None:
    """The record of a rule (None for ``first``, which records nothing beyond the header's ``limit``)."""
    if rule == "first":
        return None
    return {"rule": rule, "part": "train", "whole_documents": True, "chars_exclusive": list(PAPER_CHARS),
            "sequences": limit, "seed": split_seed,
            "draw": "numpy default_rng(seed).choice(n, size=min(sequences, n), replace=False) over the train part's "
                    "whole documents of chars_exclusive characters (train-part order), in drawn order"}


def eligible(corpus: Any, texts: list[str]) -> list[str]:
    """The sequences of ``texts`` (a part of ``corpus``'s split) that are a whole document of
    ``50 < len < 2000`` characters, in their order."""
    whole = dict(zip(corpus.texts, corpus.whole))
    lo, hi = PAPER_CHARS
    return [t for t in texts if whole.get(t, False) and lo < len(t) < hi]


def apply_rule(rule: str, corpus: Any, part: str, texts: list[str], limit: int | None, split_seed: int,
               quiet: bool = False) -> tuple[list[str], dict[str, Any] | None]:
    """(the sequences of ``texts`` the rule keeps, its record with the number ``available``); ``quiet``: no note
    on stderr about a short supply (when only the cache key is wanted: the build itself says it)."""
    record = describe(rule, limit, split_seed)
    if record is None:
        return (texts if limit is None else texts[:limit]), None
    if part != "train":
        raise UserError(f"the {rule} sample draws training sequences: it applies to the train part, not {part}")
    pool = eligible(corpus, texts)
    lo, hi = PAPER_CHARS
    if not pool:
        raise UserError(f"corpus {corpus.name} has no whole document of {lo} < characters < {hi} in its train part: "
                        f"nothing for the {rule} sample (the paper sampled rows of C4 and OpenWebText)")
    n = len(pool) if limit is None else min(limit, len(pool))
    if limit is not None and len(pool) < limit and not quiet:
        print(f"harness: note: corpus {corpus.name}'s train part has {len(pool)} whole documents of {lo} < characters "
              f"< {hi}, fewer than the {limit} the {rule} sample asks for: using all {len(pool)}", file=sys.stderr)
    import numpy as np

    chosen = np.random.default_rng(split_seed).choice(len(pool), size=n, replace=False)
    return [pool[i] for i in chosen], {**record, "available": len(pool)}
