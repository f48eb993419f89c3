"""The results file: the one interface between a run and a leaderboard.

One JSON file per model and task (and variant, e.g. corpus), at
``<results_dir>/<model_id>/<task>[@<variant>].json``. Fixed keys that other
tools rely on are listed in :data:`REQUIRED_KEYS`. A replacement is atomic:
the new file is written and fsynced beside the old one, the old one is linked
into ``<model_id>/history/``, then the new one is renamed over it, so a failed
write (disk full) leaves the current result in place and nothing is lost.

Result files from elsewhere (``harness leaderboard add --results``) are untrusted
input: :func:`load_untrusted` checks size, schema, types, finite numbers and
names before anything is written, and :func:`result_path` refuses identifiers
that would lead outside the results folder.

This module imports neither torch nor any task: the leaderboard and
``harness compare`` read results with it alone.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UserError

SCHEMA_VERSION = 1
REQUIRED_KEYS = ("schema_version", "task", "model", "metrics", "main_metric")
MODEL_KEYS = ("id", "name", "spec", "kind", "base", "adapter_path", "adapter_hash")
# Limits on an imported (untrusted) result file; our own largest, per-token LM results, are a few MB.
MAX_IMPORT_BYTES = 256 << 20
MAX_NAME_CHARS = 128  # task, variant, model id, metric names
MAX_TEXT_CHARS = 4096  # any other string (paths, display names)
MAX_METRICS = 256
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")  # one path component, never '.' or '..'


class ResultError(ValueError):
    """A result file that cannot be read or does not follow the schema."""


def _write_beside(path: Path, text: str) -> Path:
    """``text`` in a new temporary file in ``path``'s folder, flushed and fsynced (removed again on failure)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see either the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_beside(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=1, allow_nan=True) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, _json_text(data))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def result_filename(task: str, variant: str = "") -> str:
    return f"{task}@{slug(variant)}.json" if variant else f"{task}.json"


def result_path(results_dir: Path, model_id: str, task: str, variant: str = "") -> Path:
    """``<results_dir>/<model_id>/<task>[@<variant>].json``; identifiers that are not one path
    component, or a path that resolves outside ``results_dir`` (a symlink), raise ResultError."""
    results_dir = Path(results_dir)
    name = result_filename(task, variant)
    for part in (model_id, name):
        if not isinstance(part, str) or not part or part in (".", "..") or "/" in part or os.sep in part or "\0" in part:
            raise ResultError(f"{part!r:.80} cannot name a file inside the results folder {results_dir}")
    path = results_dir / model_id / name
    if not path.resolve().is_relative_to(results_dir.resolve()):
        raise ResultError(f"{path} resolves outside the results folder {results_dir}")
    return path


def _keep_in_history(path: Path) -> None:
    """Link (or, where links are not supported, copy) the current ``path`` into ``history/`` beside it."""
    history = path.parent / "history"
    history.mkdir(parents=True, exist_ok=True)
    mtime_ns = path.stat().st_mtime_ns
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(mtime_ns / 1e9)) + f".{mtime_ns % 10**9:09d}"
    target = history / f"{path.stem}.{stamp}.{os.getpid()}.json"
    n = 1
    while target.exists():  # two replacements within the clock's resolution
        target = history / f"{path.stem}.{stamp}.{os.getpid()}-{n}.json"
        n += 1
    try:
        os.link(path, target)
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        shutil.copy2(path, target)


def write_result(path: Path, record: dict[str, Any]) -> Path:
    """Validate and write one result record atomically; keep any earlier file under ``history/``.

    The new file is written and fsynced beside the old one first, so a failed write (disk full,
    no permission) ends in a UserError with the current result untouched."""
    problems = validate(record)
    if problems:
        raise ResultError(f"refusing to write an invalid result ({'; '.join(problems)})")
    path = Path(path)
    record = {k: v for k, v in record.items() if k != "items"} | ({"items": record["items"]} if "items" in record else {})
    text = _json_text(record)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _write_beside(path, text)
        if path.exists():
            _keep_in_history(path)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write result {path} ({exc.strerror or exc}); "
                        f"{'the current result is unchanged' if path.exists() else 'nothing was written'}") from None
    return path


def validate(record: Any) -> list[str]:
    """Return the schema problems of a result record (empty when valid)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    problems = [f"missing key {k!r}" for k in REQUIRED_KEYS if k not in record]
    if problems:
        return problems
    if type(record["schema_version"]) is not int or record["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version {record['schema_version']!r:.40} is not {SCHEMA_VERSION}")
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
    elif not isinstance(record["main_metric"], str) or record["main_metric"] not in metrics:
        problems.append(f"main_metric {record['main_metric']!r:.60} not in metrics")
    items = record.get("items")
    if items is not None:
        ids = items.get("ids") if isinstance(items, dict) else None
        cols = items.get("columns") if isinstance(items, dict) else None
        if not isinstance(ids, list) or not isinstance(cols, dict):
            problems.append("'items' must hold 'ids' and 'columns'")
        elif not all(isinstance(c, list) for c in cols.values()):
            problems.append("'items' columns must be lists")
        elif any(len(c) != len(ids) for c in cols.values()):
            problems.append("'items' columns differ in length from 'ids'")
        elif "clusters" in items and not _one_cluster_per_item(items["clusters"], len(ids)):
            problems.append("'items' clusters must give one integer or string per id")
    return problems


def _name_problem(what: str, value: Any) -> list[str]:
    if isinstance(value, str) and _NAME.fullmatch(value) and len(value) <= MAX_NAME_CHARS:
        return []
    return [f"{what} {value!r:.60} is not a name (letters, digits, '.', '_', '-', at most {MAX_NAME_CHARS})"]


def _value_problems(value: Any, where: str, depth: int = 0) -> list[str]:
    """Non-finite numbers, oversized strings and absurd nesting anywhere in ``value``."""
    if depth > 32:
        return [f"{where} is nested too deeply"]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where} is {value} (numbers must be finite)"]
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        return [f"{where} holds {len(value)} characters (at most {MAX_TEXT_CHARS})"]
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    problems: list[str] = []
    for key, child in children:
        problems += _value_problems(child, f"{where}.{key}" if isinstance(value, dict) else f"{where}[{key}]", depth + 1)
        if len(problems) >= 3:
            break
    return problems


_OPTIONAL_STR = ("kind", "base", "path", "adapter_path", "adapter_hash", "base_id", "display_name", "role")
_OPTIONAL_DICTS = ("higher_is_better", "aggregations", "protocol", "options", "comparison")


def validate_untrusted(record: Any) -> list[str]:
    """The problems of a result record from elsewhere, beyond :func:`validate`: the names that
    become paths or labels (task, model id, metrics) are safe names, fields have their types,
    every number is finite and every string bounded (the record is re-written and rendered here)."""
    problems = validate(record)
    if problems:
        return problems
    model, metrics = record["model"], record["metrics"]
    problems += _name_problem("task", record["task"])
    problems += _name_problem("model id", model["id"])
    if not isinstance(record.get("variant", ""), str) or len(record.get("variant", "")) > MAX_NAME_CHARS:
        problems.append(f"variant must be a string of at most {MAX_NAME_CHARS} characters")
    problems += [f"model {k} must be a string" for k in ("name", "spec") if not isinstance(model[k], str)]
    problems += [f"model {k} must be a string or null" for k in _OPTIONAL_STR
                 if not isinstance(model.get(k), (str, type(None)))]
    if not isinstance(model.get("training"), (dict, type(None))):
        problems.append("model training must be an object or null")
    problems += [f"{k!r} must be an object" for k in _OPTIONAL_DICTS if not isinstance(record.get(k, {}), dict)]
    if len(metrics) > MAX_METRICS:
        problems.append(f"{len(metrics)} metrics (at most {MAX_METRICS})")
    else:
        problems += [p for name in metrics for p in _name_problem("metric", name)]
    return problems + _value_problems(record, "record")


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
    record = _read_json(path, summary_only)
    problems = validate(record)
    if problems:
        raise ResultError(f"{path}: {'; '.join(problems)}")
    return Result(path, record)


def load_untrusted(path: Path) -> Result:
    """Load a result file from elsewhere, checked by :func:`validate_untrusted` (and its size) first."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ResultError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size > MAX_IMPORT_BYTES:
        raise ResultError(f"{path}: {size} bytes (at most {MAX_IMPORT_BYTES})")
    record = _read_json(path)
    problems = validate_untrusted(record)
    if problems:
        raise ResultError(f"{path}: {'; '.join(problems)}")
    return Result(path, record)


def _read_json(path: Path, summary_only: bool = False) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(_summary_text(text) if summary_only else text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0]
        raise ResultError(f"{path}: cannot read ({reason})") from None


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
