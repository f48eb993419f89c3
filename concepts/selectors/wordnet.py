"""``wordnet``: candidates that share a WordNet synset with the content word, for its part of speech.

A candidate ``c`` is kept when ``synsets(c, pos) ∩ S ≠ ∅`` with ``S = synsets(word, pos)``
(NLTK's reader, so inflected forms are reduced by morphy: ``surfing`` finds ``surf``).
``--hypernyms`` adds the direct hypernyms of the word's synsets to ``S``, so a candidate that
names a broader concept (``browse`` → ``search``) also counts. spaCy ``NOUN``/``VERB``/``ADJ``
map to WordNet n/v/a (adjective satellites included). Candidates keep the model's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from concepts.candidates import SelectionQuery, SelectorContext
from concepts.selector_registry import register_selector
from harness.config import option

WORDNET_POS = {"NOUN": "n", "VERB": "v", "ADJ": "a"}


@dataclass(frozen=True)
class WordNetSettings:
    hypernyms: bool = option(False, help="wordnet selector: also accept direct hypernyms")


@register_selector("wordnet", settings=WordNetSettings)
class WordNetSelector:
    name = "wordnet"

    def __init__(self, ctx: SelectorContext, wordnet: Any = None) -> None:
        from harness.wordnet_data import load_wordnet

        self.wn = wordnet or load_wordnet()
        self.hypernyms = bool(ctx.settings(WordNetSettings).hypernyms)
        self._memo: dict[tuple[str, str], frozenset] = {}

    def settings(self) -> dict[str, Any]:
        return {"hypernyms": self.hypernyms, "wordnet_version": self.wn.get_version(),
                "pos_map": WORDNET_POS}

    def _synsets(self, word: str, pos: str) -> frozenset:
        key = (word, pos)
        if key not in self._memo:
            self._memo[key] = frozenset(self.wn.synsets(word, pos))  # "a" includes satellites in NLTK
        return self._memo[key]

    def target_synsets(self, word: str, pos: str) -> frozenset:
        base = self._synsets(word.lower(), pos)
        if not self.hypernyms:
            return base
        return base | frozenset(h for s in base for h in s.hypernyms())

    def select(self, queries: list[SelectionQuery]) -> list[list[str]]:
        out = []
        for q in queries:
            pos = WORDNET_POS.get(q.pos)
            target = self.target_synsets(q.word, pos) if pos else frozenset()
            out.append([c for c in q.candidates if target and self._synsets(c.lower(), pos) & target])
        return out
