"""``harness sweep``: the λ grid, and resuming (a point with a finished adapter and all its results is skipped)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from test_leaderboard_helpers import run_cli


@pytest.mark.parametrize("text,expected", [
    ("0,0.25,0.5,0.75,1", [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("1, 0.5,0.5,", [0.5, 1.0]),
])
def test_parse_lambdas(text, expected):
    from workflows.sweep import parse_lambdas

    assert parse_lambdas(text) == expected


@pytest.mark.parametrize("text,why", [("0,1.5", "must be at most 1"), ("-0.1", "must be at least 0"),
                                      ("a", "must be a number"), (",", "names nothing"), ("nan", "must be a finite number")])
def test_bad_lambdas_are_refused_where_parsed(text, why, capsys):
    from harness.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["sweep", "--lambdas", text])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and f"argument --lambdas: {why}" in err


def test_grid_has_no_noise_at_zero():
    from workflows.sweep import grid

    points = grid([0.0, 0.5, 1.0], noise=True)
    assert [p.label for p in points] == ["ntp λ=0", "concept λ=0.5", "concept λ=1", "noise λ=0.5", "noise λ=1"]
    assert [p.label for p in grid([0.0, 1.0], noise=False)] == ["ntp λ=0", "concept λ=1"]


def plan(tmp_path: Path, *extra: str) -> list[tuple[str, str, str]]:
    """(label, done|to run, adapter folder) per grid point, from ``harness sweep --dry-run``."""
    out = run_cli("sweep", "--lambdas", "0,0.5", "--noise", "--runs-dir", str(tmp_path / "runs"),
                  "--results-dir", str(tmp_path / "results"), "--tasks", "men,simlex999", "--dry-run", *extra,
                  cwd=tmp_path).stdout
    return [(label, state, folder) for label, _, state, folder in plan_rows(out)]


def plan_rows(out: str) -> list[tuple[str, int, str, str]]:
    """(label, training seed, done|to run, adapter folder) per grid point of a sweep's printed plan."""
    rows = re.findall(r"^\s+\d+/\d+ (\S+ λ=\S+)\s+seed (\d+)\s+(done|to run)\s+(\S+)$", out, flags=re.M)
    return [(label, int(seed), state, folder) for label, seed, state, folder in rows]


def fake_finished_adapter(folder: Path) -> None:
    """What a finished training leaves (harness.models reads only these without torch)."""
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "smollm2-135m", "peft_type": "LORA"}))
    (folder / "adapter_model.safetensors").write_bytes(b"not really weights")
    (folder / "harness_train.json").write_text(json.dumps({"method": "concept", "objective": "concept", "lambda": 0.5}))


def write_results(tmp_path: Path, adapter: Path, tasks: list[str], limit: int) -> None:
    """Result files of the adapter, recorded with the options the sweep's defaults and --limit give."""
    from harness.models import describe_spec
    from harness.task import EvalOptions

    info = describe_spec(str(adapter))
    from trainers.profiles import resolve_profile

    task_options = {**cli_task_options(), "heldout_limit": resolve_profile("cpu").heldout_limit,  # train-and-eval's:
                    "corpus": "wiki,lee", "geometry_corpus": "wiki", "geometry_selector": "wordnet"}  # follows training
    recorded = EvalOptions(results_dir=tmp_path / "results", limit=limit, seed=0, task_options=task_options).recorded()
    for task in tasks:
        record = {"schema_version": 1, "task": task, "variant": "", "model": info.to_dict(),
                  "metrics": {"spearman": 0.5}, "main_metric": "spearman", "higher_is_better": {"spearman": True},
                  "options": recorded}
        path = tmp_path / "results" / info.id / f"{task}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))


def cli_task_options() -> dict:
    """The task options the CLI's defaults give (those the registered tasks declare)."""
    import argparse

    from harness.commands.common import add_eval_args, eval_options

    p = argparse.ArgumentParser()
    add_eval_args(p)
    return eval_options(p.parse_args([])).task_options


def test_dry_run_skips_only_complete_points(tmp_path):
    first = plan(tmp_path, "--limit", "7")
    assert [(label, state) for label, state, _ in first] == [
        ("ntp λ=0", "to run"), ("concept λ=0.5", "to run"), ("noise λ=0.5", "to run")]
    assert len({folder for *_, folder in first}) == 3 and all(f.startswith(str(tmp_path / "runs")) for *_, f in first)
    concept = Path(first[1][2])
    fake_finished_adapter(concept)
    assert [s for _, s, _ in plan(tmp_path, "--limit", "7")] == ["to run"] * 3  # trained, not evaluated
    write_results(tmp_path, concept, ["men"], limit=7)
    assert [s for _, s, _ in plan(tmp_path, "--limit", "7")] == ["to run"] * 3  # one task missing
    write_results(tmp_path, concept, ["men", "simlex999"], limit=7)
    assert [s for _, s, _ in plan(tmp_path, "--limit", "7")] == ["to run", "done", "to run"]
    assert [s for _, s, _ in plan(tmp_path, "--limit", "8")] == ["to run"] * 3  # other options: not the same results


def test_bad_lambda_is_one_line_error(tmp_path):
    proc = run_cli("sweep", "--lambdas", "0,2", "--dry-run", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "must be at most 1" in proc.stderr


def test_evaluation_follows_training_and_every_grid_point_gets_the_same_inputs(tmp_path):
    """LM corpora and geometry sets follow the training corpus and selector unless given, and the base
    model and every point of a grid are evaluated with one set of options: identical inputs."""
    from workflows.sweep import grid, point_config
    from harness.task import EvalContext, EvalOptions
    from tasks.geometry_data import settings_of
    from tasks.lm import prepare
    from test_split_leakage import user_file
    from trainers.profiles import resolve_profile
    from trainers.recipe import TrainConfig
    from workflows.train_and_eval import TrainAndEval, eval_options_for

    corpus = str(user_file(tmp_path))
    cli = EvalOptions(results_dir=tmp_path / "results", task_options={**cli_task_options(), "heldout_size": 15})
    base = TrainAndEval(train_corpus=corpus, options=cli)
    configs = [base] + [point_config(base, p, tmp_path / "runs") for p in grid([0, 0.5, 1], noise=True)]
    options = [eval_options_for(c, resolve_profile(c.train.profile)) for c in configs]
    assert all(o == options[0] for o in options[1:])
    chosen = options[0].task_options
    assert chosen["corpus"] == f"{corpus},lee"  # in-domain, then the out-of-domain corpus
    assert (chosen["geometry_corpus"], chosen["geometry_selector"]) == (corpus, "wordnet")
    inputs = [([h.texts for h in prepare(EvalContext(o))], settings_of(EvalContext(o))) for o in options]
    assert all(i == inputs[0] for i in inputs[1:]) and len(inputs[0][0]) == 2
    # defaults: the paper profile trains on c4 (the paper's) -> c4, openwebtext, with its selector; cpu on wiki
    paper = TrainAndEval(train=TrainConfig(profile="paper"), options=cli)
    c4 = eval_options_for(paper, resolve_profile("paper")).task_options
    assert (c4["corpus"], c4["geometry_corpus"], c4["geometry_selector"]) == ("c4,openwebtext", "c4", "llm")
    wiki = eval_options_for(TrainAndEval(options=cli), resolve_profile("cpu")).task_options
    assert (wiki["corpus"], wiki["geometry_corpus"], wiki["geometry_selector"]) == ("wiki,lee", "wiki", "wordnet")
    given = EvalOptions(task_options={**cli_task_options(), "corpus": "lee", "geometry_selector": "embedding"})
    kept = eval_options_for(TrainAndEval(options=given), resolve_profile("cpu")).task_options
    assert (kept["corpus"], kept["geometry_corpus"], kept["geometry_selector"]) == ("lee", "wiki", "embedding")


def test_a_long_name_is_cut_before_its_end():
    from harness.paths import slug, slug_keeping_end

    assert slug_keeping_end("model-concept-lam0.5-all-wiki", "-wordnet-cpu-seed1") == \
        "model-concept-lam0.5-all-wiki-wordnet-cpu-seed1"  # fits: as slug gives it
    heads = ["m-" + "/long/path/to/a/corpus" * 6 + ".txt", "m-" + "/long/path/to/a/corpus" * 6 + "2.txt"]
    names = [slug_keeping_end(h, "-wordnet-cpu-seed12") for h in heads]
    assert slug(heads[0] + "-wordnet-cpu-seed12") == slug(heads[1] + "-wordnet-cpu-seed12")  # slug alone: cut alike
    assert names[0] != names[1] and all(len(n) == 100 and n.endswith("-wordnet-cpu-seed12") for n in names)
    assert names[0].startswith("m--long-path-to-a-corpus-long") and names[0][-28] == "-"  # "-" hash(8) end(19)
