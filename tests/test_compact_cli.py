"""``harness results compact SRC --out DST``: the source stays as it is, the copies are small, and ``harness
compare`` and the leaderboard give on them what they give on the source folder."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from bad_input_helpers import assert_refused, snapshot
from harness.cli import main
from harness.result_files import load_untrusted, result_path, write_result
from harness.results import ResultRecord

BASE = {"id": "tiny-base-0a1b", "name": "tiny-base", "spec": "tiny-base", "kind": "causal_lm"}
ADAPTER = {"id": "tiny-lora-2c3d", "name": "tiny-lora", "spec": "runs/lora", "kind": "adapter",
           "base": "tiny-base", "base_id": "tiny-base-0a1b"}
LM_AGGS = {"perplexity": {"fn": "exp_ratio", "columns": ["nll", "count"]},
           "nll": {"fn": "ratio", "columns": ["nll", "count"]},
           "accuracy": {"fn": "ratio", "columns": ["correct", "count"]}}


def write_lm(root, model: dict, shift: float) -> None:
    """A per-token global_ppl@wiki result of 60 sequences of 20–80 tokens."""
    rng = np.random.default_rng(int(shift * 100))
    sizes = np.random.default_rng(0).integers(20, 80, size=60)
    nll = [np.abs(rng.normal(3.0 + shift, 1.0, size=k)) for k in sizes]
    ok = [(rng.random(k) < 0.4).astype(float) for k in sizes]
    flat, flat_ok = np.concatenate(nll), np.concatenate(ok)
    n = len(flat)
    record = ResultRecord.from_dict({
        "schema_version": 1, "task": "global_ppl", "variant": "wiki", "main_metric": "perplexity", "model": model,
        "metrics": {"perplexity": float(np.exp(flat.mean())), "nll": float(flat.mean()), "accuracy": float(flat_ok.mean())},
        "higher_is_better": {"perplexity": False, "nll": False, "accuracy": True}, "aggregations": LM_AGGS,
        "protocol": {"kind": "global_next_token", "corpus": "wiki"},
        "items": {"ids": [f"{s}:{p}" for s, k in enumerate(sizes) for p in range(1, k + 1)],
                  "clusters": [s for s, k in enumerate(sizes) for _ in range(k)],
                  "columns": {"nll": flat.tolist(), "correct": flat_ok.tolist(), "count": [1.0] * n}}})
    write_result(result_path(root, model["id"], "global_ppl", "wiki"), record)


def write_men(root, model: dict, shift: float) -> None:
    """A men result with three layers' cosines."""
    rng = np.random.default_rng(int(shift * 100) + 1)
    human = np.random.default_rng(0).uniform(0, 10, 80)
    cos = {f"cosine.L{l}": human / 10 + rng.normal(0, 0.3 + shift, 80) for l in range(3)}
    cos["cosine"] = cos["cosine.L2"]
    from scipy.stats import spearmanr

    aggs = {"spearman": ["human", "cosine"], **{f"spearman.L{l}": ["human", f"cosine.L{l}"] for l in range(3)}}
    record = ResultRecord.from_dict({
        "schema_version": 1, "task": "men", "variant": "", "main_metric": "spearman", "model": model,
        "metrics": {m: float(spearmanr(human, cos[c[1]]).statistic) for m, c in aggs.items()},
        "higher_is_better": {m: True for m in aggs}, "protocol": {"kind": "pair_similarity"},
        "aggregations": {m: {"fn": "spearman", "columns": c} for m, c in aggs.items()},
        "items": {"ids": [f"{i}:a{i}|b{i}" for i in range(80)], "clusters": list(range(80)),
                  "columns": {"human": human.tolist(), **{c: v.tolist() for c, v in cos.items()}}}})
    write_result(result_path(root, model["id"], "men"), record)


def results(tmp_path):
    src = tmp_path / "results"
    for model, shift in ((BASE, 0.0), (ADAPTER, 0.1)):
        write_lm(src, model, shift)
        write_men(src, model, shift)
    return src


def compare(capsys, a, b) -> str:
    assert main(["compare", str(a), str(b), "--resamples", "300", "--seed", "4"]) == 0
    return capsys.readouterr().out


def test_compact_copies_compare_like_the_source(tmp_path, capsys):
    src, dst = results(tmp_path), tmp_path / "docs" / "results"
    before = snapshot(src)
    assert main(["results", "compact", str(src), "--out", str(dst)]) == 0
    assert "4 result files" in capsys.readouterr().out
    assert snapshot(src) == before  # the source is never written to
    for path in src.rglob("*.json"):
        copy = dst / path.relative_to(src)
        block = json.loads(copy.read_text())["compacted"]
        assert block["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert block["source_bytes"] == path.stat().st_size
        assert load_untrusted(copy).record.metrics == load_untrusted(path).record.metrics  # valid from elsewhere too
    lm = dst / BASE["id"] / "global_ppl@wiki.json"
    assert lm.stat().st_size * 20 < (src / BASE["id"] / "global_ppl@wiki.json").stat().st_size
    full = compare(capsys, src / BASE["id"], src / ADAPTER["id"])
    assert compare(capsys, dst / BASE["id"], dst / ADAPTER["id"]) == full  # same numbers, same table
    assert compare(capsys, src / BASE["id"], dst / ADAPTER["id"]) == full  # a full file against a copy
    assert capsys.readouterr().err == ""  # no note about unpaired items


def test_compacting_again_changes_nothing_and_a_different_file_is_refused(tmp_path, capsys):
    src, dst = results(tmp_path), tmp_path / "compact"
    assert main(["results", "compact", str(src), "--out", str(dst)]) == 0
    copies = snapshot(dst)
    assert main(["results", "compact", str(src), "--out", str(dst)]) == 0
    assert capsys.readouterr().out.count("(unchanged)") == 4 and snapshot(dst) == copies
    stranger = dst / BASE["id"] / "men.json"
    stranger.write_text("{}\n")
    assert_refused(["results", "compact", str(src), "--out", str(dst)], "is not the compact copy", tmp_path, capsys)
    assert_refused(["results", "compact", str(src), "--out", str(src / "inside")], "inside it", tmp_path, capsys)
    assert_refused(["results", "compact", str(src), "--out", str(src)], "inside it", tmp_path, capsys)
    assert_refused(["results", "compact", str(tmp_path / "nope"), "--out", str(dst)], "not a results folder",
                   tmp_path, capsys)


def test_an_item_bootstrap_on_copies_is_one_line(tmp_path, capsys):
    src, dst = results(tmp_path), tmp_path / "compact"
    assert main(["results", "compact", str(src), "--out", str(dst)]) == 0
    assert_refused(["compare", str(dst / BASE["id"]), str(dst / ADAPTER["id"]), "--bootstrap-unit", "item"],
                   "compacted to one item per sequence", tmp_path, capsys)


def test_the_leaderboard_reads_compact_copies(tmp_path, capsys):
    from leaderboard.build import build

    src, dst = results(tmp_path), tmp_path / "compact"
    assert main(["results", "compact", str(src), "--out", str(dst)]) == 0
    boards = {}
    for name, root in (("full", src), ("compact", dst)):
        (tmp_path / "boards" / name).mkdir(parents=True)
        out = tmp_path / "boards" / name / "leaderboard.md"  # the same name: the markdown names its CSV files
        report = build(root, out=out, plots=False, bootstrap=True, n_resamples=200)
        assert report.n_files == 4 and report.bootstrapped == 2 and not report.skipped
        boards[name] = out.read_text()
    assert boards["compact"].replace(str(dst), str(src)) == boards["full"]
