"""The embedding selector's contextual mode on the tiny random Llama: the cosine against an independent
full forward pass, the cap of 10 (tagging in rounds), the POS rule with the real spaCy tagger.
Static mode: tests/test_concept_selectors.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from concepts.candidates import SelectionQuery, SelectorContext
from concepts.selectors import SELECTORS

TEXT = "He parked the car outside the house yesterday, then walked to the old market."
WORDS = ["house", "dog", "city", "water", "green", "run", "table", "music", "river", "small", "bright", "road",
         "child", "money", "garden", "quickly", "paper", "window", "happy", "stone", "light", "market", "truck",
         "vehicle", "automobile", "bird", "song", "cold", "friend", "book"]


def first_id(tok, word: str) -> int:
    return tok(" " + word, add_special_tokens=False)["input_ids"][0]


def make_query(lm, word: str, pos: str, candidates: list[str]) -> SelectionQuery:
    """The content word ``word`` of :data:`TEXT` with ``candidates`` (first tokens of ``" " + c``), as the
    builder makes it: the sequence's ids before the word are its prefix."""
    tok = lm.tokenizer
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    p = next(i for i, t in enumerate(ids) if tok.decode([t]) == " " + word)
    start = TEXT.index(" " + word) + 1
    cands = [c for c in candidates if c != word]
    return SelectionQuery(text=TEXT, word=word, pos=pos, start=start, end=start + len(word), token_id=ids[p],
                          candidates=cands, candidate_ids=[first_id(tok, c) for c in cands], prefix_ids=ids[:p])


def fake_tagger(verbs: set[str]):
    """A spaCy pipeline whose "tagger" calls every token NOUN except ``verbs`` (VERB); counts the texts."""
    import spacy
    from spacy.language import Language

    if not Language.has_factory("test_fixed_pos"):
        @Language.factory("test_fixed_pos", default_config={"verbs": []})
        def make(nlp, name, verbs):  # noqa: ARG001
            def tag(doc):
                for t in doc:
                    t.pos_ = "VERB" if t.text in verbs else "NOUN"
                return doc
            return tag

    nlp = spacy.blank("en")
    nlp.add_pipe("test_fixed_pos", name="tagger", config={"verbs": sorted(verbs)})
    nlp.tagged = 0
    pipe = nlp.pipe

    def counting_pipe(texts, **kw):
        texts = list(texts)
        nlp.tagged += len(texts)
        return pipe(texts, **kw)

    nlp.pipe = counting_pipe
    return nlp


def full_forward_cosines(lm, q: SelectionQuery) -> np.ndarray:
    """cos(h(c), h(w)) from one plain forward pass of ``prefix + [t]`` per token (no KV cache), the last
    position's final hidden state (after the final norm), in numpy float64."""
    states = []
    for t in [q.token_id, *q.candidate_ids]:
        with torch.no_grad():
            out = lm.module(input_ids=torch.tensor([q.prefix_ids + [t]]), output_hidden_states=True)
        states.append(out.hidden_states[-1][0, -1].double().numpy())
    h = np.stack(states)
    h /= np.linalg.norm(h, axis=1, keepdims=True)
    return h[1:] @ h[0]


def test_contextual_cosine_equals_full_forward(tiny_llama):
    queries = [make_query(tiny_llama, w, "NOUN", WORDS) for w in ("car", "house", "market")]
    cosines = [full_forward_cosines(tiny_llama, q) for q in queries]
    flat = np.sort(np.concatenate(cosines))
    mid = slice(len(flat) // 4, 3 * len(flat) // 4)
    gaps = np.diff(flat)[mid]
    g = int(np.argmax(gaps)) + mid.start
    threshold = float((flat[g] + flat[g + 1]) / 2)  # the widest gap in the middle half: far from every cosine
    assert flat[g + 1] - flat[g] > 1e-4
    expected = [[w for w, c in zip(q.candidates, cos) if c >= threshold] for q, cos in zip(queries, cosines)]
    assert 0 < sum(map(len, expected)) < sum(len(q.candidates) for q in queries)  # keeps some, drops some

    sel = SELECTORS.get("embedding")(SelectorContext(model=tiny_llama, nlp=fake_tagger(set()), threshold=threshold,
                                                     max_synonyms=1000, max_batch_tokens=64))
    assert sel.select(queries) == expected  # the same words, in candidate rank
    settings = sel.settings()
    assert settings["mode"] == "contextual" and settings["layer"] == -1 and settings["threshold"] == threshold


def test_contextual_keeps_at_most_ten_in_rank_order(tiny_llama):
    """Everything passes the cosine (threshold −2); two of the first ten are tagged VERB for a NOUN: the
    first ten NOUN-tagged candidates in rank order remain, and tagging stopped at what was needed
    (10 in the first round, 2 in the second), not all 30."""
    q = make_query(tiny_llama, "car", "NOUN", WORDS)
    verbs = {q.candidates[1], q.candidates[4]}
    nlp = fake_tagger(verbs)
    sel = SELECTORS.get("embedding")(SelectorContext(model=tiny_llama, nlp=nlp, threshold=-2.0))
    got = sel.select([q])
    assert got == [[c for c in q.candidates if c not in verbs][:10]]
    assert nlp.tagged == 12 and len(q.candidates) == 30
    assert sel.settings()["max_synonyms"] == 10


def test_contextual_pos_rule_with_spacy(tiny_llama):
    from concepts.content_words import load_spacy

    q = make_query(tiny_llama, "car", "NOUN", ["automobile", "quickly", "vehicle", "truck"])
    sel = SELECTORS.get("embedding")(SelectorContext(model=tiny_llama, nlp=load_spacy(), threshold=-2.0))
    assert sel.select([q]) == [["automobile", "vehicle", "truck"]]  # "quickly" is an adverb in context


def test_contextual_needs_prefix_and_skips_empty_pools(tiny_llama):
    q = make_query(tiny_llama, "car", "NOUN", ["truck"])
    empty = make_query(tiny_llama, "house", "NOUN", [])
    sel = SELECTORS.get("embedding")(SelectorContext(model=tiny_llama, nlp=fake_tagger(set()), threshold=-2.0))
    assert sel.select([empty, q]) == [[], ["truck"]]
    q.prefix_ids = []
    with pytest.raises(AssertionError, match="prefix ids"):
        sel.select([q])


def test_unknown_embedding_mode_is_a_user_error(tiny_llama):
    from harness.errors import UserError

    with pytest.raises(UserError, match="--embedding-mode must be one of contextual, static"):
        SELECTORS.get("embedding")(SelectorContext(model=tiny_llama, nlp=fake_tagger(set()), embedding_mode="ctx"))
