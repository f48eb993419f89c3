"""``harness concepts score-table``: hand-written score and pool JSON files (in the format ``concepts score --json``
writes, checked against a real one built from the CoInCo fixture) -> ``scores.md``, ``scores.csv`` and
``scores.png``, every expected cell worked out by hand below."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from harness.cli import main
from coinco_fixtures import coinco  # noqa: F401  (the fixture)

SEMEVAL_GOLD = "/data/lexsub/semeval2007/gold.test"


def iv(value, low, high) -> dict:
    return {"value": value, "low": low, "high": high}


def instance(item: str, pos: str, matched: int) -> dict:
    return {"key": [item, "1"], "pos": pos, "reason": None if matched else "context not in the concept file",
            "guesses": [], "gold_instances": 1, "matched": matched}


def score_json(path: Path, gold: str, name: str, header: dict, measures: dict, instances: list[dict],
               matched: int) -> Path:
    data = {"concept_file": name, "gold": gold,
            "counts": {"gold instances with substitutes (T)": len(instances), "matched to a target (M)": matched},
            "measures": measures, "bootstrap": {"unit": "target", "n_resamples": 1000, "seed": 0,
                                                "interval": "percentile 95%"},
            "instances": instances, "concept_header": header}
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


@pytest.fixture()
def inputs(tmp_path) -> tuple[list[Path], Path]:
    """Two CoInCo test files and one SemEval-2007 file; one pool file for CoInCo test."""
    hyper = score_json(tmp_path / "wn.json", "coinco-test", "coinco-wnh.jsonl",
                       {"selector": {"name": "wordnet", "settings": {"hypernyms": True, "wordnet_version": "3.0"}}},
                       {"all": {"coverage": iv(0.5, 0.4, 0.6), "mean_set_size": iv(2.25, 2.0, 2.5),
                                "precision": iv(0.1704, 0.16, 0.1812), "recall": iv(0.068, 0.0601, 0.0759),
                                "f1": iv(0.0972, 0.085, 0.11), "best_precision": iv(0.099, 0.09, 0.108),
                                "best_recall": iv(0.05, 0.04, 0.06), "oot_precision": iv(0.3, 0.25, 0.35),
                                "oot_recall": iv(0.15, 0.125, 0.175)},
                        "n": {"precision": iv(0.2, 0.1, 0.3), "recall": iv(0.1, 0.05, 0.15), "f1": iv(0.1333, 0.07, 0.2)},
                        "v": {"precision": iv(0.0, 0.0, 0.0), "recall": iv(0.0, 0.0, 0.0), "f1": iv(0.0, 0.0, 0.0)}},
                       [instance("a.n", "n", 1), instance("b.n", "n", 0), instance("c.v", "v", 1)], matched=2)
    static = score_json(tmp_path / "emb.json", "coinco-test", "coinco-emb.jsonl",
                        {"selector": {"name": "embedding", "settings": {"mode": "static", "threshold": 0.75}},
                         "randomized": {"seed": 0, "source": "coinco-emb0.jsonl"}},
                        {"all": {"coverage": iv(0.25, None, None), "precision": iv(0.05, 0.01, 0.0951),
                                 "recall": iv(0.02, 0.0, 0.05)}},
                        [instance("a.n", "n", 1), instance("b.n", "n", 0), instance("c.v", "v", 0)], matched=1)
    llm = score_json(tmp_path / "llm.json", SEMEVAL_GOLD, "semeval-llm.jsonl",
                     {"selector": {"name": "llm", "settings": {"judge": "smollm2-135m", "max_new_tokens": 64}}},
                     {"all": {"precision": iv(0.4, 0.3, 0.5), "recall": iv(0.3, 0.2, 0.4)}},
                     [instance("bright.a", "a", 1)], matched=1)
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps({"gold": "coinco-test", "model": "smollm2-135m", "k": [10, 50],
                                "recall": {}, "token_recall": {}, "unmatched": {},
                                "targets": [{"key": ["a.n", "1"], "pos": "n", "gold": 3, "hits": {"10": 1, "50": 2},
                                             "token_hits": {"10": 0, "50": 1}, "pool": {"10": 4, "50": 20}},
                                            {"key": ["c.v", "2"], "pos": "v", "gold": 2, "hits": {"10": 0, "50": 2},
                                             "token_hits": {"10": 0, "50": 2}, "pool": {"10": 6, "50": 30}}]}),
                    encoding="utf-8")
    return [hyper, static, llm], pool


def table_rows(md: str, first_cell: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()
            if line.startswith(f"| {first_cell} ")]


def test_markdown_tables_by_hand(inputs, tmp_path, capsys):
    scores, pool = inputs
    out = tmp_path / "out"
    assert main(["concepts", "score-table", *map(str, scores), "--pool", str(pool), "--out", str(out)]) == 0
    md = (out / "scores.md").read_text(encoding="utf-8")
    assert f"wrote {out / 'scores.md'}" in capsys.readouterr().out
    # one section per gold, in the order of their first file
    assert md.index("## CoInCo test") < md.index("## SemEval-2007 test") and "Gold: `gold.test`." in md  # a path: its name
    assert table_rows(md, "wordnet +hypernyms")[0] == [
        "wordnet +hypernyms", "`coinco-wnh.jsonl`", "2", "0.500 [0.400, 0.600]", "2.250 [2.000, 2.500]",
        "0.170 [0.160, 0.181]", "0.068 [0.060, 0.076]", "0.097 [0.085, 0.110]", "0.099 [0.090, 0.108]",
        "0.050 [0.040, 0.060]", "0.300 [0.250, 0.350]", "0.150 [0.125, 0.175]"]
    # a randomized file is the noise control of its source's selector; no interval: the value alone; absent: –
    assert table_rows(md, "noise (from embedding static)")[0] == [
        "noise (from embedding static)", "`coinco-emb.jsonl`", "1", "0.250", "–", "0.050 [0.010, 0.095]",
        "0.020 [0.000, 0.050]", "–", "–", "–", "–", "–"]
    assert table_rows(md, "llm (judge smollm2-135m)")[0][:2] == ["llm (judge smollm2-135m)", "`semeval-llm.jsonl`"]
    # by POS: T and M counted from the instances (nouns a (matched), b (not): T 2, M 1; the verb c: 1, 1)
    pos = [r for r in table_rows(md, "wordnet +hypernyms") if len(r) == 7]
    assert pos == [["wordnet +hypernyms", "NOUN", "2", "1", "0.200 [0.100, 0.300]", "0.100 [0.050, 0.150]",
                    "0.133 [0.070, 0.200]"],
                   ["wordnet +hypernyms", "VERB", "1", "1", "0.000 [0.000, 0.000]", "0.000 [0.000, 0.000]",
                    "0.000 [0.000, 0.000]"]]
    # pool: k = 10: lemma hits 1 + 0 of 3 + 2 single-word substitutes = 0.2; token 0; a target with a hit 1 of 2;
    # mean pool (4 + 6) / 2 = 5. k = 50: 4 / 5, 3 / 5, both targets, (20 + 30) / 2 = 25
    assert table_rows(md, "smollm2-135m") == [["smollm2-135m", "10", "5.000", "0.200", "0.000", "0.500"],
                                              ["smollm2-135m", "50", "25.000", "0.800", "0.600", "1.000"]]
    assert md.count("### Candidate pool ceiling") == 1 and "T = 3 gold targets" in md


def test_csv_is_tidy(inputs, tmp_path):
    scores, pool = inputs
    out = tmp_path / "out"
    assert main(["concepts", "score-table", *map(str, scores), "--pool", str(pool), "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO((out / "scores.csv").read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["gold", "concept_file", "label", "pos", "measure", "value", "lo", "hi"]
    key = {(r["concept_file"], r["pos"], r["measure"]): r for r in rows}
    p = key[("coinco-wnh.jsonl", "all", "precision")]
    assert (p["gold"], p["label"], float(p["value"]), float(p["lo"]), float(p["hi"])) == (
        "coinco-test", "wordnet +hypernyms", 0.1704, 0.16, 0.1812)
    assert float(key[("coinco-wnh.jsonl", "noun", "f1")]["value"]) == 0.1333
    assert key[("coinco-wnh.jsonl", "noun", "targets")]["value"] == "2"
    assert key[("coinco-wnh.jsonl", "noun", "matched")]["value"] == "1"
    assert key[("coinco-emb.jsonl", "all", "coverage")]["lo"] == ""  # no interval
    assert float(key[("pool.json", "all", "pool_recall@50")]["value"]) == pytest.approx(0.8)
    assert float(key[("pool.json", "all", "pool_any@10")]["value"]) == pytest.approx(0.5)
    # 3 parts x (2 counts + 3) + 9 for the first file, 2 counts + 3 for the second, 2 + 2 for the third, 2 k x 4 pool
    assert len(rows) == (3 * 2 + 9 + 3 + 3) + (2 + 3) + (2 + 2) + 2 * 4


def test_refuses_to_overwrite_and_rejects_other_files(inputs, tmp_path, capsys):
    scores, pool = inputs
    out = tmp_path / "out"
    assert main(["concepts", "score-table", str(scores[0]), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(before) == ["scores.csv", "scores.md", "scores.png"]
    capsys.readouterr()
    code = main(["concepts", "score-table", *map(str, scores), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main(["concepts", "score-table", *map(str, scores), "--out", str(out), "--overwrite"]) == 0
    assert (out / "scores.md").read_bytes() != before["scores.md"]
    for args, words in (([str(pool)], "not written by harness concepts score --json"),
                        ([str(scores[0]), "--pool", str(scores[1])], "not written by harness concepts pool-recall"),
                        ([str(tmp_path / "none.json")], "does not exist")):
        capsys.readouterr()
        code = main(["concepts", "score-table", *args, "--out", str(tmp_path / "other")])
        err = capsys.readouterr().err
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "other").exists()


def test_plot_is_a_png_with_a_labelled_point_per_file(inputs, tmp_path):
    from concepts.score_plot import score_figure
    from concepts.score_table import load_score

    scores, pool = inputs
    out = tmp_path / "out"
    assert main(["concepts", "score-table", *map(str, scores), "--out", str(out)]) == 0
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = score_figure([load_score(p) for p in scores])
    assert [ax.get_title() for ax in fig.axes] == ["CoInCo test", "SemEval-2007 test"]
    assert [[t.get_text() for t in ax.texts] for ax in fig.axes] == [
        ["wordnet +hypernyms", "noise (from embedding static)"], ["llm (judge smollm2-135m)"]]
    assert [len(ax.containers) for ax in fig.axes] == [2, 1]  # one errorbar per file
    x, y = fig.axes[0].containers[0].lines[0].get_data()
    assert (list(x), list(y)) == ([0.1704], [0.068])


def test_real_score_json_has_the_hand_written_format(coinco, tmp_path, tiny_llama, smollm2_folder):  # noqa: F811
    """A gold-selector file and its noise control built and scored by the real commands: the hand-written files
    above use the same keys, and the table labels the real headers."""
    from concepts.builder import build_concepts
    from concepts.score_table import load_score

    built = tmp_path / "gold.jsonl"
    build_concepts(tiny_llama, "coinco", "gold", built, split="heldout", heldout_size=10, k=5)
    assert main(["concepts", "randomize", str(built), str(tmp_path / "noise.jsonl")]) == 0
    for name in ("gold", "noise"):
        assert main(["concepts", "score", str(tmp_path / f"{name}.jsonl"), "--gold", "coinco-dev", "--model",
                     str(smollm2_folder), "--json", str(tmp_path / f"{name}.json"), "--resamples", "20"]) == 0
    real = json.loads((tmp_path / "gold.json").read_text(encoding="utf-8"))
    hand = json.loads(score_json(tmp_path / "hand.json", "g", "f", {}, {"all": {"precision": iv(1, 1, 1)}},
                                 [instance("a.n", "n", 1)], 1).read_text(encoding="utf-8"))
    assert set(hand) == set(real)
    assert set(hand["counts"]) <= set(real["counts"]) and set(hand["bootstrap"]) == set(real["bootstrap"])
    assert set(real["measures"]["all"]["precision"]) == {"value", "low", "high"}
    assert set(hand["instances"][0]) <= set(real["instances"][0])
    assert real["concept_header"]["selector"]["name"] == "gold"
    assert [load_score(tmp_path / f"{n}.json").label for n in ("gold", "noise")] == ["gold", "noise (from gold)"]
