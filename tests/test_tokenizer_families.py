"""Whole-word candidates, first tokens, content words and whole builds for every tokenizer family
(byte-level BPE, Metaspace, Llama-2-style SentencePiece, WordPiece), on tiny tokenizers trained in
process (:mod:`tests.tokenizer_families`); expectations read from the raw token strings."""

from __future__ import annotations

import pytest

from concepts.candidates import WholeWordVocab
from concepts.concept_sets import build_concept_set
from tokenizer_families import FAMILIES, TRAINING_TEXT, family_tokenizer

MARK = {"bytelevel": "Ġ", "metaspace": "▁", "sentencepiece": "▁", "wordpiece": ""}


def starts_word(family: str, token: str) -> bool:
    """The family's convention, stated on the token string: Ġ / ▁ prefix, or (WordPiece) no ## prefix."""
    if family == "wordpiece":
        return not token.startswith("##")
    return token.startswith(MARK[family])


def body(family: str, token: str) -> str:
    return token[len(MARK[family]):] if family != "wordpiece" else token


def token_id(tok, family: str, word: str) -> int:
    """The id of the word-initial token string of ``word`` (it must be one whole token)."""
    tid = tok.convert_tokens_to_ids(MARK[family] + word)
    assert tid != tok.unk_token_id, f"{family}: {word!r} is no whole token of the test vocabulary"
    return tid


@pytest.mark.parametrize("family", FAMILIES)
def test_whole_word_tokens_follow_the_family_convention(family):
    tok = family_tokenizer(family)
    vocab = WholeWordVocab(tok)
    expected = {i: body(family, t) for t, i in tok.get_vocab().items()
                if t not in tok.all_special_tokens and starts_word(family, t) and body(family, t).isalpha()}
    got = {i: vocab.word(i) for i in range(len(tok)) if vocab.word(i) is not None}
    assert got == expected
    for word in ("car", "automobile", "house", "farmer", "large"):
        assert vocab.word(token_id(tok, family, word)) == word
    pieces = [i for t, i in tok.get_vocab().items() if not starts_word(family, t) and t.isalpha()
              and t not in tok.all_special_tokens]
    if family == "wordpiece":
        pieces = [i for t, i in tok.get_vocab().items() if t.startswith("##") and t[2:].isalpha()]
    assert len(pieces) > 20 and all(vocab.word(i) is None for i in pieces)  # sub-word pieces are rejected


@pytest.mark.parametrize("family", FAMILIES)
def test_concept_set_gets_each_synonyms_word_initial_token(family):
    tok = family_tokenizer(family)
    vocab = WholeWordVocab(tok)
    car = token_id(tok, family, "car")
    ids, words = build_concept_set(car, "car", ["automobile", "vehicle", "car", "house"], vocab)
    assert ids == [car] + [token_id(tok, family, w) for w in ("automobile", "vehicle", "house")]
    assert words == ["car", "automobile", "vehicle", "house"]
    # a word the vocabulary splits: its first piece that begins a word, or no token when that piece is a bare marker
    for word in ("parked", "neighbourhood", "overwhelmed", "unpredictable"):
        first = vocab.first_token(word)
        pieces = tok.convert_ids_to_tokens(tok.encode(f"a {word}", add_special_tokens=False))
        initial = pieces[1]
        if body(family, initial):
            assert first is not None and tok.convert_ids_to_tokens(first) == initial and starts_word(family, initial)
            assert word.startswith(body(family, initial))
        else:
            assert first is None


@pytest.mark.parametrize("family", FAMILIES)
def test_content_words_for_each_family(family):
    from concepts.content_words import find_content_words, load_spacy

    tok = family_tokenizer(family)
    nlp = load_spacy()
    text = "The old farmer parked the big car near the children and walked slowly to the extraordinarily quiet field."
    (cw,) = find_content_words([text], tok, nlp)
    tagged = {t.text: (t.pos_, t.tag_) for t in nlp(text) if t.pos_ in ("NOUN", "VERB", "ADJ")}
    single = set()
    for word in tagged:
        pieces = tok.convert_ids_to_tokens(tok.encode(f"a {word}", add_special_tokens=False))[1:]
        if len(pieces) == 1 and starts_word(family, pieces[0]):
            single.add(word)
    assert set(cw.words) == single and len(single) >= 5
    assert cw.tags == [tagged[w][1] for w in cw.words] and cw.pos == [tagged[w][0] for w in cw.words]
    assert cw.tags[cw.words.index("children")] == "NNS" and cw.tags[cw.words.index("walked")] == "VBD"


@pytest.fixture()
def family_corpus(tmp_path):
    path = tmp_path / "family.txt"
    sentences = [s.strip() + "." for s in TRAINING_TEXT.split(".") if s.strip()][:15]
    path.write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    return path


def family_model(family: str):
    from harness.testing import tiny_lm

    return tiny_lm(family_tokenizer(family), name=f"tiny-{family}")


@pytest.mark.parametrize("family", FAMILIES)
def test_wordnet_build_finds_synonyms_for_every_family(family, family_corpus, tmp_path):
    """k = the whole vocabulary, so every whole-word token is a candidate whatever the random model ranks:
    WordNet's synonyms in the vocabulary must reach the sets (car → automobile, big → large), and no set
    may hold an inflection of its word (cars for car: the lemma rule)."""
    from concepts.builder import build_concepts
    from concepts.concept_file import load_concept_file
    from harness.wordnet_data import load_wordnet

    loaded = family_model(family)
    out = tmp_path / f"{family}.jsonl"
    stats = build_concepts(loaded, str(family_corpus), "wordnet", out, k=len(loaded.tokenizer), heldout_size=2,
                           validation_fraction=0.0)
    cf = load_concept_file(out, tokenizer=loaded.tokenizer)
    sets = {}
    for _, t in cf.targets():
        sets.setdefault(t.word, set()).update(t.set_words[1:])
    assert "automobile" in sets["car"] and "large" in sets["big"], sets
    assert stats.with_synonyms > 0 and stats.content_words > 30
    wn = load_wordnet()
    for _, t in cf.targets():
        p = {"NOUN": "n", "VERB": "v", "ADJ": "a"}[t.pos]
        lemmas = {wn.morphy(t.word.lower(), p) or t.word.lower()}
        for w in t.set_words[1:]:  # no inflection of the word itself (WordNet's morphy, independent of lemminflect)
            assert (wn.morphy(w.lower(), p) or w.lower()) not in lemmas, (t.word, w)
    c = cf.header.raw["build_stats"]["candidates"]
    assert c["top_k"] == stats.content_words * len(loaded.tokenizer)
    assert c["whole_word"] == c["pool"] + sum(c[r] for r in ("target", "lemma", "case", "letter", "inflection"))
    assert c["case"] > 0 and (family == "bytelevel" or c["lemma"] > 0)  # its vocabulary splits cars, houses


def test_a_tokenizer_whose_word_starts_cannot_be_read_fails_loudly(tmp_path, family_corpus, capsys):
    """A word-level tokenizer whose decoder joins tokens without spaces: its content words are found (from
    offsets) but no token reads as a word start, so every set would be a singleton: exit 2, one line."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from harness.testing import tiny_llama_model
    from harness.cli import main

    words = sorted(set(TRAINING_TEXT.replace(".", " . ").replace(",", " , ").split()))
    vocab = {w: i for i, w in enumerate(["<unk>", "<s>", "</s>"] + words)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                  pad_token="</s>")
    folder = tmp_path / "fused"
    tiny_llama_model(len(tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    out = tmp_path / "x.jsonl"
    code = main(["concepts", "build", "--model", str(folder), "--corpus", str(family_corpus), "--selector", "wordnet",
                 "--out", str(out), "--heldout-size", "2", "--validation-fraction", "0", "--device", "cpu",
                 "--dtype", "float32"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("harness:")]
    assert code == 2 and len(err) == 1 and "no candidate passed the whole-word filter" in err[0]
    assert not out.exists()
