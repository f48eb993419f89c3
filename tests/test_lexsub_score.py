"""``harness concepts score``: a SemEval-2007 lexical-substitution fixture (XML + gold) written here, a concept file
written by hand with the real SmolLM2 tokenizer, and every measure computed by hand; the XML as a corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from concepts.concept_file import load_concept_file
from harness.lexsub_files.semeval2007 import read_contexts, read_gold
from concepts.lexsub_score import NO_CONTEXT, NOT_A_TARGET, NOT_IN_FILE, score, wordnet_lemmatizer

XML = """<?xml version="1.0" encoding="utf-8"?>
<corpus lang="english">
<lexelt item="bright.a">
<instance id="1">
<context>The <head>bright</head> student answered every question in the class quickly .</context>
</instance>
<instance id="2">
<context>He wore a   <head>bright</head> red shirt to the party on Saturday night &amp; danced .</context>
</instance>
</lexelt>
<lexelt item="run.v">
<instance id="3">
<context>They <head>ran</head> across the field to catch the last bus home .</context>
</instance>
<instance id="4">
<context><head>Run</head> away now , before the storm reaches the old harbour wall .</context>
</instance>
<instance id="5">
<context>She will <head>run</head> the marathon next spring with her two sisters .</context>
</instance>
</lexelt>
</corpus>
"""
GOLD = """bright.a 1 :: intelligent 3;clever 2;smart 1;
bright.a 2 :: vivid 2;brilliant 1;colourful 1;
run.v 3 :: sprint 2;dash 1;race 1;go quickly 1;
run.v 4 :: flee 3;
run.v 5 :: jog 1;
run.v 6 :: operate 1;
"""
# instance -> the head target's synonyms in the concept file (5 is not in the file; 4's head starts the text)
SYNONYMS = {"1": ["smart", "clever", "shiny"], "2": [], "3": ["raced", "walked", "running"]}


@pytest.fixture()
def lexsub(tmp_path) -> tuple[Path, Path]:
    xml, gold = tmp_path / "lexsub_test.xml", tmp_path / "lexsub_test.gold"
    xml.write_text(XML, encoding="utf-8")
    gold.write_text(GOLD, encoding="utf-8")
    return xml, gold


def hand_file(path: Path, xml: Path, tokenizer, spec: str) -> Path:
    """One record per context of instances 1–4, the head of 1–3 a target with SYNONYMS (first tokens)."""
    from concepts.concept_header import tokenizer_info

    lines = [{"type": "header", "format_version": 1, "model": {"spec": spec}, "tokenizer": tokenizer_info(tokenizer),
              "corpus": {"name": "lexsub_test", "source": str(xml)}, "selector": {"name": "hand"}}]
    for ctx in read_contexts(xml)[:4]:
        enc = tokenizer(ctx.text, return_offsets_mapping=True)
        ids, targets = enc["input_ids"], []
        if ctx.id in SYNONYMS:
            p = next(i for i, (_, e) in enumerate(enc["offset_mapping"]) if e == ctx.end)
            syn = [tokenizer(" " + w, add_special_tokens=False)["input_ids"] for w in SYNONYMS[ctx.id]]
            assert all(len(s) == 1 for s in syn), "the fixture's synonyms are single tokens"
            targets.append({"position": p, "token_id": ids[p], "word": ctx.head, "pos": "ADJ" if ctx.id != "3" else "VERB",
                            "set_ids": [ids[p]] + [s[0] for s in syn], "set_words": [ctx.head] + SYNONYMS[ctx.id]})
        lines.append({"type": "sequence", "index": len(lines) - 1, "text": ctx.text, "input_ids": ids, "targets": targets})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_read_contexts_and_gold(lexsub):
    xml, gold = lexsub
    ctx = read_contexts(xml)
    assert [c.key for c in ctx] == [("bright.a", "1"), ("bright.a", "2"), ("run.v", "3"), ("run.v", "4"), ("run.v", "5")]
    assert ctx[1].text == "He wore a bright red shirt to the party on Saturday night & danced ."
    assert (ctx[1].start, ctx[1].end, ctx[1].head) == (10, 16, "bright") and ctx[3].start == 0
    g = read_gold(gold)
    assert g[("run.v", "3")].substitutes == {"sprint": 2, "dash": 1, "race": 1, "go quickly": 1}
    assert g[("run.v", "3")].responses == 5 and g[("bright.a", "1")].pos == "a" and g[("run.v", "3")].lemma == "run"


def test_precision_recall_and_best_by_hand(lexsub, tmp_path, smollm2_tokenizer):
    xml, gold = lexsub
    cf = load_concept_file(hand_file(tmp_path / "c.jsonl", xml, smollm2_tokenizer, "unused"), smollm2_tokenizer)
    s = score(cf, smollm2_tokenizer, read_contexts(xml), read_gold(gold), wordnet_lemmatizer())
    # 1: S = {smart, clever, shiny}, G = {intelligent, clever, smart}: 2 hits, |H| = 6, best (2 + 1) / (3 · 6)
    # 2: S = ∅, |G| = 3 (matched, not attempted)
    # 3: S = {race, walk} (running → run is the item itself), G = 4 (3 single words), 1 hit, best 1 / (2 · 5)
    # 4: head starts the text (no target); 5: context not in the file; 6: no context
    assert (s.gold_instances, s.matched, s.attempted) == (6, 3, 2)
    assert dict(s.unmatched) == {NOT_A_TARGET: 1, NOT_IN_FILE: 1, NO_CONTEXT: 1}
    assert (s.hits, s.system, s.gold, s.gold_single, s.gold_not_single, s.gold_types) == (3, 5, 10, 9, 1, 13)
    assert s.precision == pytest.approx(3 / 5) and s.recall == pytest.approx(3 / 10)
    assert s.recall_single == pytest.approx(3 / 9) and s.coverage == pytest.approx(2 / 3)
    best = 3 / 18 + 1 / 10
    assert s.best_precision == pytest.approx(best / 2) and s.best_recall == pytest.approx(best / 6)
    # oot: credit not divided by the guesses: 1: (2 + 1) / 6; 3: 1 / 5. Every instance has a mode (a single
    # substitute counts as one: 4, 5, 6); neither attempted one's mode (intelligent, sprint) is among its guesses
    oot = 3 / 6 + 1 / 5
    assert (s.oot_precision, s.oot_recall) == pytest.approx((oot / 2, oot / 6))
    assert (s.mode_instances, s.mode_attempted, s.best_mode_hits, s.oot_mode_hits) == (6, 2, 0, 0)


def test_cli_score_reads_the_contexts_from_the_header(lexsub, tmp_path, smollm2_folder, smollm2_tokenizer, capsys):
    xml, gold = lexsub
    path = hand_file(tmp_path / "c.jsonl", xml, smollm2_tokenizer, str(smollm2_folder))
    out = tmp_path / "score.md"
    assert main(["concepts", "score", str(path), "--gold", str(gold), "--out", str(out)]) == 0
    md = out.read_text(encoding="utf-8")
    assert md in capsys.readouterr().out
    assert "| precision: hits / set words, over M" in md and "0.600" in md and "0.133" in md and "0.044" in md
    assert "--heldout-size 5" in md  # instance 5's context is missing: how to build a file holding every context

    before = out.read_bytes()
    code = main(["concepts", "score", str(path), "--gold", str(gold), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1 and out.read_bytes() == before
    bad = tmp_path / "bad.gold"
    bad.write_text("bright.a 1 intelligent 3;\n", encoding="utf-8")
    code = main(["concepts", "score", str(path), "--gold", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "bad.gold:1: not a lexical-substitution gold line" in err and len(err.strip().splitlines()) == 1
    code = main(["concepts", "score", str(path), "--gold", str(gold), "--contexts", str(tmp_path / "none.xml")])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1


def test_the_xml_is_an_evaluation_corpus_one_sequence_per_context(lexsub, tmp_path, tiny_llama, smollm2_tokenizer):
    from concepts.builder import build_concepts
    from harness.corpora import load_corpus

    xml, gold = lexsub
    corpus = load_corpus(str(xml))
    assert corpus.eval_only and corpus.texts == [c.text for c in read_contexts(xml)]
    out = tmp_path / "built.jsonl"
    build_concepts(tiny_llama, str(xml), "wordnet", out, split="heldout", heldout_size=5, k=50)
    cf = load_concept_file(out, smollm2_tokenizer)
    assert sorted(r.text for r in cf.records) == sorted(corpus.texts)
    s = score(cf, smollm2_tokenizer, read_contexts(xml), read_gold(gold), wordnet_lemmatizer())
    # every head but instance 4's follows a space, is one SmolLM2 token and a content word for spaCy
    heads = {(r.text, t.word) for r, t in cf.targets()}
    assert s.matched == sum((c.text, c.head) in heads for c in read_contexts(xml)) == 4
    assert dict(s.unmatched) == {NOT_A_TARGET: 1, NO_CONTEXT: 1}
