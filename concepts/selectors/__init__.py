"""Synonym selectors: plugins that choose a content word's synonyms among its candidates.

A selector is registered in :data:`SELECTORS` as a factory ``factory(ctx: SelectorContext)``
returning an object with

- ``name: str`` and ``settings() -> dict`` (recorded in the concept file's header), and
- ``select(queries: list[SelectionQuery]) -> list[list[str]]``: for each query, synonyms taken
  from ``query.candidates`` (best first).

Built in: ``llm`` (an instruct model judges, paper appendix A), ``wordnet`` (shared WordNet
synset) and ``embedding`` (cosine of contextual hidden states, or of input embeddings, and matching
POS), and ``gold`` (a gold-annotated corpus's human substitutes: CoInCo). Importing this package imports neither torch nor nltk: each selector loads what it needs when
it is built.
"""

from __future__ import annotations

from concepts.selector_registry import SELECTORS  # noqa: F401  (what callers import from here)
from concepts.selectors import embedding, gold, llm, wordnet  # noqa: E402,F401  (register the built-ins)
