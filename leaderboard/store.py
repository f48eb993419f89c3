"""Adding to the leaderboard: importing result files made elsewhere, and what the board's base rows
were evaluated on (so a model added later is evaluated alike, :mod:`workflows.add_model`).

Every change to a results folder happens under one file lock (``<results_dir>/.leaderboard.lock``)
together with the rebuild that follows it, so concurrent ``harness leaderboard add`` processes
serialise: each sees the files the others wrote, and the last rebuild includes them all.
A replaced result keeps its old file under ``<model_id>/history/`` (:func:`harness.result_files.write_result`).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from harness.errors import UserError
from harness.result_files import ResultError, iter_result_files, load_untrusted, result_path, write_result
from harness.results import ResultRecord

LOCK_NAME = ".leaderboard.lock"
EXTERNAL_ROLE = "external"


_LOCKS: dict[str, Any] = {}  # one FileLock object per folder, so nested use in a process re-enters


@contextlib.contextmanager
def results_lock(results_dir: Path, timeout: float = 600) -> Iterator[None]:
    """Exclusive lock on a results folder (re-entrant in one process); a read-only folder gets none."""
    from filelock import FileLock, Timeout

    results_dir = Path(results_dir)
    if not os.access(results_dir, os.W_OK):
        yield
        return
    key = str((results_dir / LOCK_NAME).resolve())
    lock = _LOCKS.setdefault(key, FileLock(key))
    try:
        with lock.acquire(timeout=timeout):
            yield
    except Timeout:
        raise UserError(f"{results_dir} stayed locked by another harness process for {timeout:.0f} s") from None


def load_importable(source: Path) -> list[tuple[Path, ResultRecord]]:
    """Every result file under ``source``, validated as untrusted input; one bad file refuses them all."""
    source = Path(source)
    if not source.exists():
        raise UserError(f"{source} does not exist")
    files = iter_result_files(source)
    if not files:
        raise UserError(f"no result files (*.json) under {source}")
    loaded = []
    for path in files:
        try:
            loaded.append((path, load_untrusted(path).record))
        except ResultError as exc:
            raise UserError(f"not imported, invalid result file {exc}") from None
    return loaded


def set_display_name(records: list[ResultRecord], name: str | None) -> None:
    if name is None:
        return
    ids = {r.model.id for r in records}
    if len(ids) > 1:
        raise UserError(f"--name names one model, but the results hold {len(ids)} ({', '.join(sorted(ids))})")
    for r in records:
        r.model.display_name = name


@dataclass(frozen=True)
class PlannedImport:
    source: Path
    record: ResultRecord
    target: Path  # inside the results folder (checked by result_path)


def plan_import(source: Path, results_dir: Path, name: str | None = None) -> list[PlannedImport]:
    """Validate every result file under ``source`` and where it would go; writes nothing."""
    loaded = load_importable(source)
    set_display_name([r for _, r in loaded], name)
    try:
        return [PlannedImport(src, r, result_path(results_dir, r.model.id, r.task, r.variant)) for src, r in loaded]
    except ResultError as exc:
        raise UserError(f"not imported: {exc}") from None


def import_results(plan: list[PlannedImport], renamed: bool = False) -> list[Path]:
    """Write planned imports into the results folder (old files go to history/). Call under :func:`results_lock`;
    ``renamed``: the records carry a new display name (a file imported onto itself is only rewritten then)."""
    written = []
    for item in plan:
        if item.target.exists() and item.target.resolve() == item.source.resolve() and not renamed:
            written.append(item.target)
            continue
        written.append(write_result(item.target, item.record))
    return written


def leaderboard_tasks(results_dir: Path) -> list[tuple[dict[str, Any], list[str]]]:
    """The tasks of the base rows, grouped by the evaluation options they were run with.

    An external model is evaluated with the same options (limit, split, layer, task
    options, ...) as the base models, so its numbers sit in the same columns.
    """
    from leaderboard.reader import read_summaries
    from leaderboard.table import classify

    groups: dict[str, tuple[dict[str, Any], set[str]]] = {}
    for s in read_summaries(results_dir):
        if classify(s.model).method != "base":
            continue
        options = {k: v for k, v in s.options.items() if k != "results_dir"}
        key = json.dumps(options, sort_keys=True, default=str)
        groups.setdefault(key, (options, set()))[1].add(s.task)
    return [(opts, sorted(tasks)) for _, (opts, tasks) in sorted(groups.items())]


def base_model_ids(results_dir: Path) -> set[str]:
    from leaderboard.reader import read_summaries
    from leaderboard.table import classify

    return {s.model.id for s in read_summaries(results_dir, on_error=lambda p, m: None)
            if classify(s.model).method == "base"}
