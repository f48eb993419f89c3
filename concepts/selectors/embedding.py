"""``embedding``: candidates close to the word in the base model's representation space, with the same POS.

Two modes (``--embedding-mode``), both with threshold ``τ`` (``--threshold``, default 0.75):

- ``contextual`` (default; the paper's public code): for the word's token ``w`` at position ``p`` of
  the sequence ``x``, ``h(t) = H_L(x[:p] + [t])[-1]``, the hidden state of layer
  :data:`CONTEXT_LAYER` (the final layer, after the final norm) at token ``t`` placed after the word's
  prefix. A candidate ``c`` passes when ``cos(h(c), h(w)) >= τ``: the candidate *substituted in
  context* is represented like the original, which a static embedding cannot tell (``bank`` the shore
  vs the lender). The prefix runs once per word and every candidate is one cached step after it
  (:meth:`harness.lm.interface.LanguageModel.hidden_at`); the states are the same as a full forward
  pass of each ``prefix + [c]``. Candidates are single whole-word tokens, so ``c`` is one token.
- ``static`` (the earlier behaviour, unchanged): ``cos(E[c], E[w]) >= τ`` with ``E`` the model's input
  embedding matrix; context plays no part.

Then the POS rule: spaCy must tag ``c`` with the word's POS when ``c`` replaces the word in its text
(a window of up to 300 characters before the word and 100 after, cut at white space), checked only
for candidates that passed the cosine, since tagging is the slow part.

Order and cap: kept candidates stay in candidate rank (most likely next token first), as the other
selectors return them, so a set's order means the same whatever the selector; the paper's text and
notes on the public code give no other order. Contextual mode keeps at most ``max_synonyms`` (10, as
the public code does): the first 10 in rank order that pass both tests. It tags in rounds, only as many
candidates per word as it still needs, so a word whose first 10 cosine-passers all pass is tagged 10
times, not once per passer. Static mode returns every passer, as before (the concept set's rule caps
it at 10 in the same rank order: :func:`concepts.concept_sets.build_concept_set`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from concepts.candidates import EMBEDDING_MODES, SelectionQuery, SelectorContext
from concepts.selector_registry import register_selector
from harness.config import SHARE, option
from harness.errors import UserError

WINDOW_BEFORE, WINDOW_AFTER = 300, 100
CONTEXT_LAYER = -1  # hidden-state index for contextual mode: the final layer, after the final norm
QUERY_GROUP = 256  # contextual mode: words per hidden_at request (bounds the states held at once)
TAGGED_PIPES = ("tok2vec", "tagger", "attribute_ruler")


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


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` (float64) scaled to unit length (a zero row stays zero)."""
    x = x.astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class EmbeddingSettings:
    threshold: float = option(0.75, check=SHARE, help="embedding selector: minimum cosine")
    embedding_mode: str = option("contextual", choices=EMBEDDING_MODES, help="embedding selector: cosine of final "
                                 "hidden states after the word's prefix (public code) or of input embeddings")


@register_selector("embedding", settings=EmbeddingSettings)
class EmbeddingSelector:
    name = "embedding"

    def __init__(self, ctx: SelectorContext) -> None:
        from concepts.content_words import load_spacy

        own = ctx.settings(EmbeddingSettings)
        if own.embedding_mode not in EMBEDDING_MODES:
            raise UserError(f"--embedding-mode must be one of {', '.join(EMBEDDING_MODES)} (got {own.embedding_mode!r})")
        self.mode = own.embedding_mode
        self.model = ctx.model
        self.threshold = float(own.threshold)
        self.max_batch_tokens = ctx.max_batch_tokens
        self.cap = int(ctx.max_synonyms) if self.mode == "contextual" else None
        if self.mode == "static":
            import torch

            weight = torch.from_numpy(ctx.model.input_embeddings())
            self.unit = torch.nn.functional.normalize(weight, dim=-1)
        self.nlp = ctx.nlp or load_spacy()

    def settings(self) -> dict[str, Any]:
        pos = f"spaCy POS of the candidate substituted in a window of -{WINDOW_BEFORE}/+{WINDOW_AFTER} characters"
        if self.mode == "static":
            return {"mode": "static", "threshold": self.threshold, "embedding": "base model input embeddings, cosine",
                    "pos_check": pos}
        return {"mode": "contextual", "threshold": self.threshold, "layer": CONTEXT_LAYER,
                "embedding": "base model hidden state (final layer, after the final norm) of the word and of each "
                             "candidate after the word's prefix, cosine",
                "pos_check": pos, "max_synonyms": self.cap, "order": "candidate rank"}

    def close_candidates(self, q: SelectionQuery) -> list[str]:
        """Static mode: the candidates whose input embedding has cosine ≥ threshold with the word's."""
        if not q.candidate_ids:
            return []
        import torch

        cos = self.unit[torch.tensor(q.candidate_ids)] @ self.unit[q.token_id]
        return [w for w, c in zip(q.candidates, cos.tolist()) if c >= self.threshold]

    def contextual_cosines(self, queries: list[SelectionQuery]) -> list[np.ndarray]:
        """``out[i][j] = cos(h(c_j), h(w))`` for query ``i`` (module docstring), float64."""
        out = [np.zeros(0) for _ in queries]
        todo = [i for i, q in enumerate(queries) if q.candidate_ids]
        for i in todo:
            assert queries[i].prefix_ids, f"contextual mode needs the word's prefix ids (query for {queries[i].word!r})"
        for g in range(0, len(todo), QUERY_GROUP):
            group = todo[g:g + QUERY_GROUP]
            states = self.model.hidden_at([queries[i].prefix_ids for i in group],
                                          [[queries[i].token_id, *queries[i].candidate_ids] for i in group],
                                          layers=(CONTEXT_LAYER,), max_batch_tokens=self.max_batch_tokens,
                                          progress=False)
            for i, h in zip(group, states):
                unit = unit_rows(h[0])
                out[i] = unit[1:] @ unit[0]
        return out

    def select(self, queries: list[SelectionQuery]) -> list[list[str]]:
        if self.mode == "static":
            close = [self.close_candidates(q) for q in queries]
        else:
            close = [[w for w, c in zip(q.candidates, cos) if c >= self.threshold]
                     for q, cos in zip(queries, self.contextual_cosines(queries))]
        return self.pos_filter(queries, close, self.cap)

    def pos_filter(self, queries: list[SelectionQuery], close: list[list[str]], cap: int | None) -> list[list[str]]:
        """The first ``cap`` (all, when None) of each ``close[i]``, in its order, that spaCy tags with the
        word's POS in context; tagged in rounds of as many as each word still needs."""
        kept: list[list[str]] = [[] for _ in queries]
        done = [0] * len(queries)
        while True:
            jobs = []
            for qi, q in enumerate(queries):
                need = len(close[qi]) - done[qi] if cap is None else min(cap - len(kept[qi]), len(close[qi]) - done[qi])
                jobs += [(qi, c) for c in close[qi][done[qi]:done[qi] + need]]
                done[qi] += need
            if not jobs:
                return kept
            for (qi, cand), ok in zip(jobs, self.tags_match(queries, jobs)):
                if ok:
                    kept[qi].append(cand)

    def tags_match(self, queries: list[SelectionQuery], jobs: list[tuple[int, str]]) -> list[bool]:
        """For each (query index, candidate): does spaCy tag the substituted candidate with the word's POS?"""
        windows = [substituted_window(queries[qi].text, queries[qi].start, queries[qi].end, c) for qi, c in jobs]
        docs = self.nlp.pipe([w[0] for w in windows], disable=[p for p in self.nlp.pipe_names if p not in TAGGED_PIPES])
        out = []
        for (qi, _), (_, s, e), doc in zip(jobs, windows, docs):
            span = doc.char_span(s, e)
            out.append(span is not None and len(span) == 1 and span[0].pos_ == queries[qi].pos)
        return out
