"""``harness sweep --lambdas 0,0.25,0.5,0.75,1 [--noise] [--objective concept,caft,...] [--seeds 0,1,2]
[--launcher submitit]``: train and evaluate a grid, resumably, here or as submitit jobs (:mod:`workflows.launch`).

One base model, one training corpus and selector. The grid is the concept objective at every λ
(λ = 0 is the NTP baseline) and, with ``--noise``, the noise control (random "synonyms",
paper section 5.3) at every λ > 0 (noise at λ = 0 would be NTP again); every other objective named by
``--objective`` (``caft``, ``alternatives``, ...) is one more point with its own settings. Each point is one
:func:`workflows.train_and_eval.train_and_eval` of the sweep's :class:`~workflows.train_and_eval.TrainAndEval`
with the point's λ and noise setting (:func:`point_config`): concept file built once and cached, adapter in
``<runs-dir>/<model>-<method>-lam<λ>-...-seed<seed>``, base model evaluated first when its results are missing,
then the adapter with the same options, so every row carries its paired bootstrap.

Training seeds (``--seeds``, default the one ``--seed``) are one more dimension: every point above is trained
once per seed, each its own adapter folder (``...-seed1``) and so its own model id in the results. Only the
training changes with the seed (LoRA initialisation, data order, the trainer's validation cut): the concept
file, its noise control and the held-out text are drawn with the split seed, and every point is evaluated with
``--seed`` as the evaluation seed (:func:`workflows.train_and_eval.evaluation_seed`), as the base model is, so
the base is evaluated once and the seeds differ in their training alone. A grid with more seeds for some
points than for others is several invocations (``--lambdas 0,0.25 --seeds 0,1,2`` after the full λ grid at
seed 0): each skips the points an earlier one finished.

Resumable: a point whose adapter folder holds a finished run and whose results exist for
every selected task, under the same evaluation options, is skipped; an interrupted run
resumes from its last checkpoint. The leaderboard is rebuilt after every finished point, so
a long sweep publishes as it goes. The training corpus flag is ``--train-corpus`` (as in
``harness train-and-eval``): ``--corpus`` names the evaluation corpora of the LM tasks, by default
the training corpus and its out-of-domain partner; the geometry tasks use held-out concept sets of
the training corpus built by the training selector. Every point and the base model get the same
evaluation options, hence identical inputs.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

from harness.config import MAX_SEED, Check, NAMES, nested, option
from harness.errors import UserError
from trainers.objectives import method_name
from workflows.launch import Job, LaunchSettings
from workflows.train_and_eval import TrainAndEval

GRID_FIELDS = ("lam", "randomize", "out", "leaderboard", "resume", "objective")  # set per point, not flags


@dataclass
class Sweep:
    """The sweep's own settings; each point is the sweep's :class:`TrainAndEval` with its grid values."""

    lambdas: str = option("0,0.25,0.5,0.75,1", check=Check(items=float, ge=0, le=1),
                          help="comma-separated λ values in [0, 1] (default 0,0.25,0.5,0.75,1)")
    objectives: str = option("concept", flag="--objective", check=NAMES,
                             help="comma-separated objectives (see harness list): the concept objective at every λ, "
                                  "each other one once")
    noise: bool = option(False, help="also train the noise control at every λ > 0")
    seeds: str | None = option(None, check=Check(items=int, ge=0, le=MAX_SEED),
                               help="comma-separated training seeds, each point trained once per seed (default: "
                                    "--seed's one); --seed stays the evaluation seed of every point")
    runs_dir: Path = option(Path("runs"), type=Path, help="where the adapter folders go (default: runs/)")
    leaderboard: Path = option(Path("leaderboard.md"), type=Path,
                               help="leaderboard markdown to rebuild (default: leaderboard.md)")
    no_plots: bool = option(False, help="rebuild the leaderboard without plots")
    dry_run: bool = option(False, help="print the grid, what would be skipped, the judge, the sample rule and every "
                                       "training setting with its source; train nothing")
    launch: LaunchSettings = nested(LaunchSettings)
    point: TrainAndEval = field(default_factory=TrainAndEval)  # what every point starts from


def add_parser(sub) -> None:
    from harness.commands.common import add_eval_args
    from harness.config import add_arguments

    p = sub.add_parser("sweep", help="train and evaluate a grid (λ × concept/noise, other objectives) on one base "
                                     "model, here or as submitit jobs")
    add_arguments(p, Sweep)
    add_arguments(p, TrainAndEval, exclude=GRID_FIELDS)
    add_eval_args(p)
    p.set_defaults(func=run)


def parse_lambdas(text: str) -> list[float]:
    """The distinct λ of ``--lambdas`` (checked where the flag is parsed, :class:`Sweep`), ascending."""
    return sorted({float(part) for part in text.split(",") if part.strip()})


def parse_seeds(text: str | None, default: int) -> list[int]:
    """The distinct training seeds of ``--seeds`` (checked where the flag is parsed), ascending; ``default``
    (``--seed``) alone when it is not given."""
    if text is None:
        return [default]
    return sorted({int(part) for part in text.split(",") if part.strip()})


@dataclass(frozen=True)
class GridPoint:
    lam: float
    randomize: bool  # the noise control
    objective: str = "concept"
    seed: int = 0  # the training seed

    @property
    def label(self) -> str:
        """The point's method and λ (its seed aside)."""
        if self.objective != "concept":
            return self.objective
        return f"{method_name(self.objective, self.lam, self.randomize)} λ={self.lam:g}"

    @property
    def name(self) -> str:
        """The label and the seed: what names the point's job."""
        return f"{self.label} seed {self.seed}"


def grid(lambdas: list[float], noise: bool, objectives: Sequence[str] = ("concept",),
         seeds: Sequence[int] = (0,)) -> list[GridPoint]:
    """For an objective that reads λ (concept): every λ (λ = 0: NTP), then noise at every λ > 0; every other
    objective once (λ is not its setting: recorded as 0). Each of these once per training seed, the seeds of a
    point together, in the order given."""
    from trainers.objectives import OBJECTIVES

    points = []
    for name in objectives:
        if not OBJECTIVES.get(name).reads_lambda:
            points.append(GridPoint(0.0, False, name))
            continue
        points += [GridPoint(lam, False, name) for lam in lambdas]
        if noise:
            points += [GridPoint(lam, True, name) for lam in lambdas if lam > 0]
    return [replace(point, seed=seed) for point in points for seed in seeds]


def parse_objectives(text: str) -> list[str]:
    from harness.registry import parse_names
    from trainers.objectives import OBJECTIVES

    if text.strip() == "all":
        raise UserError("--objective all: name the objectives of the sweep (see harness list)")
    return list(dict.fromkeys(parse_names(text, OBJECTIVES)))


def point_config(base: TrainAndEval, point: GridPoint, runs_dir: Path) -> TrainAndEval:
    """The :class:`~workflows.train_and_eval.TrainAndEval` of one grid point (its objective, λ, noise setting and
    training seed), with its adapter folder under ``runs_dir``; evaluated with ``base``'s evaluation seed, whatever
    the point's training seed."""
    from workflows.train_and_eval import default_out, evaluation_seed, training_setup

    train = replace(base.train, objective=point.objective, settings=replace(base.train.settings, lam=point.lam),
                    seed=point.seed)
    cfg = replace(base, train=train, randomize=point.randomize, leaderboard=False, eval_seed=evaluation_seed(base))
    corpus, selector = training_setup(cfg, hyper_of(cfg))
    out = Path(runs_dir) / default_out(cfg, selector, corpus).name
    return replace(cfg, train=replace(train, out=out))


def hyper_of(cfg: TrainAndEval):
    from trainers.profiles import resolve_profile

    return resolve_profile(cfg.train.profile, cfg.train.overrides)


def is_done(cfg: TrainAndEval) -> bool:
    """A finished adapter folder whose results exist for every selected task under the same options."""
    from harness.models import TRAIN_CONFIG_FILE, describe_spec
    from harness.runner import select_tasks
    from workflows.base_results import missing_base_tasks
    from workflows.train_and_eval import eval_options_for

    if not (Path(cfg.train.out) / TRAIN_CONFIG_FILE).is_file():
        return False
    info = describe_spec(str(cfg.train.out))
    options = eval_options_for(cfg, hyper_of(cfg))
    # the adapter's results are checked like the base's: same task files, same recorded options
    return not missing_base_tasks(info, select_tasks(cfg.tasks, describe_spec(cfg.train.model)), options)


def run(args: argparse.Namespace) -> int:
    from harness.commands.common import eval_options
    from harness.config import from_args

    sweep = from_args(Sweep, args, point=from_args(TrainAndEval, args, exclude=GRID_FIELDS,
                                                   options=eval_options(args)))
    from workflows.train_and_eval import evaluation_seed

    seeds = parse_seeds(sweep.seeds, sweep.point.train.seed)
    points = grid(parse_lambdas(sweep.lambdas), sweep.noise, parse_objectives(sweep.objectives), seeds)
    configs = [point_config(sweep.point, p, sweep.runs_dir) for p in points]
    done = [is_done(c) for c in configs]
    print(f"sweep of {len(points)} runs on {sweep.point.train.model} (training seeds {','.join(map(str, seeds))}, "
          f"evaluation seed {evaluation_seed(sweep.point)}): {sum(done)} already done")
    for i, (point, cfg, finished) in enumerate(zip(points, configs, done), 1):
        print(f"  {i}/{len(points)} {point.label:<14} seed {point.seed:<3} {'done' if finished else 'to run'}  "
              f"{cfg.train.out}")
    if sweep.dry_run:
        import sys

        from workflows.plan import print_plan

        print_plan(sweep.point, sys.stdout, sweep=True)
        return 0
    from harness.outputs import check_output_folder
    from leaderboard.build import output_paths

    check_output_folder(sweep.point.options.results_dir, "--results-dir")  # before hours of training, not after
    check_output_folder(sweep.runs_dir, "--runs-dir")
    from workflows.train_and_eval import check_judge

    check_judge(sweep.point, hyper_of(sweep.point))  # every point trains on the same concept file
    output_paths(sweep.leaderboard)
    jobs = [Job(p.name, c) for p, c, finished in zip(points, configs, done) if not finished]
    if sweep.launch.launcher == "submitit":
        from workflows.launch import run_submitit

        run_submitit(jobs, sweep.launch, Path(sweep.runs_dir) / "submitit", base_first=base_missing(sweep.point),
                     done=lambda: _rebuild(sweep))
    else:
        from workflows.launch import run_local

        run_local(jobs, done=lambda: _rebuild(sweep))
    _rebuild(sweep)
    return 0


def base_missing(cfg: TrainAndEval) -> bool:
    """Whether the base model lacks a result the points will compare against (the first job then evaluates it)."""
    from harness.models import describe_spec
    from harness.runner import select_tasks
    from workflows.base_results import missing_base_tasks
    from workflows.train_and_eval import eval_options_for

    info = describe_spec(cfg.train.model)
    return bool(missing_base_tasks(info, select_tasks(cfg.tasks, info), eval_options_for(cfg, hyper_of(cfg))))


def _rebuild(sweep: Sweep) -> None:
    from leaderboard.build import rebuild

    rebuild(Path(sweep.point.options.results_dir), sweep.leaderboard, plots=not sweep.no_plots)
