"""Synonym selectors: WordNet on handcrafted contexts, the judge-output parser, the embedding selector."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concepts.candidates import SelectionQuery, SelectorContext
from concepts.selectors import SELECTORS
from concepts.selectors.parse import parse_synonyms
from harness.errors import UserError


def query(text: str, word: str, pos: str, candidates: list[str], ids: list[int] | None = None, token_id: int = 0):
    start = text.index(word)
    return SelectionQuery(text=text, word=word, pos=pos, start=start, end=start + len(word), token_id=token_id,
                          candidates=candidates, candidate_ids=ids or [])


@pytest.fixture(scope="module")
def wordnet_selector():
    return SELECTORS.get("wordnet")(SelectorContext(model=None))


def test_wordnet_keeps_synonyms_drops_unrelated(wordnet_selector):
    # WordNet 3.0: browse.v.03 = {browse, surf}; shop.v.03 = {shop, browse}; car.n.01 = {car, auto, automobile, machine, motorcar};
    # buy.v.01 = {buy, purchase}; large.a.01 = {large, big}
    cases = [
        (query("this website is safe to browse", "browse", "VERB", ["visit", "surf", "use", "the", "eat", "shop", "table"]),
         ["surf", "shop"]),
        (query("he parked the car outside", "car", "NOUN", ["truck", "automobile", "house", "machine", "auto", "drove"]),
         ["automobile", "machine", "auto"]),
        (query("we want to buy a house", "buy", "VERB", ["sell", "purchase", "see", "purchased", "house"]),
         ["purchase", "purchased"]),  # inflected candidates are reduced by morphy
        (query("a big dog barked", "big", "ADJ", ["small", "large", "brown", "Large", "dog"]), ["large", "Large"]),
    ]
    got = wordnet_selector.select([q for q, _ in cases])
    assert got == [want for _, want in cases]


def test_wordnet_pos_matters(wordnet_selector):
    # "table" shares synsets with "postpone" as a verb (table.v.01 = {postpone, prorogue, hold_over, put_over,
    # table, shelve, set_back, defer, remit, put_off}) but not as a noun
    verb = query("they table the motion", "table", "VERB", ["postpone", "defer", "chair"])
    noun = query("the table is wooden", "table", "NOUN", ["postpone", "defer", "chair"])
    assert wordnet_selector.select([verb, noun]) == [["postpone", "defer"], []]


def test_wordnet_hypernyms_add_broader_words():
    sel = SELECTORS.get("wordnet")(SelectorContext(model=None, hypernyms=True))
    # shop.v.03 and browse.v.03 have the direct hypernym search.v.02 = {search, seek, look_for}
    q = query("this website is safe to browse", "browse", "VERB", ["visit", "surf", "search", "seek", "table"])
    assert sel.select([q]) == [["surf", "search", "seek"]]
    assert sel.settings()["hypernyms"] is True


def test_wordnet_missing_data_says_how_to_install(tmp_path, monkeypatch):
    from harness.wordnet_data import load_wordnet

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    with pytest.raises(UserError) as e:
        load_wordnet(system_dirs=[tmp_path / "no-wordnet"], search_nltk=False)
    msg = str(e.value)
    assert "apt-get install wordnet-base" in msg and "nltk.download('wordnet')" in msg and "\n" not in msg


def test_wordnet_setup_copies_database_with_lexnames(tmp_path, monkeypatch):
    from harness.wordnet_data import load_wordnet

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    wn = load_wordnet(search_nltk=False)
    lexnames = (tmp_path / "nltk_data" / "corpora" / "wordnet" / "lexnames").read_text().splitlines()
    assert len(lexnames) == 45 and lexnames[0].split() == ["00", "adj.all", "3"]
    assert lexnames[44].split() == ["44", "adj.ppl", "3"]
    assert wn.get_version() == "3.0"
    assert {l.name() for l in wn.synset("car.n.01").lemmas()} >= {"car", "automobile", "auto"}


# ------------------------------------------------------------------ llm judge output parser

POOL = ["surf", "visit", "search", "navigate", "access", "explore", "the", "Browse"]
TABLE = [
    ("[surf, visit, navigate]", ["surf", "visit", "navigate"]),
    ("Sure! Here are the synonyms: [surf, search]. Hope this helps.", ["surf", "search"]),
    ("[surf, visit, navigate", ["surf", "visit", "navigate"]),  # missing closing bracket
    ("surf, visit", ["surf", "visit"]),  # no brackets at all
    ("[surf, surf, Surf, visit, visit]", ["surf", "visit"]),  # duplicates, case variants
    ("[browser, surfing, galaxy, surf]", ["surf"]),  # words outside the pool
    ("['surf', \"visit\", `explore`]", ["surf", "visit", "explore"]),  # quoted
    ("[1. surf\n2. explore\n- access]", ["surf", "explore", "access"]),  # numbered / bulleted lines
    ("[]", []),
    ("", []),
    ("No synonyms found.", []),
    ("[browse, Browse, surf]", ["surf"]),  # the target itself (any case) is never a synonym
    ("[surf] and also [visit]", ["surf"]),  # only the first bracketed list
    ("[SURF; Visit | access]", ["surf", "visit", "access"]),
]


@pytest.mark.parametrize("answer, want", TABLE)
def test_parser_table(answer, want):
    assert parse_synonyms(answer, POOL, target="browse") == want


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200),
       st.lists(st.sampled_from(POOL), max_size=12))
def test_parser_properties(noise, words):
    # any judge output: result is a duplicate-free subset of the pool without the target
    out = parse_synonyms(noise, POOL, target="browse")
    assert set(out) <= set(POOL) and len(out) == len(set(out)) and "Browse" not in out
    # a well-formed list wrapped in arbitrary prose before it is recovered in order, deduplicated
    prose = noise.replace("[", "(").replace("]", ")")
    expected = list(dict.fromkeys(w for w in words if w.casefold() != "browse"))
    assert parse_synonyms(f"{prose} [{', '.join(words)}] {noise}", POOL, target="browse") == expected


# ------------------------------------------------------------------ embedding selector


def test_embedding_selector_cosine_and_pos(tiny_llama):
    import torch

    tok = tiny_llama.tokenizer
    tid = lambda w: tok(" " + w, add_special_tokens=False)["input_ids"][0]  # noqa: E731
    emb = tiny_llama.module.get_input_embeddings().weight
    car, auto, truck, quickly, vehicle = (tid(w) for w in ("car", "automobile", "truck", "quickly", "vehicle"))
    with torch.no_grad():
        base = torch.randn(emb.shape[1], generator=torch.Generator().manual_seed(1))
        other = torch.randn(emb.shape[1], generator=torch.Generator().manual_seed(2))
        other -= (other @ base) / (base @ base) * base  # orthogonal to base
        emb[car] = base
        emb[auto] = 2.0 * base  # cosine 1, a noun in context
        emb[quickly] = base  # cosine 1, but an adverb in context
        emb[truck] = -base  # cosine -1
        emb[vehicle] = 0.8 * base / base.norm() + 0.6 * other / other.norm()  # cosine exactly 0.8
    text = "He parked the car outside the house yesterday."
    q = query(text, "car", "NOUN", ["automobile", "truck", "quickly", "vehicle"],
              ids=[auto, truck, quickly, vehicle], token_id=car)
    sel = SELECTORS.get("embedding")(SelectorContext(model=tiny_llama, threshold=0.75, embedding_mode="static"))
    assert sel.select([q]) == [["automobile", "vehicle"]]
    assert sel.settings()["mode"] == "static"
    strict = SELECTORS.get("embedding")(SelectorContext(model=tiny_llama, threshold=0.9, embedding_mode="static"))
    assert strict.select([q]) == [["automobile"]]


def test_llm_prompt_is_the_papers():
    from concepts.selectors.llm import render_prompt

    q = query("this website is safe to browse", "browse", "VERB", ["surf", "visit"])
    p = render_prompt(q)
    assert p.startswith("Find contextual synonyms for the word browse in this text: this website is safe to browse")
    assert "Available tokens: surf, visit" in p
    for line in ("- Find ALL possible synonyms from the available tokens that could replace browse in this context",
                 "- NO duplicates allowed", "- If no synonyms found, return: []",
                 "Example format: [word1, word2, word3]"):
        assert line in p
    assert p.endswith("Synonyms for browse:")


def test_unknown_selector_suggests():
    with pytest.raises(UserError, match="did you mean wordnet"):
        SELECTORS.get("wordnett")
