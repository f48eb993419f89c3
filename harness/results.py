"""The results file: the one interface between a run and a leaderboard.

One JSON file per model and task (and variant, e.g. corpus), at
``<results_dir>/<model_id>/<task>[@<variant>].json``. Fixed keys that other
tools rely on are listed in :data:`REQUIRED_KEYS`. Files are written
atomically (temporary file in the same folder, fsync, rename); a file that is
replaced is first moved to ``<model_id>/history/`` so nothing is lost.

This module imports neither torch nor any task: the leaderboard and
``harness compare`` read results with it alone.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
REQUIRED_KEYS = ("schema_version", "task", "model", "metrics", "main_metric")
MODEL_KEYS = ("id", "name", "spec", "kind", "base", "adapter_path", "adapter_hash")


class ResultError(ValueError):
    """A result file that cannot be read or does not follow the schema."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see either the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=False, allow_nan=True) + "\n")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def result_filename(task: str, variant: str = "") -> str:
    return f"{task}@{slug(variant)}.json" if variant else f"{task}.json"


def result_path(results_dir: Path, model_id: str, task: str, variant: str = "") -> Path:
    return Path(results_dir) / model_id / result_filename(task, variant)


def write_result(path: Path, record: dict[str, Any]) -> Path:
    """Validate and atomically write one result record; keep any earlier file under ``history/``."""
    problems = validate(record)
    if problems:
        raise ResultError(f"refusing to write an invalid result ({'; '.join(problems)})")
    path = Path(path)
    record = {k: v for k, v in record.items() if k != "items"} | ({"items": record["items"]} if "items" in record else {})
    if path.exists():
        history = path.parent / "history"
        history.mkdir(parents=True, exist_ok=True)
        mtime_ns = path.stat().st_mtime_ns
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(mtime_ns / 1e9)) + f".{mtime_ns % 10**9:09d}"
        target = history / f"{path.stem}.{stamp}.{os.getpid()}.json"
        n = 1
        while target.exists():  # two replacements within the clock's resolution
            target = history / f"{path.stem}.{stamp}.{os.getpid()}-{n}.json"
            n += 1
        os.replace(path, target)
    atomic_write_json(path, record)
    return path


def validate(record: Any) -> list[str]:
    """Return the schema problems of a result record (empty when valid)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    problems = [f"missing key {k!r}" for k in REQUIRED_KEYS if k not in record]
    if problems:
        return problems
    if record["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version {record['schema_version']!r} is not {SCHEMA_VERSION}")
    model = record["model"]
    if not isinstance(model, dict):
        problems.append("'model' is not an object")
    else:
        problems += [f"model lacks {k!r}" for k in ("id", "name", "spec") if k not in model]
    metrics = record["metrics"]
    if not isinstance(metrics, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in metrics.values()
    ):
        problems.append("'metrics' must map names to numbers")
    elif record["main_metric"] not in metrics:
        problems.append(f"main_metric {record['main_metric']!r} not in metrics")
    items = record.get("items")
    if items is not None:
        ids = items.get("ids") if isinstance(items, dict) else None
        cols = items.get("columns") if isinstance(items, dict) else None
        if not isinstance(ids, list) or not isinstance(cols, dict):
            problems.append("'items' must hold 'ids' and 'columns'")
        elif any(len(c) != len(ids) for c in cols.values()):
            problems.append("'items' columns differ in length from 'ids'")
        elif "clusters" in items and not _one_cluster_per_item(items["clusters"], len(ids)):
            problems.append("'items' clusters must give one integer or string per id")
    return problems


def _one_cluster_per_item(clusters: Any, n: int) -> bool:
    """``items.clusters`` (optional): the resampling unit of each item, e.g. its sequence (harness.stats)."""
    return (isinstance(clusters, list) and len(clusters) == n
            and all(isinstance(c, (int, str)) and not isinstance(c, bool) for c in clusters))


@dataclass
class Result:
    """A loaded, validated result file."""

    path: Path
    record: dict[str, Any]

    @property
    def task(self) -> str:
        return self.record["task"]

    @property
    def variant(self) -> str:
        return self.record.get("variant", "")

    @property
    def key(self) -> str:
        """Task and variant: what must match for two results to be compared."""
        return f"{self.task}@{self.variant}" if self.variant else self.task

    @property
    def model(self) -> dict[str, Any]:
        return self.record["model"]

    @property
    def metrics(self) -> dict[str, float]:
        return self.record["metrics"]


_ITEMS_KEY = '\n "items": '  # how json.dumps(indent=1) writes the top-level items key


def _summary_text(text: str) -> str:
    """The record without its per-item values, when ``items`` is its last top-level key.

    :func:`write_result` writes ``items`` last, so everything a summary needs comes before it;
    skipping the per-item arrays (megabytes for per-token LM results) makes reading a
    leaderboard's worth of files fast. Anything else is returned whole."""
    cut = text.find(_ITEMS_KEY)
    if cut < 0 or text.find('\n "', cut + 1) >= 0:  # no items, or another top-level key follows
        return text
    return text[:cut].rstrip().rstrip(",") + "\n}"


def load_result(path: Path, summary_only: bool = False) -> Result:
    """Load and validate a result file; ``summary_only`` leaves out the per-item values."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        record = json.loads(_summary_text(text) if summary_only else text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultError(f"{path}: cannot read ({exc})") from None
    problems = validate(record)
    if problems:
        raise ResultError(f"{path}: {'; '.join(problems)}")
    return Result(path, record)


def iter_result_files(root: Path) -> list[Path]:
    """Every result file under ``root`` (a file or folder), skipping history and hidden files, sorted."""
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*.json")
        if "history" not in p.relative_to(root).parts and not p.name.startswith(".")
    )


def load_results(root: Path, on_error=None) -> list[Result]:
    """Load every valid result under ``root``; invalid files go to ``on_error(path, message)``."""
    out = []
    for p in iter_result_files(root):
        try:
            out.append(load_result(p))
        except ResultError as exc:
            if on_error is None:
                raise
            on_error(p, str(exc))
    return out
