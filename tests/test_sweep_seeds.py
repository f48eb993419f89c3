"""``harness sweep --seeds``: training seeds as a grid dimension. Each seed is its own point (adapter folder,
model id, recorded training seed); the concept file, its noise control, the held-out text and the evaluation
options are the same for every seed; a later invocation with more seeds skips the points already done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_leaderboard_helpers import run_cli
from test_sweep import cli_task_options, fake_finished_adapter, plan_rows, write_results

TASKS = ["men", "simlex999"]


def sweep_plan(tmp_path: Path, *flags: str) -> tuple[str, list[tuple[str, int, str, str]]]:
    out = run_cli("sweep", "--runs-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results"),
                  "--tasks", ",".join(TASKS), "--limit", "7", "--dry-run", *flags, cwd=tmp_path).stdout
    return out, plan_rows(out)


def test_grid_is_every_point_once_per_seed_in_order():
    from workflows.sweep import grid

    points = grid([0.0, 0.5], noise=True, seeds=[0, 2])
    assert [(p.label, p.seed) for p in points] == [
        ("ntp λ=0", 0), ("ntp λ=0", 2), ("concept λ=0.5", 0), ("concept λ=0.5", 2),
        ("noise λ=0.5", 0), ("noise λ=0.5", 2)]
    assert [p.name for p in points[:2]] == ["ntp λ=0 seed 0", "ntp λ=0 seed 2"]
    assert [(p.label, p.seed) for p in grid([1.0], noise=False)] == [("concept λ=1", 0)]  # no seeds: seed 0


@pytest.mark.parametrize("text,default,expected", [(None, 0, [0]), (None, 5, [5]), ("2,0,1", 0, [0, 1, 2]),
                                                   ("1, 1,3,", 9, [1, 3])])
def test_parse_seeds(text, default, expected):
    from workflows.sweep import parse_seeds

    assert parse_seeds(text, default) == expected


@pytest.mark.parametrize("text,why", [("0,-1", "must be at least 0"), ("0,1.5", "must be an integer"),
                                      (",", "names nothing"), ("4294967296", "must be at most 4294967295")])
def test_bad_seeds_are_refused_in_one_line(text, why, capsys):
    from harness.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["sweep", "--seeds", text])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and f"argument --seeds: {why}" in err


def test_folder_names_carry_the_seed_and_no_flag_is_seed_0(tmp_path):
    _, default = sweep_plan(tmp_path, "--lambdas", "0.25")
    name = "smollm2-135m-concept-lam0.25-all-wiki-wordnet-cpu-seed0"  # as before seeds were a dimension
    assert default == [("concept λ=0.25", 0, "to run", str(tmp_path / "runs" / name))]
    _, seeded = sweep_plan(tmp_path, "--lambdas", "0.25", "--seeds", "0,1,2")
    assert [(seed, Path(folder).name) for _, seed, _, folder in seeded] == [
        (0, name), (1, name.replace("-seed0", "-seed1")), (2, name.replace("-seed0", "-seed2"))]


def test_a_later_invocation_with_more_seeds_skips_the_points_done(tmp_path):
    """The planned grid: all five λ at seed 0, then λ = 0 and 0.25 at seeds 0, 1, 2: the second invocation
    finds the seed-0 points of the first done and plans only the new seeds."""
    _, first = sweep_plan(tmp_path, "--lambdas", "0,0.25,0.5,0.75,1")
    assert [seed for _, seed, _, _ in first] == [0] * 5 and {state for *_, state, _ in first} == {"to run"}
    for *_, folder in first:  # what the first invocation leaves behind
        fake_finished_adapter(Path(folder))
        write_results(tmp_path, Path(folder), TASKS, limit=7)
    _, again = sweep_plan(tmp_path, "--lambdas", "0,0.5,0.75,1,0.25")
    assert {state for *_, state, _ in again} == {"done"}
    out, second = sweep_plan(tmp_path, "--lambdas", "0,0.25", "--seeds", "0,1,2")
    assert [(label, seed, state) for label, seed, state, _ in second] == [
        ("ntp λ=0", 0, "done"), ("ntp λ=0", 1, "to run"), ("ntp λ=0", 2, "to run"),
        ("concept λ=0.25", 0, "done"), ("concept λ=0.25", 1, "to run"), ("concept λ=0.25", 2, "to run")]
    assert [second[0][3], second[3][3]] == [first[0][3], first[1][3]]  # the very folders of the first invocation
    assert "sweep of 6 runs on smollm2-135m (training seeds 0,1,2, evaluation seed 0): 2 already done" in out


def test_seed_is_the_evaluation_seed_and_seeds_the_training_seeds(tmp_path):
    """``--seed`` with ``--seeds``: every point trains with its own seed and is evaluated with ``--seed``'s."""
    out, rows = sweep_plan(tmp_path, "--lambdas", "0", "--seed", "3", "--seeds", "0,1")
    assert [(seed, folder.endswith(f"-seed{seed}")) for _, seed, _, folder in rows] == [(0, True), (1, True)]
    assert "(training seeds 0,1, evaluation seed 3)" in out and "evaluation seed 3;" in out
    _, alone = sweep_plan(tmp_path, "--lambdas", "0", "--seed", "3")  # --seed alone: as before, seed 3 both
    assert [(seed, Path(folder).name.endswith("-seed3")) for _, seed, _, folder in alone] == [(3, True)]


def seed_points(tmp_path: Path, seeds=(0, 1), noise: bool = False, **train):
    """The sweep's configs of λ = 0.5 (``noise``: of its noise control) at ``seeds``, on a small corpus file."""
    from harness.task import EvalOptions
    from test_split_leakage import user_file
    from trainers.recipe import TrainConfig
    from workflows.sweep import grid, point_config
    from workflows.train_and_eval import TrainAndEval

    options = EvalOptions(results_dir=tmp_path / "results",
                          task_options={**cli_task_options(), "heldout_size": 15, "split_seed": 5})
    base = TrainAndEval(train=TrainConfig(**train), train_corpus=str(user_file(tmp_path)), options=options)
    return [point_config(base, p, tmp_path / "runs") for p in grid([0.5], noise=noise, seeds=seeds)
            if p.randomize == noise]


def test_every_seed_is_evaluated_alike_on_the_same_heldout_text(tmp_path):
    from harness.task import EvalContext
    from tasks.lm import prepare
    from trainers.profiles import resolve_profile
    from workflows.train_and_eval import eval_options_for

    a, b = seed_points(tmp_path, seeds=(0, 1))
    assert (a.train.seed, b.train.seed) == (0, 1)
    # the corpus is a long path: the name is cut, but before the seed, so the two seeds get two folders
    assert [a.train.out.name[-6:], b.train.out.name[-6:]] == ["-seed0", "-seed1"]
    assert len(a.train.out.name) <= 100 and a.train.out.name[:-1] == b.train.out.name[:-1]
    options = [eval_options_for(c, resolve_profile("cpu")) for c in (a, b)]
    assert options[0] == options[1] and options[0].seed == 0  # the evaluation seed is the sweep's, not the point's
    texts = [[h.texts for h in prepare(EvalContext(o))] for o in options]
    assert texts[0] == texts[1] and len(texts[0]) == 2 and all(texts[0])
    c, d = seed_points(tmp_path, seeds=(1, 2), seed=4)  # the sweep's --seed 4 evaluates every training seed
    assert {eval_options_for(x, resolve_profile("cpu")).seed for x in (c, d)} == {4}


def test_every_seed_trains_on_the_same_concept_file_and_noise_file(tmp_path, smollm2_tokenizer, monkeypatch):
    """The concept file's cache key does not hold the training seed, and the noise control is drawn with the
    split seed (5 here), so seeds 1 and 2 share both files; seed 0 is not special."""
    import concepts.concept_cache as concept_cache
    from concepts.concept_file import read_header
    from concepts.randomize import randomize_file
    from trainer_fixtures import write_concept_file
    from trainers.profiles import resolve_profile
    from workflows.train_and_eval import build_settings, concept_file_for, eval_options_for, training_setup

    built = write_concept_file(tmp_path / "cache" / "built.jsonl", smollm2_tokenizer, n_seq=4)
    asked = []
    monkeypatch.setattr(concept_cache, "cached_concept_file",
                        lambda *args, **kwargs: asked.append((args, kwargs)) or built)

    def files(cfg) -> Path:
        hyper = resolve_profile(cfg.train.profile)
        corpus, selector = training_setup(cfg, hyper)
        settings = build_settings(cfg, hyper, selector, eval_options_for(cfg, hyper))
        return concept_file_for(cfg, selector, corpus, settings)

    concept = seed_points(tmp_path, seeds=(1, 2))
    assert [files(c) for c in concept] == [built, built] and asked[0] == asked[1]
    assert asked[0][1]["split_seed"] == 5 and "seed" not in asked[0][1]
    noise = seed_points(tmp_path, seeds=(2, 1), noise=True)
    first = files(noise[0])
    assert first == built.with_name("built.noise-v2-seed5.jsonl") and files(noise[1]) == first
    assert read_header(first).raw["randomized"]["seed"] == 5
    expected = randomize_file(built, tmp_path / "by_hand.jsonl", 5)  # the split seed's draw
    assert sets_of(first) == [t.set_ids for _, t in expected.targets()] != sets_of(built)


def sets_of(path: Path) -> list[list[int]]:
    from concepts.concept_file import load_concept_file

    return [t.set_ids for _, t in load_concept_file(path).targets()]


def test_submitit_gets_one_job_per_point_and_seed(tmp_path, monkeypatch):
    import workflows.launch as launch
    import workflows.sweep as sweep
    from harness.cli import main

    submitted = []
    monkeypatch.setattr(launch, "run_submitit", lambda jobs, *a, **k: submitted.extend(jobs))
    monkeypatch.setattr(sweep, "_rebuild", lambda s: None)
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--lambdas", "0,0.5", "--seeds", "0,1", "--launcher", "submitit", "--tasks", "men",
                 "--runs-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results")]) == 0
    assert [job.label for job in submitted] == ["ntp λ=0 seed 0", "ntp λ=0 seed 1", "concept λ=0.5 seed 0",
                                                "concept λ=0.5 seed 1"]
    assert [job.config.train.seed for job in submitted] == [0, 1, 0, 1]
    assert len({job.config.train.out for job in submitted}) == 4
    assert {job.config.eval_seed for job in submitted} == {0}


def test_the_result_names_and_records_the_training_seed(tmp_path):
    """A seed-1 adapter's id and display name carry the seed (from its folder name), and its results' model
    block carries the trainer's record, seed included (harness_train.json, :func:`trainers.recipe.train_record`)."""
    from harness.models import describe_spec
    from harness.results import ResultModel
    from leaderboard.table import display_name

    folders = [tmp_path / "runs" / f"smollm2-135m-concept-lam0.5-all-wiki-wordnet-cpu-seed{s}" for s in (0, 1)]
    for seed, folder in enumerate(folders):
        fake_finished_adapter(folder)
        record = json.loads((folder / "harness_train.json").read_text())
        (folder / "harness_train.json").write_text(json.dumps({**record, "seed": seed}))
    infos = [describe_spec(str(f)) for f in folders]
    assert infos[0].id != infos[1].id and infos[1].id.startswith(folders[1].name + "-")
    model = ResultModel.from_dict(infos[1].to_dict())
    assert model.training["seed"] == 1 and display_name(model).endswith("-seed1")

