"""``harness leaderboard build|add``: publish the results folder; add external checkpoints or results.

- ``build [RESULTS_DIR] --out leaderboard.md``: markdown tables, a CSV beside it and one PNG per
  metric under ``<out stem>_plots/``; reads result files only (no torch, :mod:`leaderboard.build`).
- ``add --model SPEC [--name NAME]``: evaluate any model spec on the tasks of the board's base rows
  (those it can run) with the same options (:mod:`workflows.add_model`), then rebuild.
- ``add --results FILE_OR_DIR [--name NAME]``: import validated result files (:mod:`leaderboard.store`),
  then rebuild.

An application-layer command: it combines the leaderboard with the evaluation engine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="leaderboard.md", help="markdown output (default: leaderboard.md)")
    p.add_argument("--csv", help="CSV output (default: beside --out, .csv)")
    p.add_argument("--plots-dir", help="folder for the PNG plots (default: <out stem>_plots/ beside --out)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")


def add_parser(sub) -> None:
    p = sub.add_parser("leaderboard", help="build the leaderboard (markdown, CSV, plots) or add models to it")
    lsub = p.add_subparsers(dest="leaderboard_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    b = lsub.add_parser("build", help="results folder -> markdown tables, CSV and plots")
    b.add_argument("results_dir", nargs="?", default="results", help="results folder (default: results/)")
    _output_args(b)
    b.add_argument("--bootstrap", action="store_true",
                   help="compute the paired bootstrap against the base where a result stores none (slower)")
    b.add_argument("--bootstrap-resamples", type=int, default=1000)
    b.add_argument("--layer", type=int, help="also show each similarity metric at this hidden-state layer "
                                             "(results of harness eval --layers)")
    b.set_defaults(func=run_build)

    a = lsub.add_parser("add", help="evaluate an external checkpoint, or import result files, and rebuild")
    what = a.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="model spec to evaluate (as for harness eval)")
    what.add_argument("--results", help="result file or folder produced elsewhere, to validate and import")
    a.add_argument("--name", help="display name on the leaderboard")
    a.add_argument("--results-dir", default="results", help="the leaderboard's results folder (default: results/)")
    a.add_argument("--tasks", help="comma-separated tasks (default: those of the base rows the model can run)")
    a.add_argument("--limit", type=int, help="evaluate only the first N items (default: as the base rows were)")
    a.add_argument("--base", help="base model for an adapter (overrides its adapter_config.json)")
    a.add_argument("--device", default="auto")
    a.add_argument("--dtype", default="auto")
    _output_args(a)
    a.set_defaults(func=run_add)


def _rebuild(args, results_dir: Path, bootstrap: bool = False, resamples: int = 1000) -> None:
    from leaderboard.build import build

    report = build(results_dir, Path(args.out), csv_path=args.csv, plots_dir=args.plots_dir,
                   plots=not args.no_plots, bootstrap=bootstrap, n_resamples=resamples,
                   layer=getattr(args, "layer", None))
    extra = f", {len(report.skipped)} invalid file(s) skipped" if report.skipped else ""
    boot = f", {report.bootstrapped} comparison(s) bootstrapped" if bootstrap else ""
    print(f"leaderboard: {report.n_models} model(s) from {report.n_files} result file(s){extra}{boot} -> "
          f"{report.markdown}, {report.csv}" + (f", {len(report.plots)} plot(s)" if report.plots else ""))


def run_build(args) -> int:
    from harness.errors import UserError

    if args.bootstrap_resamples < 1:
        raise UserError("--bootstrap-resamples must be at least 1")
    _rebuild(args, Path(args.results_dir), args.bootstrap, args.bootstrap_resamples)
    return 0


def run_add(args) -> int:
    from harness.errors import UserError
    from leaderboard.store import import_results, plan_import, results_lock
    from workflows.add_model import add_model

    results_dir = Path(args.results_dir)
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    if args.results:
        plan = plan_import(Path(args.results), results_dir, args.name)  # validated before anything is written
        results_dir.mkdir(parents=True, exist_ok=True)
        with results_lock(results_dir):
            paths = import_results(plan, renamed=args.name is not None)
            print(f"imported {len(paths)} result file(s) into {results_dir}", file=sys.stderr)
            _rebuild(args, results_dir)
        return 0
    paths = add_model(args.model, results_dir, name=args.name, tasks=args.tasks, limit=args.limit,
                      base=args.base, device=args.device, dtype=args.dtype)
    print(f"evaluated {args.model}: {len(paths)} result file(s) in {results_dir}", file=sys.stderr)
    _rebuild(args, results_dir)
    return 0
