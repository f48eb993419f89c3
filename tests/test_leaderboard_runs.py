"""The leaderboard's Runs section: sequence-updates and wall times per model, from summaries written here."""

from __future__ import annotations

from pathlib import Path

from harness.results import ResultModel
from leaderboard.reader import Summary
from leaderboard.runs_table import render_runs, run_rows


def summary(model: ResultModel, task: str, wall: float, commit: str = "abcdef0123") -> Summary:
    return Summary(path=Path(f"{model.id}/{task}.json"), task=task, variant="", model=model, metrics={"m": 0.5},
                   main_metric="m", higher_is_better={"m": True}, family="", wall_time_s=wall, git_commit=commit)


BASE = ResultModel(id="base-1", name="base", spec="smollm2-135m", kind="causal_lm")
TRAINING = {"method": "concept", "objective": "concept", "lambda": 0.25, "lambda_scope": "all", "corpus": "wiki",
            "seed": 1, "steps": 500, "epochs_done": 2.0, "train_sequences": 2000, "world_size": 1,
            "wall_time_s": 1800.0, "git_commit": "1234567890",
            "hyperparameters": {"batch_size": 8, "grad_accum": 1}}
ADAPTER = ResultModel(id="concept-1", name="concept", spec="runs/c", kind="adapter", base="smollm2-135m",
                      base_id="base-1", training=TRAINING)


def test_rows_count_sequence_updates_and_sum_wall_times():
    rows = run_rows([summary(BASE, "men", 30.0), summary(BASE, "stsb", 90.0),
                     summary(ADAPTER, "men", 60.0, "fedcba9876"), summary(ADAPTER, "stsb", 120.0, "fedcba9876")])
    base, adapter, total = rows
    assert base[:2] == ("Base", "—") and base[5] == "—" and base[7] == "2.0" and base[9] == "abcdef0"
    # 500 steps × batch 8 × accumulation 1 × 1 process; 1,800 s of training; 180 s of evaluation
    assert adapter[1:8] == ("1", "2000", "2", "500", "4,000", "30.0", "3.0")
    assert adapter[8:] == ("1234567", "fedcba9")
    assert total[0] == "Total" and total[6] == "30.0" and total[7] == "5.0"


def test_two_processes_with_accumulation_count_every_sequence():
    training = {**TRAINING, "world_size": 2, "hyperparameters": {"batch_size": 4, "grad_accum": 3}}
    model = ResultModel(**{**ADAPTER.__dict__, "training": training})
    (row, _total) = run_rows([summary(model, "men", 1.0)])
    assert row[5] == f"{500 * 4 * 3 * 2:,}"


def test_the_section_is_a_markdown_table_and_empty_without_results():
    lines = render_runs([summary(BASE, "men", 6.0)])
    assert lines[0] == "## Runs" and lines[4].startswith("| Model | Seed |")
    assert lines[4].count("|") == lines[5].count("|") == lines[6].count("|")
    assert render_runs([]) == []
