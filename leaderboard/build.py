"""Results folder -> leaderboard.md, leaderboard.csv, leaderboard_paper.csv and one PNG per metric
(atomically written).

Reads result files only and never imports torch. The whole build runs under the results
folder's lock (:func:`leaderboard.store.results_lock`), so a rebuild after ``leaderboard add``
always sees every file written before it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.atomic import atomic_write_text
from harness.errors import UserError


@dataclass
class BuildReport:
    markdown: Path
    csv: Path
    paper_csv: Path
    plots: list[Path] = field(default_factory=list)
    n_files: int = 0
    n_models: int = 0
    skipped: list[str] = field(default_factory=list)
    bootstrapped: int = 0

    def line(self, bootstrap: bool = False) -> str:
        """The one line every rebuild prints (``harness leaderboard build|add``, ``harness sweep``,
        ``harness train-and-eval``); ``bootstrap``: the build was asked to bootstrap missing comparisons."""
        extra = f", {len(self.skipped)} invalid file(s) skipped" if self.skipped else ""
        boot = f", {self.bootstrapped} comparison(s) bootstrapped" if bootstrap else ""
        return (f"leaderboard: {self.n_models} model(s) from {self.n_files} result file(s){extra}{boot} -> "
                f"{self.markdown}, {self.csv}, {self.paper_csv}" + (f", {len(self.plots)} plot(s)" if self.plots else ""))


def default_paths(out: Path) -> tuple[Path, Path]:
    """``leaderboard.md`` -> (``leaderboard.csv``, ``leaderboard_plots/``) beside it."""
    return out.with_suffix(".csv"), out.parent / f"{out.stem}_plots"


def paper_csv_path(csv_path: Path) -> Path:
    """``leaderboard.csv`` -> ``leaderboard_paper.csv`` beside it: the paper tables' long CSV."""
    return csv_path.with_name(f"{csv_path.stem}_paper.csv")


def ours_markdown(path: Path) -> bool:
    """A leaderboard this harness wrote: its marker line (or, from before the marker, its title line)."""
    from harness.outputs import begins_with
    from leaderboard.render import MARKDOWN_MARKER

    return begins_with(MARKDOWN_MARKER)(path) or begins_with("# Leaderboard\n")(path)


def output_paths(out: Path, csv_path: Path | str | None = None, plots_dir: Path | str | None = None,
                 overwrite: bool = False) -> tuple[Path, Path, Path]:
    """(markdown, CSV, plots folder), checked before any work (:mod:`harness.outputs`): usable places,
    and no file the harness did not write replaced without ``overwrite``, the CSV beside ``--out`` too."""
    from harness.outputs import begins_with, check_output_file, check_output_folder
    from leaderboard.paper_render import PAPER_CSV_COLUMNS
    from leaderboard.render import CSV_ROW_COLUMNS

    out = Path(out)
    default_csv, default_plots = default_paths(out)
    csv_flag = "--csv" if csv_path else "the CSV beside --out"
    csv_path = Path(csv_path) if csv_path else default_csv
    if csv_path.absolute() == out.absolute():
        raise UserError(f"--out {out} would also be the CSV: give --out a .md name or a different --csv")
    check_output_file(out, "--out", overwrite=overwrite, ours=ours_markdown)
    check_output_file(csv_path, csv_flag, overwrite=overwrite, ours=begins_with(",".join(CSV_ROW_COLUMNS)))
    paper = paper_csv_path(csv_path)
    if paper.absolute() == out.absolute():
        raise UserError(f"--out {out} would also be the paper tables' CSV: give --out a .md name")
    check_output_file(paper, "the paper tables' CSV", overwrite=overwrite,
                      ours=begins_with(",".join(PAPER_CSV_COLUMNS)))
    plots_dir = check_output_folder(Path(plots_dir) if plots_dir else default_plots, "--plots-dir")
    return out, csv_path, plots_dir


def build(results_dir: Path, out: Path = Path("leaderboard.md"), csv_path: Path | None = None,
          plots_dir: Path | None = None, plots: bool = True, bootstrap: bool = False,
          n_resamples: int = 1000, seed: int = 0, overwrite: bool = False, layer: int | None = None,
          unit: str = "sequence") -> BuildReport:
    """``layer``: also a column of each main metric at that hidden-state layer, where results have it.
    ``n_resamples`` and ``seed``: the paired bootstraps (``bootstrap``: of the main tables' cells that store
    none; always: of the paper tables' comparisons against the base model and NTP, :mod:`leaderboard.significance`,
    resampling ``unit``: held-out sequences, or single tokens for ``item`` on full result files)."""
    from leaderboard.paper_render import render_paper_csv, render_paper_markdown
    from leaderboard.paper_tables import build_paper_tables
    from leaderboard.reader import read_summaries, warn_skipped
    from leaderboard.runs_table import render_runs
    from leaderboard.significance import Comparer
    from leaderboard.render import render_csv, render_markdown
    from leaderboard.store import results_lock
    from leaderboard.table import bootstrap_missing, build_table

    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise UserError(f"results folder {results_dir} does not exist (run harness eval first)")
    out, csv_path, plots_dir = output_paths(out, csv_path, plots_dir, overwrite)
    skipped: list[str] = []

    def on_error(path: Path, message: str) -> None:
        skipped.append(str(path))
        warn_skipped(path, message)

    with results_lock(results_dir):
        summaries = read_summaries(results_dir, on_error)
        if not summaries and out.exists() and not overwrite:
            raise UserError(f"no valid result file in {results_dir}: {out} is left as it is (pass --overwrite to "
                            f"replace it with an empty leaderboard)")
        board = build_table(summaries, layer)
        n_boot = bootstrap_missing(board, n_resamples=n_resamples, seed=seed) if bootstrap else 0
        paper = build_paper_tables(summaries, board.group_names, Comparer(n_resamples, seed, unit))
        paper_csv = paper_csv_path(csv_path)
        written = []
        if plots and board.rows:
            from leaderboard.plots import write_plots

            written = write_plots(board, plots_dir, overwrite)
        links = [(title, Path(os.path.relpath(p, out.parent if str(out.parent) else ".")).as_posix()) for title, p in written]
        sections = render_paper_markdown(paper, n_resamples, seed, paper_csv.name, unit) + render_runs(summaries)
        atomic_write_text(out, render_markdown(board, links, n_files=len(summaries), sections=sections))
        atomic_write_text(csv_path, render_csv(board))
        atomic_write_text(paper_csv, render_paper_csv(paper))
    return BuildReport(out, csv_path, paper_csv, [p for _, p in written], len(summaries), len(board.rows), skipped, n_boot)


def rebuild(results_dir: Path, out: Path, *, file=None, **options) -> BuildReport:
    """:func:`build` (``options``: its keyword arguments), then :meth:`BuildReport.line` on ``file`` (stdout)."""
    report = build(results_dir, out, **options)
    print(report.line(options.get("bootstrap", False)), file=file or sys.stdout)
    return report
