"""``harness sweep --lambdas 0,0.25,0.5,0.75,1 [--noise]``: train and evaluate a λ grid, resumably.

One base model, one training corpus and selector. The grid is the concept objective at every λ
(λ = 0 is the NTP baseline) and, with ``--noise``, the noise control (random "synonyms",
paper section 5.3) at every λ > 0 (noise at λ = 0 would be NTP again). Each point is one
:func:`trainers.pipeline.train_and_eval` (concept file built once and cached, adapter in
``<runs-dir>/<model>-<method>-lam<λ>-...``, base model evaluated first when its results are
missing, then the adapter with the same options, so every row carries its paired bootstrap).

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
from dataclasses import dataclass
from pathlib import Path


def add_parser(sub) -> None:
    from harness.commands.common import add_eval_args
    from harness.commands.train import HYPER_FLAGS

    p = sub.add_parser("sweep", help="train and evaluate a λ grid (concept, optionally noise) on one base model")
    p.add_argument("--lambdas", default="0,0.25,0.5,0.75,1", help="comma-separated λ values in [0, 1] (default 0,0.25,0.5,0.75,1)")
    p.add_argument("--noise", action="store_true", help="also train the noise control at every λ > 0")
    p.add_argument("--model", default="smollm2-135m", help="base model spec (default: the embedded smollm2-135m)")
    p.add_argument("--train-corpus", default=None, help="training corpus (default: wiki)")
    p.add_argument("--selector", default=None, help="synonym selector (default: the profile's)")
    p.add_argument("--concepts", default=None, help="use this concept file instead of building one")
    p.add_argument("--concept-sequences", type=int, default=None, help="sequences in the concept file (default: the profile's)")
    p.add_argument("--objective", default="concept", help="training objective for the grid (default: concept)")
    p.add_argument("--lambda-scope", choices=("all", "content"), default="all", help="as for harness train")
    p.add_argument("--mass-threshold", type=float, default=0.6, help="as for harness train")
    p.add_argument("--profile", choices=("cpu", "paper"), default="cpu", help="hyperparameter profile (default: cpu)")
    for flag, _, typ, help_ in HYPER_FLAGS:
        p.add_argument(flag, type=typ, default=None, help=f"{help_} (default: the profile's)")
    p.add_argument("--runs-dir", default="runs", help="where the adapter folders go (default: runs/)")
    p.add_argument("--leaderboard", default="leaderboard.md", help="leaderboard markdown to rebuild (default: leaderboard.md)")
    p.add_argument("--no-plots", action="store_true", help="rebuild the leaderboard without plots")
    p.add_argument("--dry-run", action="store_true", help="print the grid and what would be skipped; train nothing")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--report-to", default="none")
    p.add_argument("--no-progress", action="store_true")
    add_eval_args(p)
    p.set_defaults(func=run)


def parse_lambdas(text: str) -> list[float]:
    from harness.errors import UserError

    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            lam = float(part)
        except ValueError:
            raise UserError(f"--lambdas: {part!r} is not a number") from None
        if not 0.0 <= lam <= 1.0:
            raise UserError(f"--lambdas: λ={part} is outside [0, 1]")
        values.append(lam)
    if not values:
        raise UserError("--lambdas names no λ")
    return sorted(set(values))


@dataclass(frozen=True)
class GridPoint:
    lam: float
    randomize: bool  # the noise control

    @property
    def label(self) -> str:
        method = "ntp" if self.lam == 0 else ("noise" if self.randomize else "concept")
        return f"{method} λ={self.lam:g}"


def grid(lambdas: list[float], noise: bool) -> list[GridPoint]:
    """Concept at every λ (λ = 0: NTP), then noise at every λ > 0."""
    points = [GridPoint(lam, False) for lam in lambdas]
    if noise:
        points += [GridPoint(lam, True) for lam in lambdas if lam > 0]
    return points


def point_config(base, point: GridPoint, runs_dir: Path):
    """The :class:`trainers.pipeline.TrainAndEval` of one grid point, with its adapter folder under ``runs_dir``."""
    from dataclasses import replace

    from trainers.pipeline import DEFAULT_TRAIN_CORPUS, default_out
    from trainers.profiles import resolve_profile

    cfg = replace(base, lam=point.lam, randomize=point.randomize, leaderboard=False)
    hyper = resolve_profile(cfg.profile, cfg.overrides)
    selector = cfg.selector or hyper.selector
    return replace(cfg, out=Path(runs_dir) / default_out(cfg, selector, cfg.corpus or DEFAULT_TRAIN_CORPUS).name)


def is_done(cfg) -> bool:
    """A finished adapter folder whose results exist for every selected task under the same options."""
    from harness.models import TRAIN_CONFIG_FILE, describe_spec
    from harness.runner import select_tasks
    from trainers.pipeline import eval_options_for, missing_base_tasks
    from trainers.profiles import resolve_profile

    if not (Path(cfg.out) / TRAIN_CONFIG_FILE).is_file():
        return False
    info = describe_spec(str(cfg.out))
    options = eval_options_for(cfg, resolve_profile(cfg.profile, cfg.overrides))
    # the adapter's results are checked like the base's: same task files, same recorded options
    return not missing_base_tasks(info, select_tasks(cfg.tasks, describe_spec(cfg.model)), options)


def run(args: argparse.Namespace) -> int:
    from harness.commands.common import eval_options
    from harness.commands.train import hyper_overrides
    from trainers.pipeline import TrainAndEval, train_and_eval

    lambdas = parse_lambdas(args.lambdas)
    base = TrainAndEval(
        model=args.model, objective=args.objective, lambda_scope=args.lambda_scope, mass_threshold=args.mass_threshold,
        profile=args.profile, overrides=hyper_overrides(args), corpus=args.train_corpus, selector=args.selector,
        concepts=Path(args.concepts) if args.concepts else None, concept_sequences=args.concept_sequences,
        tasks=args.tasks, options=eval_options(args), limit=args.limit, seed=args.seed, resume=True, device=args.device,
        dtype=args.dtype, report_to=args.report_to, progress=not args.no_progress)
    points = grid(lambdas, args.noise)
    configs = [point_config(base, p, Path(args.runs_dir)) for p in points]
    done = [is_done(c) for c in configs]
    print(f"sweep of {len(points)} runs on {args.model}: {sum(done)} already done")
    for i, (point, cfg, finished) in enumerate(zip(points, configs, done), 1):
        print(f"  {i}/{len(points)} {point.label:<14} {'done' if finished else 'to run'}  {cfg.out}")
    if args.dry_run:
        return 0
    for i, (point, cfg, finished) in enumerate(zip(points, configs, done), 1):
        if finished:
            continue
        print(f"\n=== sweep {i}/{len(points)}: {point.label} ===")
        train_and_eval(cfg)
        _rebuild(args, Path(args.results_dir))
    _rebuild(args, Path(args.results_dir))
    return 0


def _rebuild(args: argparse.Namespace, results_dir: Path) -> None:
    from leaderboard.build import build

    report = build(Path(results_dir), Path(args.leaderboard), plots=not args.no_plots)
    print(f"leaderboard: {report.markdown} ({report.n_models} models, {report.n_files} result files)")
