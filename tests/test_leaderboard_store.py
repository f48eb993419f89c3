"""``harness leaderboard add``: importing result files (validated, history kept, concurrent-safe)
and evaluating an external checkpoint next to the base model."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_leaderboard_helpers import ROOT, model_block, run_cli, trained, write_file

BASE = model_block("tiny-base-00000001", "tiny-base", kind="causal_lm")


def concept(i: int) -> dict:
    return model_block(f"concept-{i:08d}", f"tiny-concept-{i}", training=trained("concept", i / 8))


def md_models(markdown: str) -> list[str]:
    """The Model column of the first table of all results (after the paper tables)."""
    lines = markdown.splitlines()
    after = next((i for i, line in enumerate(lines) if line.startswith("## All results")), 0)
    start = next(i for i, line in enumerate(lines) if i > after and line.startswith("| "))
    rows = [line for line in itertools.takewhile(lambda line: line.startswith("|"), lines[start:]) if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    k = header.index("Model")
    return [[c.strip() for c in r.strip("|").split("|")][k] for r in rows[1:]]


def test_import_then_reimport_keeps_history(tmp_path):
    src, results = tmp_path / "src", tmp_path / "results"
    write_file(src, BASE, "men", 0.30)
    write_file(src, concept(1), "men", 0.41)
    run_cli("leaderboard", "add", "--results", str(src), "--results-dir", str(results), "--out", str(tmp_path / "lb.md"),
            "--no-plots")
    target = results / concept(1)["id"] / "men.json"
    assert json.loads(target.read_text()) == json.loads((src / concept(1)["id"] / "men.json").read_text())
    assert md_models((tmp_path / "lb.md").read_text()) == ["tiny-base", "tiny-concept-1"]
    # the same model and configuration again, with a new value: replaces the row, keeps the old file
    write_file(src, concept(1), "men", 0.47)
    run_cli("leaderboard", "add", "--results", str(src / concept(1)["id"]), "--results-dir", str(results),
            "--out", str(tmp_path / "lb.md"), "--no-plots")
    assert json.loads(target.read_text())["metrics"]["spearman"] == 0.47
    history = list((target.parent / "history").glob("*.json"))
    assert [json.loads(h.read_text())["metrics"]["spearman"] for h in history] == [0.41]
    assert "0.4700" in (tmp_path / "lb.md").read_text() and "0.4100" not in (tmp_path / "lb.md").read_text()


def test_name_overrides_the_display_name(tmp_path):
    src, results = tmp_path / "src", tmp_path / "results"
    write_file(src, concept(2), "men", 0.41)
    run_cli("leaderboard", "add", "--results", str(src), "--name", "My concept run", "--results-dir", str(results),
            "--out", str(tmp_path / "lb.md"), "--no-plots")
    record = json.loads((results / concept(2)["id"] / "men.json").read_text())
    assert record["model"]["display_name"] == "My concept run"
    assert md_models((tmp_path / "lb.md").read_text()) == ["My concept run"]
    assert json.loads((src / concept(2)["id"] / "men.json").read_text())["model"].get("display_name") is None


@pytest.mark.parametrize("breakage", ["not json", "no metrics", "unsafe id"])
def test_invalid_import_writes_nothing(tmp_path, breakage):
    src, results = tmp_path / "src", tmp_path / "results"
    write_file(src, concept(3), "men", 0.41)
    bad = write_file(src, concept(4), "men", 0.42)
    record = json.loads(bad.read_text())
    if breakage == "not json":
        bad.write_text(bad.read_text()[:50])
    elif breakage == "no metrics":
        del record["metrics"]
        bad.write_text(json.dumps(record))
    else:
        record["model"]["id"] = "../../escaped"
        bad.write_text(json.dumps(record))
    proc = run_cli("leaderboard", "add", "--results", str(src), "--results-dir", str(results),
                   "--out", str(tmp_path / "lb.md"), check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and str(bad) in proc.stderr
    assert not list(results.rglob("*.json")) and not (tmp_path / "lb.md").exists()
    assert not (tmp_path / "escaped").exists()


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_eight_concurrent_adds_lose_nothing(tmp_path):
    results = tmp_path / "results"
    write_file(results, BASE, "men", 0.30)
    procs = []
    for i in range(8):
        src = tmp_path / f"src{i}"
        write_file(src, concept(i), "men", 0.31 + i / 100)
        write_file(src, concept(i), "simlex999", 0.11 + i / 100)
        procs.append(_spawn(["leaderboard", "add", "--results", str(src), "--results-dir", str(results),
                             "--out", str(tmp_path / "lb.md"), "--no-plots"], tmp_path))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    for i in range(8):
        for task, value in (("men", 0.31 + i / 100), ("simlex999", 0.11 + i / 100)):
            assert json.loads((results / concept(i)["id"] / f"{task}.json").read_text())["metrics"]["spearman"] == value
    assert md_models((tmp_path / "lb.md").read_text()) == ["tiny-base"] + [f"tiny-concept-{i}" for i in range(8)]
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "lb.csv")) == 9


def test_eight_concurrent_adds_of_one_model_keep_every_version(tmp_path):
    results = tmp_path / "results"
    values = [0.5 + i / 100 for i in range(8)]
    procs = []
    for i, v in enumerate(values):
        src = tmp_path / f"src{i}"
        write_file(src, concept(0), "men", v)
        procs.append(_spawn(["leaderboard", "add", "--results", str(src), "--results-dir", str(results),
                             "--out", str(tmp_path / "lb.md"), "--no-plots"], tmp_path))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    folder = results / concept(0)["id"]
    current = json.loads((folder / "men.json").read_text())["metrics"]["spearman"]
    kept = [json.loads(h.read_text())["metrics"]["spearman"] for h in (folder / "history").glob("*.json")]
    assert sorted(kept + [current]) == values  # one current, seven in history, none lost
    assert f"{current:.4f}" in (tmp_path / "lb.md").read_text()


def test_leaderboard_tasks_follow_the_base_rows_options(tmp_path):
    from leaderboard.store import leaderboard_tasks

    results = tmp_path / "results"
    write_file(results, BASE, "men", 0.3)
    write_file(results, BASE, "simlex999", 0.1)
    other = write_file(results, BASE, "stsb", 0.5)
    record = json.loads(other.read_text())
    record["options"]["split"] = "dev"
    other.write_text(json.dumps(record))
    write_file(results, concept(1), "wordsim353", 0.4)  # not a base row: not a leaderboard task
    plan = leaderboard_tasks(results)
    assert [(opts["split"], opts["limit"], names) for opts, names in plan] == [
        ("dev", 5, ["stsb"]), ("test", 5, ["men", "simlex999"])]


def test_add_model_without_base_rows_is_a_user_error(tmp_path):
    proc = run_cli("leaderboard", "add", "--model", "all-minilm-l6-v2", "--results-dir", str(tmp_path / "r"),
                   "--out", str(tmp_path / "lb.md"), check=False)
    assert proc.returncode == 2 and "no base model results" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.slow
def test_add_encoder_next_to_the_embedded_default(tmp_path, smollm2):
    """The real default's similarity rows (30 items each), then the real encoder added beside them."""
    from harness.runner import evaluate
    from harness.task import EvalOptions
    from leaderboard.build import build
    from workflows.add_model import add_model

    results = tmp_path / "results"
    tasks = "men,wordsim353,simlex999,stsb"
    evaluate("smollm2-135m", tasks, EvalOptions(results_dir=results, limit=30), lm=smollm2)
    paths = add_model("all-minilm-l6-v2", results, name="MiniLM-L6 (external)")
    assert sorted(p.stem for p in paths) == sorted(tasks.split(","))
    for p in paths:
        record = json.loads(p.read_text())
        assert record["model"]["kind"] == "encoder" and record["model"]["role"] == "external"
        assert record["options"]["limit"] == 30 and len(record["items"]["ids"]) == 30  # same options as the base
    build(results, tmp_path / "lb.md")
    text = (tmp_path / "lb.md").read_text()
    assert md_models(text) == ["smollm2-135m", "MiniLM-L6 (external)"]
    assert "| External | External | — | MiniLM-L6 (external) |" in text
    assert (tmp_path / "lb_plots" / "semantic-similarity.png").is_file()
