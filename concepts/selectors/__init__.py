"""Synonym selectors: plugins that choose a content word's synonyms among its candidates.

A selector is registered with ``@register_selector(name, settings=...)`` (:mod:`concepts.selector_registry`) over
a factory ``factory(ctx: SelectorContext)`` returning an object with

- ``name: str`` and ``settings() -> dict`` (recorded in the concept file's header), and
- ``select(queries: list[SelectionQuery]) -> list[list[str]]``: for each query, synonyms taken
  from ``query.candidates`` (best first).

Built in: ``llm`` (an instruct model judges, paper appendix A), ``wordnet`` (shared WordNet
synset) and ``embedding`` (cosine of contextual hidden states, or of input embeddings, and matching
POS), and ``gold`` (a gold-annotated corpus's human substitutes: CoInCo). Importing this package imports neither torch nor nltk: each selector loads what it needs when
it is built.

The built-ins are imported here, in this order, rather than left to discovery's walk (name order): a selector's
settings become flags in registration order, and ``harness concepts build --help`` has always listed the llm
selector's, then wordnet's, gold's and embedding's. Importing any module of the package runs this first, so the
order never depends on which selector was imported first.
"""

from __future__ import annotations

from concepts.selector_registry import SELECTORS, register_selector  # noqa: F401  (what callers import from here)
from concepts.selectors import llm, wordnet, gold, embedding  # noqa: E402,F401,I001  (register the built-ins; order above)
