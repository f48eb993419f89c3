"""``concepts build --heads-only``: on a lexical-substitution corpus only the heads its gold scores get a set. The
expected heads are read off the fixtures by hand (the words inside ``<head>``, CoInCo's numbered tokens), not
through the readers."""

from __future__ import annotations

import json

from concepts.builder import build_concepts
from concepts.concept_file import load_concept_file
from harness.cli import main

from coinco_fixtures import SENT_A, SENT_C, coinco  # noqa: F401  (coinco: the fixture)
from test_lexsub_score import XML

# the SemEval fixture's heads that follow a space, by the context's first words (instance 4's head starts its text)
HEADS = {"The bright": "bright", "He wore": "bright", "They ran": "ran", "She will": "run"}


def first_line(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8").splitlines()[0])


def test_only_the_marked_heads_get_sets(tmp_path, tiny_llama, smollm2_tokenizer):
    xml = tmp_path / "lexsub_test.xml"
    xml.write_text(XML, encoding="utf-8")
    every, heads = tmp_path / "every.jsonl", tmp_path / "heads.jsonl"
    build_concepts(tiny_llama, str(xml), "wordnet", every, split="heldout", heldout_size=5, k=50)
    build_concepts(tiny_llama, str(xml), "wordnet", heads, split="heldout", heldout_size=5, k=50, heads_only=True)
    got = [(next(k for k in HEADS if rec.text.startswith(k)), t.word)
           for rec, t in load_concept_file(heads, smollm2_tokenizer).targets()]
    assert sorted(got) == sorted(HEADS.items())  # each head word occurs once in its context: the word is the place
    # without the flag every content word of the contexts gets a set (student, question, shirt, field, ...)
    assert len(list(load_concept_file(every, smollm2_tokenizer).targets())) > 3 * len(HEADS)
    assert "heads_only" in first_line(heads) and "heads_only" not in first_line(every)


def test_coinco_heads_leave_out_the_problematic_and_the_unnumbered(coinco, tmp_path, tiny_llama,  # noqa: F811
                                                                   smollm2_tokenizer):
    out = tmp_path / "coinco.jsonl"
    build_concepts(tiny_llama, "coinco", "wordnet", out, split="heldout", heldout_size=10, k=50, heads_only=True)
    words = {(rec.text, t.word) for rec, t in load_concept_file(out, smollm2_tokenizer).targets()}
    # sentence A numbers bright (1), student (2, problematic) and answered (3); question is not numbered
    assert {w for text, w in words if text == SENT_A} == {"bright", "answered"}
    assert {w for text, w in words if text == SENT_C} == {"rose"}  # sharply (8) is an adverb


def test_a_corpus_without_heads_is_one_line(tmp_path, capsys):
    corpus = tmp_path / "plain.txt"
    corpus.write_text("".join(f"Paragraph {i}: the bright student answered every question in the class well.\n\n"
                              for i in range(4)))
    out = tmp_path / "x.jsonl"
    code = main(["concepts", "build", "--corpus", str(corpus), "--selector", "wordnet", "--split", "heldout",
                 "--heldout-size", "1", "--out", str(out), "--heads-only"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--heads-only needs a lexical-substitution corpus" in err[0]
    assert not out.exists()
