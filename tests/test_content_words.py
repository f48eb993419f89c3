"""Content-word detection on handcrafted sentences (real SmolLM2 tokenizer, real spaCy)."""

from __future__ import annotations

import string

import pytest

from concepts.content_words import content_fraction, content_positions, find_content_words, load_spacy


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


def words_of(tokenizer, nlp, text):
    (cw,) = find_content_words([text], tokenizer, nlp)
    return cw


# (sentence, expected content words, what it exercises) — expected lists written by hand from the definition
CASES = [
    ("The cat sat on the mat, quietly.", ["cat", "sat", "mat"], "punctuation right after a word ends it"),
    ("Scientists discovered ancient fossils.", ["discovered", "ancient", "fossils"],
     "a sentence-initial noun has no leading space"),
    ("Hello there.\nTrees grow tall.", ["grow", "tall"], "a word after a newline has no leading space"),
    ("She studied antidisestablishmentarianism yesterday.", ["studied", "yesterday"],
     "a noun split into several tokens: none of its pieces count"),
    ("The well-known author wrote books.", ["author", "wrote", "books"],
     "'known' after a hyphen is a sub-word piece without a leading space"),
    ("We were gonna watch movies.", ["watch", "movies"], "spaCy splits 'gonna' into gon+na: spans differ"),
    ("I like green apples", ["like", "green", "apples"], "the last word of a text ends at the end of text"),
]


@pytest.mark.parametrize("text,expected,why", CASES, ids=[c[2] for c in CASES])
def test_handcrafted_sentences(smollm2_tokenizer, nlp, text, expected, why):
    cw = words_of(smollm2_tokenizer, nlp, text)
    assert cw.words == expected, why
    assert all(p >= 1 for p in cw.positions)
    for p, w in zip(cw.positions, cw.words):  # the token at p is the word with its leading space
        assert smollm2_tokenizer.decode([cw.input_ids[p]]) == " " + w
    assert cw.input_ids == smollm2_tokenizer(text)["input_ids"]
    assert cw.n_tokens == len(cw.input_ids)


def test_premises_of_the_cases(smollm2_tokenizer, nlp):
    """The handcrafted cases test what they claim: the tokenisations are as assumed."""
    toks = smollm2_tokenizer.convert_ids_to_tokens(smollm2_tokenizer("We were gonna watch movies.")["input_ids"])
    assert "Ġgonna" in toks  # one whole-word LM token ...
    gon = [t for t in nlp("We were gonna watch movies.") if t.text == "gon"]
    assert gon and gon[0].pos_ == "VERB"  # ... that spaCy tags VERB on different characters
    toks = smollm2_tokenizer.convert_ids_to_tokens(smollm2_tokenizer("She studied antidisestablishmentarianism.")["input_ids"])
    assert len([t for t in toks if t not in ("Ġstudied", "She", ".")]) > 2
    doc = nlp("She studied antidisestablishmentarianism yesterday.")
    assert [t.pos_ for t in doc if t.text.startswith("antidis")] == ["NOUN"]


def test_trimmed_offsets_and_special_tokens():
    """Tokenizers whose offsets exclude the leading space, and a BOS covering no characters."""
    text = "A big dog barked"
    # BOS (0,0); "A" (0,1); "▁big" trimmed to (2,5); "▁dog" (6,9); "▁bark" (10,14); "ed" (14,16)
    offsets = [(0, 0), (0, 1), (2, 5), (6, 9), (10, 14), (14, 16)]
    spans = {(0, 1): "DET", (2, 5): "ADJ", (6, 9): "NOUN", (10, 16): "VERB"}
    positions, words, tags = content_positions(text, offsets, spans)
    assert (positions, words, tags) == ([2, 3], ["big", "dog"], ["ADJ", "NOUN"])
    # a lone space token before a word owns the space: the word itself does not begin with one
    text = "big  dog cat"
    offsets = [(0, 3), (3, 4), (4, 8), (8, 12)]
    spans = {(0, 3): "ADJ", (5, 8): "NOUN", (9, 12): "NOUN"}
    assert content_positions(text, offsets, spans)[0] == [2, 3]
    offsets = [(0, 3), (3, 5), (5, 8), (8, 12)]  # "  " then "dog" without a space of its own
    assert content_positions(text, offsets, spans)[0] == [3]


def reference_positions(tokenizer, nlp, text):
    """The paper's literal rule on byte-level BPE token strings, written independently:
    token string starts with 'Ġ', the next token string starts with 'Ġ'/'Ċ'/'ĉ' or a punctuation
    character (or there is none), and a spaCy token tagged NOUN/VERB/ADJ spans the same characters
    (character positions recovered by decoding prefixes)."""
    ids = tokenizer(text)["input_ids"]
    toks = tokenizer.convert_ids_to_tokens(ids)
    starts = [len(tokenizer.decode(ids[:i])) for i in range(len(ids) + 1)]
    tags = {(t.idx, t.idx + len(t.text)): t.pos_ for t in nlp(text)}
    out = []
    for i in range(1, len(ids)):
        if not toks[i].startswith("Ġ") or toks[i] == "Ġ":
            continue
        if i + 1 < len(ids):
            nxt = toks[i + 1]
            first = tokenizer.decode([ids[i + 1]])[:1]
            if not (nxt[0] in "ĠĊĉ" or first in string.punctuation or first.isspace()):
                continue
        if tags.get((starts[i] + 1, starts[i + 1])) in ("NOUN", "VERB", "ADJ"):
            out.append(i)
    return out


def test_matches_reference_on_real_text(smollm2_tokenizer, nlp):
    from harness.corpora import load_corpus

    texts = [t for t in load_corpus("lee").texts[:20] if t.isascii()]  # ASCII: decode lengths equal char counts
    assert len(texts) >= 10
    found = find_content_words(texts, smollm2_tokenizer, nlp, batch_size=7)
    for text, cw in zip(texts, found):
        assert cw.positions == reference_positions(smollm2_tokenizer, nlp, text)
    expected = sum(len(reference_positions(smollm2_tokenizer, nlp, t)) for t in texts) / sum(
        len(smollm2_tokenizer(t)["input_ids"]) - 1 for t in texts)
    assert content_fraction(found) == pytest.approx(expected)
    assert 0.15 < content_fraction(found) < 0.45  # the paper saw ~28% with the Llama tokenizer


def test_slow_tokenizer_is_a_user_error(nlp):
    from harness.errors import UserError

    class NotFast:
        is_fast = False

    with pytest.raises(UserError):
        find_content_words(["Some text here."], NotFast(), nlp)


def test_cache_gives_the_same_answer(smollm2_tokenizer, nlp, tmp_path, monkeypatch):
    from concepts.content_words import cached_content_words

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    texts = [c[0] for c in CASES]
    direct = find_content_words(texts, smollm2_tokenizer, nlp)
    first = cached_content_words(texts, smollm2_tokenizer)
    assert len(list((tmp_path / "content_words").glob("*.json"))) == 1
    second = cached_content_words(texts, smollm2_tokenizer)  # from disk
    assert first == direct and second == direct
    assert cached_content_words(texts[:2], smollm2_tokenizer) == direct[:2]  # other texts: another entry
    assert len(list((tmp_path / "content_words").glob("*.json"))) == 2
