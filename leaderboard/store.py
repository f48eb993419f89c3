"""Adding to the leaderboard: importing result files and evaluating external checkpoints.

Every change to a results folder happens under one file lock (``<results_dir>/.leaderboard.lock``)
together with the rebuild that follows it, so concurrent ``harness leaderboard add`` processes
serialise: each sees the files the others wrote, and the last rebuild includes them all.
A replaced result keeps its old file under ``<model_id>/history/`` (:func:`harness.results.write_result`).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterator

from harness.errors import UserError
from harness.results import ResultError, atomic_write_json, iter_result_files, load_untrusted, result_path, write_result

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


def load_importable(source: Path) -> list[tuple[Path, dict[str, Any]]]:
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


def set_display_name(records: list[dict[str, Any]], name: str | None) -> None:
    if name is None:
        return
    ids = {r["model"]["id"] for r in records}
    if len(ids) > 1:
        raise UserError(f"--name names one model, but the results hold {len(ids)} ({', '.join(sorted(ids))})")
    for r in records:
        r["model"]["display_name"] = name


@dataclass(frozen=True)
class PlannedImport:
    source: Path
    record: dict[str, Any]
    target: Path  # inside the results folder (checked by result_path)


def plan_import(source: Path, results_dir: Path, name: str | None = None) -> list[PlannedImport]:
    """Validate every result file under ``source`` and where it would go; writes nothing."""
    loaded = load_importable(source)
    set_display_name([r for _, r in loaded], name)
    try:
        return [PlannedImport(src, r, result_path(results_dir, r["model"]["id"], r["task"], r.get("variant", "")))
                for src, r in loaded]
    except ResultError as exc:
        raise UserError(f"not imported: {exc}") from None


def import_results(plan: list[PlannedImport], renamed: bool = False) -> list[Path]:
    """Write planned imports into the results folder (old files go to history/). Call under :func:`results_lock`;
    ``renamed``: the records carry a new display name (a file imported onto itself is then rewritten)."""
    written = []
    for item in plan:
        if item.target.exists() and item.target.resolve() == item.source.resolve():
            if renamed:
                atomic_write_json(item.target, item.record)
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
        if classify(s.model)[1] != "base":
            continue
        options = {k: v for k, v in s.options.items() if k != "results_dir"}
        key = json.dumps(options, sort_keys=True, default=str)
        groups.setdefault(key, (options, set()))[1].add(s.task)
    return [(opts, sorted(tasks)) for _, (opts, tasks) in sorted(groups.items())]


def base_model_ids(results_dir: Path) -> set[str]:
    from leaderboard.reader import read_summaries
    from leaderboard.table import classify

    return {str(s.model["id"]) for s in read_summaries(results_dir, on_error=lambda p, m: None)
            if classify(s.model)[1] == "base"}


def _eval_options(recorded: dict[str, Any], results_dir: Path, limit: int | None):
    from harness.runner import EvalOptions

    known = {f.name for f in fields(EvalOptions)} - {"results_dir"}
    options = EvalOptions(results_dir=Path(results_dir), **{k: v for k, v in recorded.items() if k in known})
    if limit is not None:
        options.limit = limit
    return options


def fitting_tasks(names: list[str], info) -> list[str]:
    """The names among ``names`` that model ``info`` can run (encoders: no next-token tasks)."""
    from harness.runner import select_tasks

    fit = []
    for name in names:
        try:
            select_tasks(name, info)
        except UserError:
            continue
        fit.append(name)
    return fit


def add_model(spec: str, results_dir: Path, name: str | None = None, tasks: str | None = None,
              limit: int | None = None, base: str | None = None, device: str = "auto", dtype: str = "auto") -> list[Path]:
    """Evaluate ``spec`` on the leaderboard's tasks (or ``tasks``) into ``results_dir`` and label it.

    Not under the lock while evaluating (minutes); the runner writes each file atomically
    and moves an earlier result of the same model to history/. The record is then marked
    ``model.role = "external"`` (unless it is one of the board's base models) and given its
    ``display_name``.
    """
    from harness.models import describe_spec, load_model
    from harness.runner import evaluate, print_summary

    results_dir = Path(results_dir)
    info = describe_spec(spec, base)
    if tasks:
        plan = [({}, [t.strip() for t in tasks.split(",") if t.strip()])]
    else:
        plan = leaderboard_tasks(results_dir) if results_dir.is_dir() else []
        if not plan:
            raise UserError(f"no base model results in {results_dir} to take the tasks from: "
                            f"run harness eval on a base model first, or pass --tasks")
        plan = [(opts, fitting_tasks(names, info)) for opts, names in plan]
        plan = [(opts, names) for opts, names in plan if names]
        if not plan:
            raise UserError(f"{info.name} ({info.kind}) can run none of the leaderboard's tasks")
    bases = base_model_ids(results_dir) if results_dir.is_dir() else set()
    lm = load_model(spec, base=base, device=device, dtype=dtype)
    paths: list[Path] = []
    for recorded, names in plan:
        summary = evaluate(spec, ",".join(names), _eval_options(recorded, results_dir, limit), base=base, lm=lm)
        print_summary(summary)
        paths += summary.paths
    with results_lock(results_dir):
        external = info.id not in bases or info.kind != "causal_lm"
        for path in paths:
            record = json.loads(path.read_text(encoding="utf-8"))
            if external:
                record["model"]["role"] = EXTERNAL_ROLE
            if name is not None:
                record["model"]["display_name"] = name
            atomic_write_json(path, record)
    return paths
