"""``harness leaderboard build``: hand-written result files -> the expected tables, CSV and plots."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from test_leaderboard_helpers import model_block, run_cli, trained, write_file

BASE = model_block("tiny-base-00000001", "tiny-base", kind="causal_lm")
NTP = model_block("ntp-00000001", "tiny-ntp", training=trained("ntp", 0.0))
C05 = model_block("concept05-00000001", "tiny-concept-0.5", training=trained("concept", 0.5))
C1 = model_block("concept1-00000001", "tiny-concept-1", training=trained("concept", 1.0))
N05 = model_block("noise05-00000001", "tiny-noise-0.5", training=trained("noise", 0.5))
MYSTERY = model_block("mystery-00000001", "mystery-adapter")  # an adapter with no training record
ENCODER = model_block("enc-00000001", "all-minilm", kind="encoder", base="all-minilm", display_name="mini|LM")

# (model, men, simlex999, content_word_ppl@wiki) with the stored significance of each against the base
TABLE = [
    (BASE, (0.30, None), (0.10, None), (40.61, None)),
    (NTP, (0.29, True), (0.11, False), (40.49, False)),
    (C05, (0.35, False), (0.15, True), (34.38, True)),
    (C1, (0.40, True), (0.12, True), (33.11, True)),
    (N05, (0.20, True), (0.05, True), (139.55, True)),
    (MYSTERY, (0.33, None), None, None),
    (ENCODER, (0.78, None), (0.80, None), None),
]


def write_board(root: Path) -> Path:
    for model, men, simlex, ppl in TABLE:
        write_file(root, model, "men", men[0], significant=men[1])
        if simlex:
            write_file(root, model, "simlex999", simlex[0], significant=simlex[1])
        if ppl:
            write_file(root, model, "content_word_ppl", ppl[0], variant="wiki", metric="ppl", higher=False,
                       kind="language_modeling", significant=ppl[1])
    return root


def split_row(line: str) -> list[str]:
    """Cells of a GitHub table row: split on pipes that are not escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def tables(markdown: str) -> dict[str, list[list[str]]]:
    """``## Title`` -> rows (header first, separator dropped after checking it)."""
    out, title, block = {}, None, []
    for line in markdown.splitlines() + [""]:
        if line.startswith("## "):
            title = line[3:]
        elif line.startswith("|"):
            block.append(line)
        elif block:
            header, sep, *rows = (split_row(x) for x in block)
            assert len(sep) == len(header) and all(re.fullmatch(r":?-{3,}:?", s) for s in sep), block[1]
            assert all(len(r) == len(header) for r in rows), block
            out[title] = [header] + rows
            block = []
    return out


@pytest.fixture()
def built(tmp_path):
    results = write_board(tmp_path / "results")
    run_cli("leaderboard", "build", str(results), "--out", str(tmp_path / "out" / "board.md"))
    return tmp_path / "out"


def test_table_order_bold_arrows_and_marks(built):
    t = tables((built / "board.md").read_text())
    # the paper tables (tests/test_leaderboard_paper.py), the runs (test_leaderboard_runs.py), then by task family
    assert list(t) == ["Similarity, trained on wiki", "Runs", "Semantic similarity", "Language modeling"]
    sim, lm = t["Semantic similarity"], t["Language modeling"]
    assert sim[0] == ["Base model", "Method", "λ", "Corpus", "Selector", "Model", "men spearman ↑", "simlex999 spearman ↑"]
    assert lm[0][-1] == "content_word_ppl@wiki ppl ↓"
    assert [r[:3] + [r[5]] for r in sim[1:]] == [
        ["tiny-base", "Base", "—", "tiny-base"],
        ["", "NTP", "0", "tiny-ntp"],
        ["", "Concept", "0.5", "tiny-concept-0.5"],
        ["", "Concept", "1", "tiny-concept-1"],
        ["", "Noise", "0.5", "tiny-noise-0.5"],
        ["", "External", "—", "mystery-adapter"],
        ["External", "External", "—", r"mini\|LM"],
    ]
    assert [r[6:] for r in sim[1:]] == [
        ["0.3000", "0.1000"],
        ["0.2900", "0.1100†"],        # not significant against the base
        ["0.3500†", "**0.1500**"],    # best simlex999 of tiny-base
        ["**0.4000**", "0.1200"],     # best men of tiny-base
        ["0.2000", "0.0500"],
        ["0.3300", "—"],              # no simlex999 result
        ["0.7800", "0.8000"],         # alone in its group: nothing to bold
    ]
    # lower is better for perplexity; the encoder and the mystery adapter have no LM values
    assert [(r[5], r[6]) for r in lm[1:]] == [
        ("tiny-base", "40.61"), ("tiny-ntp", "40.49†"), ("tiny-concept-0.5", "34.38"),
        ("tiny-concept-1", "**33.11**"), ("tiny-noise-0.5", "139.55")]
    text = (built / "board.md").read_text()
    assert "†: the 95% paired bootstrap interval" in text and "↑/↓: higher/lower is better" in text


def test_markdown_escapes_pipes(built):
    text = (built / "board.md").read_text()
    assert r"| mini\|LM |" in text and "| mini|LM |" not in text
    tables(text)  # every row has as many cells as the header


def test_csv_round_trips_through_pandas(built):
    import pandas as pd

    df = pd.read_csv(built / "board.csv").set_index("model_id")
    assert len(df) == len(TABLE)
    for model, men, simlex, ppl in TABLE:
        row = df.loc[model["id"]]
        assert row["men:spearman"] == men[0]
        assert (pd.isna(row["men:spearman:significant"]) if men[1] is None else row["men:spearman:significant"] == men[1])
        assert pd.isna(row["simlex999:spearman"]) if simlex is None else row["simlex999:spearman"] == simlex[0]
        assert pd.isna(row["content_word_ppl@wiki:ppl"]) if ppl is None else row["content_word_ppl@wiki:ppl"] == ppl[0]
    assert df.loc[C05["id"], "lambda"] == 0.5 and df.loc[C05["id"], "method"] == "concept"
    assert df.loc[ENCODER["id"], "model"] == "mini|LM" and df.loc[ENCODER["id"], "base_model"] == "External"


def test_output_is_deterministic(tmp_path, built):
    results = tmp_path / "results"
    copy = tmp_path / "elsewhere" / "results"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns(".leaderboard*"))
    run_cli("leaderboard", "build", str(results), "--out", str(tmp_path / "again" / "board.md"))
    run_cli("leaderboard", "build", str(copy), "--out", str(tmp_path / "elsewhere" / "out" / "board.md"))
    for other in (tmp_path / "again", tmp_path / "elsewhere" / "out"):
        for name in ("board.md", "board.csv", "board_plots/semantic-similarity.png", "board_plots/language-modeling.png"):
            assert (other / name).read_bytes() == (built / name).read_bytes(), name


def test_plots_are_pngs_linked_from_the_markdown(built, tmp_path):
    import matplotlib.image as mpimg

    text = (built / "board.md").read_text()
    for name in ("semantic-similarity.png", "language-modeling.png"):
        assert f"](board_plots/{name})" in text
        img = mpimg.imread(built / "board_plots" / name)
        assert img.shape[0] > 200 and img.shape[1] > 400
        assert img[..., :3].std() > 0.05  # something is drawn
    # the LM results go away: so does their plot (and only it)
    shutil.rmtree(tmp_path / "results" / N05["id"])
    for model, *_ in TABLE:
        (tmp_path / "results" / model["id"] / "content_word_ppl@wiki.json").unlink(missing_ok=True)
    run_cli("leaderboard", "build", str(tmp_path / "results"), "--out", str(built / "board.md"))
    assert sorted(p.name for p in (built / "board_plots").glob("*.png")) == ["semantic-similarity.png"]


def test_invalid_files_are_skipped_with_a_warning(tmp_path):
    results = write_board(tmp_path / "results")
    corrupt = results / "broken-00000001" / "men.json"
    corrupt.parent.mkdir()
    corrupt.write_text('{"schema_version": 1, "task": "men", ')
    invalid = results / "invalid-00000001" / "men.json"
    invalid.parent.mkdir()
    record = json.loads((results / C1["id"] / "men.json").read_text())
    del record["main_metric"]
    invalid.write_text(json.dumps(record))
    proc = run_cli("leaderboard", "build", str(results), "--out", str(tmp_path / "lb.md"), "--no-plots")
    assert str(corrupt) in proc.stderr and str(invalid) in proc.stderr and "main_metric" in proc.stderr
    t = tables((tmp_path / "lb.md").read_text())
    assert len(t["Semantic similarity"]) == 1 + len(TABLE)
    assert "2 invalid file(s) skipped" in proc.stdout
    # the index remembers the error: a second build warns again
    proc = run_cli("leaderboard", "build", str(results), "--out", str(tmp_path / "lb.md"), "--no-plots")
    assert str(corrupt) in proc.stderr and str(invalid) in proc.stderr


def test_changed_file_is_read_again(tmp_path):
    """The summary index must not serve a stale value after a result file is replaced."""
    results = write_board(tmp_path / "results")
    run_cli("leaderboard", "build", str(results), "--out", str(tmp_path / "lb.md"), "--no-plots")
    write_file(results, C1, "men", 0.123456, significant=True)
    run_cli("leaderboard", "build", str(results), "--out", str(tmp_path / "lb.md"), "--no-plots")
    sim = tables((tmp_path / "lb.md").read_text())["Semantic similarity"]
    assert [r[6] for r in sim if r[5] == "tiny-concept-1"] == ["0.1235"]


def test_build_does_not_import_torch(tmp_path):
    results = write_board(tmp_path / "results")
    code = ("import sys; from harness.cli import main; "
            f"rc = main(['leaderboard', 'build', {str(results)!r}, '--out', {str(tmp_path / 'lb.md')!r}, '--bootstrap']); "
            "print(rc, 'torch' in sys.modules, 'transformers' in sys.modules)")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[-3:] == ["0", "False", "False"]


def test_bootstrap_marks_rows_without_a_stored_comparison(tmp_path):
    """--bootstrap compares rows with no stored comparison: identical scores are not significant, noise is."""
    import numpy as np

    rng = np.random.default_rng(1)
    human = rng.uniform(0, 10, 200)
    ids = [f"p{i}" for i in range(200)]
    good = human + rng.normal(0, 1, 200)
    results = tmp_path / "results"
    same = model_block("same-00000001", "same-as-base", training=trained("concept", 0.5))
    worse = model_block("worse-00000001", "random-scores", training=trained("concept", 1.0))
    for model, cosine in ((BASE, good), (same, good), (worse, rng.normal(0, 1, 200))):
        items = {"ids": ids, "columns": {"x": human.tolist(), "y": cosine.tolist()}}
        from scipy.stats import spearmanr

        write_file(results, model, "men", float(spearmanr(human, cosine).statistic), items=items)
    run_cli("leaderboard", "build", str(results), "--out", str(tmp_path / "plain.md"), "--no-plots")
    plain = tables((tmp_path / "plain.md").read_text())["Semantic similarity"]
    assert not any("†" in r[-1] for r in plain[1:])  # no comparison stored: nothing marked
    proc = run_cli("leaderboard", "build", str(results), "--out", str(tmp_path / "boot.md"), "--no-plots", "--bootstrap")
    assert "2 comparison(s) bootstrapped" in proc.stdout
    boot = {r[5]: r[-1] for r in tables((tmp_path / "boot.md").read_text())["Semantic similarity"][1:]}
    assert boot["same-as-base"].endswith("†")      # Δ = 0 on every resample: the interval contains 0
    assert not boot["random-scores"].endswith("†")  # ρ ≈ 0.95 -> ≈ 0: far outside any interval around 0


def test_missing_results_dir_is_one_line_error(tmp_path):
    proc = run_cli("leaderboard", "build", str(tmp_path / "nope"), "--out", str(tmp_path / "lb.md"), check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "does not exist" in proc.stderr
    assert not (tmp_path / "lb.md").exists()


@pytest.mark.parametrize("model,expected", [
    (BASE, ("tiny-base", "base", None, "", "")),
    (NTP, ("tiny-base", "ntp", 0.0, "wiki", "wordnet")),
    (model_block("x", "x", training=trained("concept", 0.0)), ("tiny-base", "ntp", 0.0, "wiki", "wordnet")),  # λ=0 is NTP
    (model_block("x", "x", training=trained("noise", 0.25, corpus="c4")), ("tiny-base", "noise", 0.25, "c4", "wordnet")),
    (MYSTERY, ("tiny-base", "external", None, "", "")),
    (ENCODER, ("", "external", None, "", "")),
    (model_block("x", "gpt2", kind="causal_lm", base="gpt2", role="external"), ("", "external", None, "", "")),
    (model_block("x", "gpt2", kind="causal_lm", base="gpt2"), ("gpt2", "base", None, "", "")),
])
def test_classify(model, expected):
    from harness.results import ResultModel
    from leaderboard.table import Classification, classify

    assert classify(ResultModel.from_dict(model)) == Classification(*expected)
