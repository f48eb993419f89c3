"""Parse a judge model's answer into synonyms from the candidate pool.

The prompt asks for ``[word1, word2, word3]``. Small instruct models add prose, repeat words,
forget a bracket, quote words or invent words that were not offered. The parser:

1. takes the text between the first ``[`` and the next ``]`` (to the end when ``]`` is
   missing); with no ``[`` at all, the whole answer;
2. splits it at commas, semicolons, newlines and ``|``;
3. strips white space, quotes, list bullets, numbering and trailing punctuation from each item;
4. keeps an item only when it equals a pool word (exactly, else case-insensitively: the pool's
   spelling is returned), is not the target word, and was not kept before.

So the result is always a duplicate-free, order-preserving subset of the pool: nothing a
judge writes can bring in a word the base model did not propose.
"""

from __future__ import annotations

import re
from typing import Sequence

_SPLIT = re.compile(r"[,;\n|]+")
_STRIP = " \t\r\"'`“”‘’*•·-–—.:!?()<>{}"
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[a-z][.)])\s+", re.IGNORECASE)


def bracketed(answer: str) -> str:
    start = answer.find("[")
    if start < 0:
        return answer
    end = answer.find("]", start + 1)
    return answer[start + 1:] if end < 0 else answer[start + 1:end]


def parse_synonyms(answer: str, pool: Sequence[str], target: str | None = None) -> list[str]:
    """Synonyms named in ``answer`` that are in ``pool`` (module docstring)."""
    exact = {w: w for w in pool}
    folded: dict[str, str] = {}
    for w in pool:
        folded.setdefault(w.casefold(), w)
    skip = target.casefold() if target else None
    out: list[str] = []
    seen: set[str] = set()
    for item in _SPLIT.split(bracketed(answer)):
        item = _NUMBERING.sub("", item).strip(_STRIP)
        if not item:
            continue
        word = exact.get(item) or folded.get(item.casefold())
        if word is None or word in seen or (skip is not None and word.casefold() == skip):
            continue
        seen.add(word)
        out.append(word)
    return out
