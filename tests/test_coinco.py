"""CoInCo as corpus and gold: the small ``coinco.xml.gz`` of ``coinco_fixtures`` (a multiword substitute, a
``problematic`` target, a head SmolLM2 splits into two tokens, a hyphen and a clitic in the text), the official
dev/test lists, a concept file written by hand, and every figure computed by hand in the comments."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.lexsub_files.coinco import align, read_coinco
from concepts.concept_file import load_concept_file
from concepts.lexsub_score import NOT_A_TARGET, score, wordnet_lemmatizer

from coinco_fixtures import SENT_A, SENT_B, SENT_C, coinco  # noqa: F401  (coinco: the fixture)


def test_align_skips_what_it_cannot_place():
    # "n’t" is not in the text after "didn" (the apostrophe's t follows): unaligned, and "mind" is placed past "’t "
    assert align(SENT_B, ["She", "didn", "n\u2019t", "mind", "the", "well", "known"]) == [
        (0, 3), (4, 8), None, (11, 15), (16, 19), (20, 24), (25, 30)]  # "known" past the hyphen
    # a token the text does not hold after a skip of letters ("the" left out: " the " is 5 characters) stays unplaced
    assert align(SENT_B, ["She", "didn", "mind", "well"]) == [(0, 3), (4, 8), (11, 15), None]


def test_reader_parts_spans_problematic_and_multiword(coinco):
    all_ = read_coinco("coinco")
    assert all_.problematic == 1 and all_.unaligned == 0  # target 2 (student) is problematic
    assert sorted(k[1] for k in all_.gold) == ["1", "3", "4", "5", "6", "7", "8"]
    assert all_.sentences == [SENT_A, SENT_B, SENT_C]  # white space made one space, the entity read as ’
    assert all_.documents == [0, 1, 2]  # a document per MASC file
    by_id = {c.id: c for c in all_.contexts}
    assert (by_id["1"].item, by_id["1"].start, by_id["1"].end) == ("bright.a", 4, 10)
    assert (by_id["3"].item, by_id["3"].head) == ("answer.v", "answered")
    assert (by_id["6"].start, by_id["6"].end) == (40, 45)  # past the hyphen and the clitic
    assert by_id["5"].item == "garlicky.a"  # <unknown> lemma: the wordform
    assert by_id["8"].item == "sharply.r"
    assert all_.gold[("bright.a", "1")].substitutes == {"intelligent": 3, "clever": 2, "smart": 1, "smart as a whip": 1}
    assert all_.gold[("smell.n", "6")].substitutes["scent"] == 1  # lowercased
    dev, test = read_coinco("coinco-dev"), read_coinco("coinco-test")
    assert sorted(k[1] for k in dev.gold) == ["1", "3", "4", "5", "6"] and dev.problematic == 1
    assert sorted(k[1] for k in test.gold) == ["7", "8"] and test.sentences == [SENT_C]
    assert read_coinco(str(coinco)).part is None and len(read_coinco(str(coinco)).gold) == 7


def test_corpora(coinco):
    from harness.corpora import load_corpus

    dev = load_corpus("coinco-dev")
    assert dev.texts == [SENT_A, SENT_B] and not dev.eval_only and dev.documents == [0, 1]
    assert load_corpus("coinco-test").eval_only and load_corpus("coinco").eval_only
    by_path = load_corpus(str(coinco))
    assert by_path.texts == [SENT_A, SENT_B, SENT_C] and by_path.eval_only and by_path.name == "coinco.xml.gz"


def test_missing_data_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    code = main(["concepts", "pool-recall", "--gold", "coinco-test"])
    err = capsys.readouterr().err
    assert code == 2 and "coinco.xml.gz does not exist" in err and len(err.strip().splitlines()) == 1
    code = main(["concepts", "pool-recall", "--gold", "coinco-test", "--k", "10,0"])
    err = capsys.readouterr().err
    assert code == 2 and "each at least 1" in err and len(err.strip().splitlines()) == 1


# head -> synonyms in the hand-made concept file (garlicky is two SmolLM2 tokens: no target)
SYNONYMS = {"bright": ["smart", "clever", "shiny"], "answered": ["responded", "replied", "said"], "mind": [],
            "smell": ["scent", "fragrance"]}


def hand_file(path: Path, tokenizer, spec: str) -> Path:
    from concepts.concept_header import tokenizer_info

    lines = [{"type": "header", "format_version": 1, "model": {"spec": spec}, "tokenizer": tokenizer_info(tokenizer),
              "corpus": {"name": "coinco-dev"}, "selector": {"name": "hand"}}]
    for text in (SENT_A, SENT_B):
        enc = tokenizer(text, return_offsets_mapping=True)
        ids, targets = enc["input_ids"], []
        for head, syns in SYNONYMS.items():
            if head not in text:
                continue
            end = text.index(head) + len(head)
            p = next(i for i, (_, e) in enumerate(enc["offset_mapping"]) if e == end)
            syn = [tokenizer(" " + w, add_special_tokens=False)["input_ids"] for w in syns]
            assert all(len(s) == 1 for s in syn), "the fixture's synonyms are single tokens"
            targets.append({"position": p, "token_id": ids[p], "word": head, "pos": "ADJ",
                            "set_ids": [ids[p]] + [s[0] for s in syn], "set_words": [head] + syns})
        lines.append({"type": "sequence", "index": len(lines) - 1, "text": text, "input_ids": ids, "targets": targets})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_score_against_coinco_by_hand(coinco, tmp_path, smollm2_tokenizer):
    assert len(smollm2_tokenizer(" garlicky", add_special_tokens=False)["input_ids"]) == 2
    dev = read_coinco("coinco-dev")
    cf = load_concept_file(hand_file(tmp_path / "c.jsonl", smollm2_tokenizer, "unused"), smollm2_tokenizer)
    s = score(cf, smollm2_tokenizer, dev.contexts, dev.gold, wordnet_lemmatizer())
    # 1 bright: S = [smart, clever, shiny], G = {intelligent 3, clever 2, smart 1, smart as a whip 1}, |H| = 7
    #   hits 2; best (2 + 1) / (3 · 7); oot 3 / 7; mode intelligent: first guess smart (0), not among guesses (0)
    # 3 answered: S = [respond, reply, say] (morphy), G = {respond 3, reply 2}, |H| = 5
    #   hits 2; best 5 / (3 · 5); oot 5 / 5; mode respond = first guess (1, 1)
    # 4 mind: S = ∅ (matched, not attempted), mode care
    # 5 garlicky: two tokens, no target (unmatched), mode pungent (2 > 1); its "garlic flavoured" is multiword
    # 6 smell: S = [scent, fragrance], G = {odor 3, scent 1, aroma 1}, |H| = 5: hits 1; best 1 / (2 · 5);
    #   oot 1 / 5; mode odor (0, 0)
    assert (s.gold_instances, s.matched, s.attempted, s.mode_instances, s.mode_attempted) == (5, 4, 3, 5, 3)
    assert dict(s.unmatched) == {NOT_A_TARGET: 1}
    assert (s.hits, s.system, s.gold, s.gold_single, s.gold_not_single, s.gold_types) == (5, 8, 11, 10, 2, 13)
    p, r = 5 / 8, 5 / 11
    assert (s.precision, s.recall, s.recall_single) == pytest.approx((p, r, 5 / 10))
    assert s.f1 == pytest.approx(2 * p * r / (p + r)) and s.coverage == pytest.approx(3 / 4)
    assert s.mean_set_size == pytest.approx(8 / 3)
    best, oot = 3 / 21 + 5 / 15 + 1 / 10, 3 / 7 + 1 + 1 / 5
    assert (s.best_precision, s.best_recall) == pytest.approx((best / 3, best / 5))
    assert (s.oot_precision, s.oot_recall) == pytest.approx((oot / 3, oot / 5))
    assert (s.best_mode_precision, s.best_mode_recall, s.oot_mode_precision, s.oot_mode_recall) == pytest.approx(
        (1 / 3, 1 / 5, 1 / 3, 1 / 5))
    adj = s.subset("a")  # bright and garlicky
    assert (adj.gold_instances, adj.hits, adj.system, adj.best_recall) == (2, 2, 3, pytest.approx(3 / 21 / 2))


def test_oot_counts_ten_guesses_undivided_best_divides():
    from harness.lexsub_files.semeval2007 import GoldInstance
    from concepts.lexsub_score import instance_score

    g = GoldInstance(item="x.n", id="1", substitutes={"a": 4, "b": 2, "c": 2})  # |H| = 8, mode a
    guesses = [f"w{i}" for i in range(9)] + ["b", "a"]  # b is the 10th guess, a the 11th
    row = instance_score(g, "n", guesses)
    assert row.oot_sum == pytest.approx(2 / 8)  # only b is within ten
    assert row.best_sum == pytest.approx((2 + 4) / (11 * 8))  # best counts every guess, divided by 11
    assert (row.best_mode_hits, row.oot_mode_hits) == (0, 0)
    tie = instance_score(GoldInstance(item="x.n", id="2", substitutes={"a": 2, "b": 2}), "n", ["a"])
    assert tie.mode_instances == 0 and tie.mode_attempted == 0  # no single most frequent substitute: no mode


def test_bootstrap_is_deterministic_and_degenerate_when_targets_agree():
    from harness.lexsub_files.semeval2007 import GoldInstance
    from concepts.lexsub_ci import by_pos, intervals
    from concepts.lexsub_score import LexsubScore, instance_score

    g = GoldInstance(item="x.n", id="1", substitutes={"a": 3, "b": 1})
    same = LexsubScore([instance_score(g, "n", ["a", "z"]) for _ in range(5)])
    iv = intervals(same, 200, 0)["precision"]
    assert (iv.value, iv.low, iv.high) == (0.5, 0.5, 0.5)  # every resample is 5 copies of hits 1 / set 2
    mixed = LexsubScore([instance_score(g, "n", ["a"]), instance_score(g, "v", ["z"]), instance_score(g, "n", ["b"])])
    one, two = by_pos(mixed, 300, 7), by_pos(mixed, 300, 7)
    assert {m: v.as_dict() for m, v in one["all"].items()} == {m: v.as_dict() for m, v in two["all"].items()}
    assert one["all"]["precision"].value == pytest.approx(2 / 3) and 0 <= one["all"]["precision"].low <= 2 / 3
    assert set(one) == {"all", "n", "v"} and one["v"]["precision"].high == 0.0  # the verb's one guess misses


def test_cli_score_with_coinco_gold(coinco, tmp_path, smollm2_folder, smollm2_tokenizer, capsys):
    path = hand_file(tmp_path / "c.jsonl", smollm2_tokenizer, str(smollm2_folder))
    out, js = tmp_path / "score.md", tmp_path / "score.json"
    assert main(["concepts", "score", str(path), "--gold", "coinco-dev", "--out", str(out), "--json", str(js),
                 "--resamples", "50"]) == 0
    md = out.read_text(encoding="utf-8")
    assert re.search(r"gold targets left out: problematic +\| 1 ", md)
    assert "oot P (SemEval-2007" in md and "adjective (2)" in md
    report = json.loads(js.read_text(encoding="utf-8"))
    assert report["measures"]["all"]["precision"]["value"] == pytest.approx(5 / 8)
    assert report["measures"]["v"]["oot_precision"]["value"] == pytest.approx(1.0)  # answered: 5/5; mind: not attempted
    assert len(report["instances"]) == 5 and report["bootstrap"]["n_resamples"] == 50
