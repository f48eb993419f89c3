"""Result files -> :class:`Summary`: the few fields a leaderboard needs from each file.

A summary keeps the model block, task, variant, all metric values, which metrics
are better higher, the task family (``protocol.kind``) and the stored paired
bootstrap comparison against the base model. Per-item values are dropped; the
optional ``--bootstrap`` pass re-reads the two files it compares.

Why an index: parsing is the cost of a build (1,000 result files with their per-item
values are ~60 MB of JSON, over a CPU-second), while a summary is a few hundred bytes.
``<results_dir>/.leaderboard-index.json`` keeps each file's summary (or its validation
error) keyed by relative path and (size, mtime_ns, inode); a file whose stat differs is
parsed and validated again. Writes are atomic and every result write replaces the file
(new inode), so a stale entry cannot survive. Deleting the index only costs time.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.atomic import atomic_write_text
from harness.comparison import MetricComparison
from harness.result_files import Result, ResultError, iter_result_files, load_result
from harness.results import ResultModel

INDEX_NAME = ".leaderboard-index.json"
INDEX_VERSION = 2  # 2: typed summaries (model block and comparisons as records)


@dataclass
class Summary:
    path: Path
    task: str
    variant: str
    model: ResultModel
    metrics: dict[str, float]
    main_metric: str
    higher_is_better: dict[str, bool]
    family: str  # protocol.kind, e.g. pair_similarity; "" when the file does not say
    comparison: dict[str, MetricComparison] = field(default_factory=dict)  # against the base model, by metric
    compared_against: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the EvalOptions the run recorded
    wall_time_s: float | None = None  # the evaluation's, from the file's provenance
    git_commit: str | None = None  # of the evaluation

    @property
    def key(self) -> str:
        return f"{self.task}@{self.variant}" if self.variant else self.task

    @classmethod
    def from_index(cls, path: Path, entry: dict[str, Any]) -> Summary:
        """A summary the index stored (:func:`dataclasses.asdict` of one)."""
        return cls(path=path, **{**entry, "model": ResultModel(**entry["model"]),
                                 "comparison": {m: MetricComparison(**c) for m, c in entry["comparison"].items()}})


def summarize(result: Result) -> Summary:
    record = result.record
    return Summary(
        path=result.path, task=record.task, variant=record.variant, model=record.model, metrics=record.metrics,
        main_metric=record.main_metric, higher_is_better=record.higher_is_better,
        family=str(record.protocol.get("kind") or ""),
        comparison=record.comparison.metrics if record.comparison else {},
        compared_against=record.comparison.against if record.comparison else None,
        options=record.options, wall_time_s=record.wall_time_s,
        git_commit=record.provenance.get("git_commit") if isinstance(record.provenance.get("git_commit"), str) else None,
    )


_SUMMARY_FIELDS = {f for f in Summary.__dataclass_fields__ if f != "path"}


def warn_skipped(path: Path, message: str) -> None:
    print(f"harness: warning: skipped invalid result file {message}", file=sys.stderr)


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _load_index(root: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((root / INDEX_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION or not isinstance(data.get("entries"), dict):
        return {}
    return data["entries"]


def _save_index(root: Path, entries: dict[str, dict[str, Any]]) -> None:
    if not os.access(root, os.W_OK):
        return
    try:
        atomic_write_text(root / INDEX_NAME, json.dumps({"version": INDEX_VERSION, "entries": entries}, separators=(",", ":")))
    except OSError:  # a cache: failing to write it only costs the next build time
        pass


def _entry(path: Path, stat: list[int]) -> dict[str, Any]:
    try:
        summary = asdict(summarize(load_result(path, summary_only=True)))
    except ResultError as exc:
        message = str(exc)
        prefix = f"{path}: "
        return {"stat": stat, "error": message[len(prefix):] if message.startswith(prefix) else message}
    del summary["path"]
    return {"stat": stat, "summary": summary}


def _usable(entry: Any, stat: list[int]) -> bool:
    """An index entry for this very file version, written by this version of the code."""
    if not isinstance(entry, dict) or entry.get("stat") != stat:
        return False
    summary = entry.get("summary")
    return "error" in entry or (isinstance(summary, dict) and set(summary) == _SUMMARY_FIELDS)


def read_summaries(root: Path, on_error: Callable[[Path, str], None] = warn_skipped) -> list[Summary]:
    """Summaries of every result file under ``root`` (sorted by path); invalid files go to ``on_error``.

    ``on_error(path, message)`` receives a message that starts with the path, as
    :func:`harness.result_files.load_results` gives it.
    """
    root = Path(root)
    use_index = root.is_dir()
    index = _load_index(root) if use_index else {}
    entries: dict[str, dict[str, Any]] = {}
    out = []
    for path in iter_result_files(root):
        rel = path.relative_to(root).as_posix() if use_index else path.name
        try:
            stat = _stat_key(path)
        except OSError:  # removed since the listing
            continue
        entry = index.get(rel)
        if not _usable(entry, stat):
            entry = _entry(path, stat)
        entries[rel] = entry
        if "error" in entry:
            on_error(path, f"{path}: {entry['error']}")
        else:
            out.append(Summary.from_index(path, entry["summary"]))
    if use_index and entries != index:
        _save_index(root, entries)
    return out
