"""Result files on disk: ``<results_dir>/<model_id>/<task>[@<variant>].json``, written atomically, read
into :class:`~harness.results.ResultRecord` once.

A replacement is atomic: the new file is written and fsynced beside the old one, the old one is
linked into ``<model_id>/history/``, then the new one is renamed over it, so a failed write (disk
full) leaves the current result in place and nothing is lost. Every write is validated
(:func:`harness.result_checks.validate`).

Result files from elsewhere (``harness leaderboard add --results``) are untrusted input:
:func:`load_untrusted` checks size, schema, types, finite numbers and names before anything is
written, and :func:`result_path` refuses identifiers that would lead outside the results folder.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.atomic import json_text, write_beside
from harness.errors import UserError
from harness.paths import slug
from harness.result_checks import MAX_IMPORT_BYTES, validate, validate_untrusted
from harness.results import ResultRecord

_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


class ResultError(ValueError):
    """A result file that cannot be read or does not follow the schema."""


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


def result_text(result: ResultRecord) -> str:
    """The validated text of a result file: JSON with one-space indents, ``items`` last.

    A compact record (:mod:`harness.compaction`) writes each items list on one line (``"ids": [...]``, then
    one line per column), a few characters per value instead of a line each; the top-level keys keep their
    layout, so :func:`_summary_text` still stops before ``items``."""
    record = result.to_dict()  # items last (see harness.results)
    problems = validate(record)
    if problems:
        raise ResultError(f"refusing to write an invalid result ({'; '.join(problems)})")
    if result.compacted is None or "items" not in record:
        return json_text(record, allow_nan=False)  # validate names what NaN usually reaches; this guards every block
    items = record.pop("items")
    head = json_text(record, allow_nan=False).rstrip()
    assert head.endswith("}"), "a record is a JSON object"

    def line(key: str, value: Any, indent: str) -> str:
        return f"{indent}{json.dumps(key)}: {json.dumps(value, separators=(',', ':'), allow_nan=False)}"

    lists = [line(k, items[k], "  ") for k in ("ids", "clusters") if k in items]
    columns = ",\n".join(line(c, v, "   ") for c, v in items["columns"].items())
    body = ",\n".join([*lists, f'  "columns": {{\n{columns}\n  }}'])
    return f'{head[:-1].rstrip()},\n "items": {{\n{body}\n }}\n}}\n'


def write_result(path: Path, result: ResultRecord) -> Path:
    """Validate and write one result record atomically; keep any earlier file under ``history/``.

    The new file is written and fsynced beside the old one first, so a failed write (disk full,
    no permission) ends in a UserError with the current result untouched."""
    path = Path(path)
    text = result_text(result)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = write_beside(path, text)
        if path.exists():
            _keep_in_history(path)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write result {path} ({exc.strerror or exc}); "
                        f"{'the current result is unchanged' if path.exists() else 'nothing was written'}") from None
    return path


@dataclass
class Result:
    """A loaded, validated result file."""

    path: Path
    record: ResultRecord

    @property
    def key(self) -> str:
        return self.record.key


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
    return Result(path, ResultRecord.from_dict(record))


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
    return Result(path, ResultRecord.from_dict(record))


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


def load_results(root: Path, on_error: Callable[[Path, str], None] | None = None) -> list[Result]:
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
