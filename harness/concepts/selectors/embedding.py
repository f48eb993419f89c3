"""``embedding``: candidates close to the word in the base model's input-embedding space, with the same POS.

A candidate ``c`` is kept when ``cos(E[c], E[w]) >= threshold`` (``E`` = the model's input
embedding matrix, ``w`` = the content word's token; default threshold 0.75) and spaCy tags
``c`` with the word's POS when ``c`` replaces the word in its context. The POS check tags a
window of the text (up to 300 characters before the word and 100 after, cut at white space)
with the candidate substituted, and only for candidates that passed the cosine test, since
tagging is the slow part.
"""

from __future__ import annotations

from typing import Any

from harness.concepts.candidates import SelectionQuery, SelectorContext
from harness.concepts.selectors import SELECTORS

WINDOW_BEFORE, WINDOW_AFTER = 300, 100


def substituted_window(text: str, start: int, end: int, candidate: str) -> tuple[str, int, int]:
    """(window text with ``candidate`` in place of ``text[start:end]``, candidate's span in it)."""
    lo = max(0, start - WINDOW_BEFORE)
    if lo > 0:
        cut = text.find(" ", lo, start)
        lo = cut + 1 if cut >= 0 else lo
    hi = min(len(text), end + WINDOW_AFTER)
    if hi < len(text):
        cut = text.rfind(" ", end, hi)
        hi = cut if cut >= 0 else hi
    prefix = text[lo:start]
    window = prefix + candidate + text[end:hi]
    return window, len(prefix), len(prefix) + len(candidate)


class EmbeddingSelector:
    name = "embedding"

    def __init__(self, ctx: SelectorContext) -> None:
        import torch

        from harness.concepts.content_words import load_spacy

        weight = torch.from_numpy(ctx.model.input_embeddings())
        self.unit = torch.nn.functional.normalize(weight, dim=-1)
        self.threshold = float(ctx.threshold)
        self.nlp = ctx.nlp or load_spacy()

    def settings(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "embedding": "base model input embeddings, cosine",
                "pos_check": f"spaCy POS of the candidate substituted in a window of "
                             f"-{WINDOW_BEFORE}/+{WINDOW_AFTER} characters"}

    def close_candidates(self, q: SelectionQuery) -> list[str]:
        if not q.candidate_ids:
            return []
        import torch

        cos = self.unit[torch.tensor(q.candidate_ids)] @ self.unit[q.token_id]
        return [w for w, c in zip(q.candidates, cos.tolist()) if c >= self.threshold]

    def select(self, queries: list[SelectionQuery]) -> list[list[str]]:
        close = [self.close_candidates(q) for q in queries]
        jobs = [(qi, c, *substituted_window(q.text, q.start, q.end, c))
                for qi, q in enumerate(queries) for c in close[qi]]
        keep: set[tuple[int, str]] = set()
        docs = self.nlp.pipe([j[2] for j in jobs], disable=[p for p in self.nlp.pipe_names
                                                            if p not in ("tok2vec", "tagger", "attribute_ruler")])
        for (qi, cand, _window, s, e), doc in zip(jobs, docs):
            span = doc.char_span(s, e)
            if span is not None and len(span) == 1 and span[0].pos_ == queries[qi].pos:
                keep.add((qi, cand))
        return [[c for c in close[qi] if (qi, c) in keep] for qi in range(len(queries))]


SELECTORS.register("embedding", EmbeddingSelector)
