"""``harness leaderboard build|add``: publish the results folder; add external checkpoints or results.

- ``build [RESULTS_DIR] --out leaderboard.md``: markdown tables (by task family, then the paper's
  tables), a CSV beside it (and the paper tables' ``<csv stem>_paper.csv``) and one PNG per metric
  under ``<out stem>_plots/``; reads result files only (no torch, :mod:`leaderboard.build`).
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

from harness.commands.common import add_device_args
from harness.config import AT_LEAST_1, NAMES, add_flag


def _output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="leaderboard.md", help="markdown output (default: leaderboard.md)")
    p.add_argument("--csv", help="CSV output (default: beside --out, .csv)")
    p.add_argument("--plots-dir", help="folder for the PNG plots (default: <out stem>_plots/ beside --out)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--overwrite", action="store_true",
                   help="replace output files this harness did not write (and a leaderboard by an empty one)")


def add_parser(sub) -> None:
    p = sub.add_parser("leaderboard", help="build the leaderboard (markdown, CSV, plots) or add models to it")
    lsub = p.add_subparsers(dest="leaderboard_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    b = lsub.add_parser("build", help="results folder -> markdown tables, CSV and plots")
    b.add_argument("results_dir", nargs="?", default="results", help="results folder (default: results/)")
    _output_args(b)
    b.add_argument("--bootstrap", action="store_true",
                   help="compute the paired bootstrap against the base where a result stores none (slower)")
    add_flag(b, "--bootstrap-resamples", "bootstrap_resamples", 1000,
             "resamples of --bootstrap and of the paper tables' comparisons", check=AT_LEAST_1)
    b.add_argument("--bootstrap-unit", choices=("sequence", "item"), default="sequence",
                   help="what the paper tables' comparisons resample: held-out sequences (default) or single tokens "
                        "(item: the paper's appendix C; needs full result files, not compact copies)")
    b.add_argument("--layer", type=int, help="also show each similarity metric at this hidden-state layer "
                                             "(results of harness eval --layers)")
    b.set_defaults(func=run_build)

    a = lsub.add_parser("add", help="evaluate an external checkpoint, or import result files, and rebuild")
    what = a.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="model spec to evaluate (as for harness eval)")
    what.add_argument("--results", help="result file or folder produced elsewhere, to validate and import")
    a.add_argument("--name", help="display name on the leaderboard")
    a.add_argument("--results-dir", default="results", help="the leaderboard's results folder (default: results/)")
    add_flag(a, "--tasks", "tasks", None, "comma-separated tasks (default: those of the base rows the model can run)",
             type=str, check=NAMES)
    add_flag(a, "--limit", "limit", None, "evaluate only the first N items (default: as the base rows were)", type=int,
             check=AT_LEAST_1)
    a.add_argument("--base", help="base model for an adapter (overrides its adapter_config.json)")
    add_device_args(a)
    _output_args(a)
    a.set_defaults(func=run_add)


def _rebuild(args, results_dir: Path, bootstrap: bool = False, resamples: int = 1000, unit: str = "sequence") -> None:
    from leaderboard.build import rebuild

    rebuild(results_dir, Path(args.out), csv_path=args.csv, plots_dir=args.plots_dir, plots=not args.no_plots,
            bootstrap=bootstrap, n_resamples=resamples, overwrite=args.overwrite, layer=getattr(args, "layer", None),
            unit=unit)


def run_build(args) -> int:
    _rebuild(args, Path(args.results_dir), args.bootstrap, args.bootstrap_resamples, args.bootstrap_unit)
    return 0


def run_add(args) -> int:
    from harness.outputs import check_output_folder, remove_if_empty
    from leaderboard.build import output_paths
    from leaderboard.store import import_results, plan_import, results_lock
    from workflows.add_model import add_model

    results_dir = check_output_folder(Path(args.results_dir), "--results-dir")
    output_paths(Path(args.out), args.csv, args.plots_dir, args.overwrite)  # before any work
    created = not results_dir.exists()
    try:
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
    except BaseException:
        if created:
            remove_if_empty(results_dir)  # a failed first add leaves no empty folder behind
        raise
    print(f"evaluated {args.model}: {len(paths)} result file(s) in {results_dir}", file=sys.stderr)
    _rebuild(args, results_dir)
    return 0
