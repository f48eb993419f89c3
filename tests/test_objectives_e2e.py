"""End to end on the embedded default (SmolLM2-135M), CI-sized: a local sweep trains every objective (a couple
of LoRA steps on a small WordNet concept file) and evaluates it, and the leaderboard holds a row per objective
beside NTP and concept; the same 2-point grid through ``--launcher submitit`` (its local executor: a process
per job) completes, resumes without redoing a finished point, and gives the adapters and results of the local
launcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main as cli_main

pytestmark = pytest.mark.slow

NEW = ("caft", "caft-joint", "alternatives", "weighted-ce", "synonym-augment")
SMALL = ("--concept-sequences", "8", "--max-steps", "2", "--batch-size", "2", "--max-length", "48",
         "--val-fraction", "0", "--tasks", "wordsim353", "--limit", "24", "--bootstrap-resamples", "50",
         "--no-plots", "--no-progress")


def sweep(root: Path, *flags: str) -> None:
    code = cli_main(["sweep", "--runs-dir", str(root / "runs"), "--results-dir", str(root / "results"),
                     "--leaderboard", str(root / "leaderboard.md"), *SMALL, *flags])
    assert code == 0


def run_of(root: Path, method: str) -> Path:
    """The run folder of ``method`` (by its record: ``*-caft-*`` would also match a caft-joint folder)."""
    return next(p.parent for p in sorted((root / "runs").glob("*/harness_train.json"))
                if json.loads(p.read_text())["method"] == method)


def results_by_point(root: Path) -> dict[tuple[str, float], tuple[dict, bytes]]:
    """(method, λ) -> (wordsim353 metrics, adapter weights) of every trained point (adapter folders are named
    alike by both launchers)."""
    out = {}
    for path in (root / "results").glob("*/wordsim353.json"):
        record = json.loads(path.read_text())
        training = record["model"].get("training")
        if training:
            adapter = run_of(root, training["method"])
            out[(training["method"], training["lambda"])] = (record["metrics"],
                                                            (adapter / "adapter_model.safetensors").read_bytes())
    return out


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("local")
    sweep(root, "--lambdas", "0,0.25", "--objective", ",".join(("concept",) + NEW))
    return root


def test_every_objective_gets_a_leaderboard_row_beside_ntp_and_concept(local):
    board = (local / "leaderboard.md").read_text()
    for label in ("Base", "NTP", "Concept", *NEW):
        assert f"| {label} |" in board, (label, board)
    trained = results_by_point(local)
    assert {method for method, _ in trained} == {"ntp", "concept", *NEW}
    for method in NEW:
        record = json.loads((run_of(local, method) / "harness_train.json").read_text())
        assert record["objective"] == method and record["steps"] == 2
    assert (run_of(local, "caft-joint") / "objective_heads.safetensors").is_file()
    caft = json.loads((run_of(local, "caft") / "harness_train.json").read_text())
    assert Path(caft["objective_heads"]["cache_file"]).is_file() and caft["objective_heads"]["heads"] == 4


def test_submitit_sweep_completes_resumes_and_equals_the_local_one(local, tmp_path, capsys):
    sweep(tmp_path, "--lambdas", "0", "--launcher", "submitit")
    assert capsys.readouterr().out.count("  job ") == 1
    first = next((tmp_path / "runs").glob("*-ntp-*/adapter_model.safetensors"))
    stamp = first.stat().st_mtime_ns
    sweep(tmp_path, "--lambdas", "0,0.25", "--launcher", "submitit")  # the λ = 0 point is done: one job only
    printed = capsys.readouterr().out
    assert "sweep of 2 runs on smollm2-135m (training seeds 0, evaluation seed 0): 1 already done" in printed
    assert printed.count("  job ") == 1
    assert first.stat().st_mtime_ns == stamp
    sweep(tmp_path, "--lambdas", "0,0.25", "--launcher", "submitit")
    assert "2 already done" in capsys.readouterr().out
    remote, here = results_by_point(tmp_path), results_by_point(local)
    assert set(remote) == {("ntp", 0.0), ("concept", 0.25)}
    for point, (metrics, weights) in remote.items():
        assert metrics == here[point][0] and weights == here[point][1], point
