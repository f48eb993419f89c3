"""Summaries -> the leaderboard: rows grouped by base model and method, one column per task.

Rows (the paper's tables 3–4): within each base model, ``base`` (the model with no
post-training), ``ntp`` (λ = 0), ``concept`` λ, ``noise`` λ, other objectives, then
``external`` (adapters whose training is unknown). Encoders and causal LMs added with
``harness leaderboard add`` (``model.role == "external"``) form a last group of their own.

Columns: every task (and variant) seen, valued by its main metric, with ``higher_is_better``
from the result files. A cell is bold when it is the best value of its base-model group;
``significant`` is False where the paired bootstrap interval of Δ = row − base contains 0.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.comparison import MetricComparison
from harness.results import ResultModel, layer_name
from leaderboard.reader import Summary

METHOD_ORDER = {"base": 0, "ntp": 1, "concept": 2, "noise": 3}
LAMBDA_METHODS = ("concept", "noise")  # the methods λ belongs to (λ = 0 is NTP)
EXTERNAL = "external"
EXTERNAL_GROUP = ""  # the group key of models with no base model on the board
FAMILY_ORDER = {"pair_similarity": 0}
TASK_ORDER = {"men": 0, "wordsim353": 1, "simlex999": 2, "stsb": 3}  # the paper's column order
TASK_TITLES = {"men": "MEN", "wordsim353": "WordSim353", "simlex999": "SimLex-999", "stsb": "STS-B",  # their own names
               "content_word_ppl": "Content words", "global_ppl": "Every token", "clustering": "Clustering",
               "centroid_similarity": "Centroid similarity"}


@dataclass(frozen=True)
class Column:
    task: str
    variant: str
    metric: str
    higher_is_better: bool | None
    family: str
    layer: int | None = None  # a chosen layer's column (its metric: the main metric at that layer)

    @property
    def result_key(self) -> str:
        """Task and variant: the result files this column reads."""
        return f"{self.task}@{self.variant}" if self.variant else self.task

    @property
    def key(self) -> str:
        return self.result_key if self.layer is None else f"{self.result_key}#L{self.layer}"

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓"}.get(self.higher_is_better, "")

    @property
    def label(self) -> str:
        metric = "" if self.metric == self.task else f" {self.metric}"  # centroid_similarity, not twice
        return f"{self.result_key}{metric} {self.arrow}".rstrip()


@dataclass
class Cell:
    value: float
    significant: bool | None = None  # against the base model; None: not compared
    bold: bool = False
    comparison: MetricComparison | None = None  # the paired bootstrap against the base model (Δ and its 95% CI)

    @classmethod
    def of(cls, value: float, comparison: MetricComparison | None) -> Cell:
        return cls(value, None if comparison is None else comparison.significant, comparison=comparison)


@dataclass
class Row:
    group: str  # base model spec; EXTERNAL_GROUP for encoders and external models
    method: str  # base | ntp | concept | noise | <other objective> | external
    lam: float | None
    corpus: str
    selector: str
    name: str
    model_id: str
    kind: str
    base_id: str | None
    cells: dict[str, Cell] = field(default_factory=dict)  # column key -> cell
    sources: dict[str, Summary] = field(default_factory=dict)  # column key -> summary

    def sort_key(self) -> tuple:
        return (self.group == EXTERNAL_GROUP, self.group, METHOD_ORDER.get(self.method, 4 if self.method != EXTERNAL else 5),
                self.method, -1.0 if self.lam is None else self.lam, self.corpus, self.selector, self.name, self.model_id)


@dataclass
class Leaderboard:
    columns: list[Column]
    rows: list[Row]
    group_names: dict[str, str]  # group key -> display name


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Classification:
    """Where a model's row goes: its base model's group, its method, λ, training corpus and selector."""

    group: str  # base model spec; EXTERNAL_GROUP for encoders and external models
    method: str
    lam: float | None = None
    corpus: str = ""
    selector: str = ""


def classify(model: ResultModel) -> Classification:
    """The row placement of a result's model block.

    Trainer-written adapters carry ``model.training`` (method, lambda, corpus, selector);
    λ = 0 of the concept objective (or its noise control) is plain next-token prediction; other objectives
    do not read λ, so their rows carry none. Encoders and models
    added as external form their own group; a causal LM with no training is a base model.
    """
    base = str(model.base or model.spec or model.id)
    training = model.training or {}
    if training.get("method") or training.get("objective"):
        method = str(training.get("method") or training.get("objective")).lower()
        lam = _as_float(training.get("lambda"))
        if method == "ntp":
            lam = 0.0
        elif method not in LAMBDA_METHODS:
            lam = None  # objectives of their own settings (caft, alternatives, ...) do not read λ
        elif lam == 0.0:
            method = "ntp"
        return Classification(base, method, lam, str(training.get("corpus") or ""), str(training.get("selector") or ""))
    if model.kind == "encoder" or model.role == EXTERNAL:
        return Classification(EXTERNAL_GROUP, EXTERNAL)
    if model.kind == "adapter":
        return Classification(base, EXTERNAL)
    return Classification(base, "base")


def display_name(model: ResultModel) -> str:
    return str(model.display_name or model.name or model.id)


def _columns(summaries: list[Summary], layer: int | None = None) -> list[Column]:
    """One column per task and variant (its main metric); with ``layer``, also one of the main metric at that
    layer beside each column that some result reports it for (``--layers``)."""
    by_key: dict[tuple[str, str], list[Summary]] = {}
    for s in summaries:
        by_key.setdefault((s.task, s.variant), []).append(s)
    columns = []
    for (task, variant), group in by_key.items():
        # the majority's main metric (ties: alphabetical), so one odd file cannot relabel a column
        counts = Counter(s.main_metric for s in group)
        metric = min(counts, key=lambda m: (-counts[m], m))
        hib = Counter(s.higher_is_better[metric] for s in group if metric in s.higher_is_better)
        family = Counter(s.family for s in group if s.family)
        column = Column(task, variant, metric, max(hib, key=lambda v: (hib[v], v)) if hib else None,
                        min(family, key=lambda f: (-family[f], f)) if family else "")
        columns.append(column)
        if layer is not None and any(layer_name(metric, layer) in s.metrics for s in group):
            columns.append(Column(task, variant, layer_name(metric, layer), column.higher_is_better, column.family, layer))
    return sorted(columns, key=lambda c: (FAMILY_ORDER.get(c.family, 1), c.family, TASK_ORDER.get(c.task, 99), c.task,
                                          c.variant, -1 if c.layer is None else c.layer))


def _mark_best(board: Leaderboard) -> None:
    """Bold the best value of each column within each base-model group (ties all bold)."""
    for col in board.columns:
        if col.higher_is_better is None:
            continue
        groups: dict[str, list[Cell]] = {}
        for row in board.rows:
            cell = row.cells.get(col.key)
            if cell is not None and not math.isnan(cell.value):
                groups.setdefault(row.group, []).append(cell)
        for cells in groups.values():
            if len(cells) < 2:
                continue
            best = (max if col.higher_is_better else min)(c.value for c in cells)
            for c in cells:
                c.bold = c.value == best


def build_table(summaries: list[Summary], layer: int | None = None) -> Leaderboard:
    """Rows (one per model id) and columns (one per task and variant, and per chosen ``layer``), sorted
    deterministically."""
    summaries = sorted(summaries, key=lambda s: str(s.path))
    columns = _columns(summaries, layer)
    cols_by_key: dict[str, list[Column]] = {}
    for c in columns:
        cols_by_key.setdefault(c.result_key, []).append(c)
    rows: dict[str, Row] = {}
    for s in summaries:
        mid = s.model.id
        if mid not in rows:
            c = classify(s.model)
            rows[mid] = Row(c.group, c.method, c.lam, c.corpus, c.selector, display_name(s.model), mid,
                            s.model.kind or "", s.model.base_id)
        for col in cols_by_key[s.key]:
            value = s.metrics.get(col.metric)
            if value is not None:
                rows[mid].cells[col.key] = Cell.of(value, s.comparison.get(col.metric))
                rows[mid].sources[col.key] = s
    ordered = sorted(rows.values(), key=Row.sort_key)
    names = {}
    for row in ordered:
        if row.group == EXTERNAL_GROUP:
            names[row.group] = "External"
        elif row.method == "base" and row.group not in names:
            names[row.group] = row.name
    for row in ordered:
        names.setdefault(row.group, Path(row.group).name or row.group)
    board = Leaderboard(columns, ordered, names)
    _mark_best(board)
    return board


def bootstrap_missing(board: Leaderboard, n_resamples: int = 1000, seed: int = 0) -> int:
    """Fill in significance where a row has no stored comparison but its base model's result exists.

    Runs :func:`harness.pairing.reference_bootstrap` (base = A, row = B) on the two files; returns
    how many cells it compared.
    """
    from harness.errors import UserError
    from harness.result_files import load_result
    from harness.pairing import reference_bootstrap

    by_id = {r.model_id: r for r in board.rows}
    done = 0
    for row in board.rows:
        base = by_id.get(row.base_id or "")
        if base is None or base is row:
            continue
        for col in board.columns:
            cell, base_src = row.cells.get(col.key), base.sources.get(col.key)
            if cell is None or cell.significant is not None or base_src is None:
                continue
            rec_a, rec_b = load_result(base_src.path).record, load_result(row.sources[col.key].path).record
            if not (rec_a.items and rec_b.items and rec_a.aggregations and rec_b.aggregations):
                continue
            try:
                comps = {c.metric: c for c in reference_bootstrap(rec_a, rec_b, n_resamples=n_resamples, seed=seed)}
            except UserError as exc:  # e.g. no common items: leave the cell unmarked
                print(f"harness: warning: no bootstrap for {row.name} {col.key}: {exc}", file=sys.stderr)
                continue
            if col.metric in comps:
                cell.significant, cell.comparison = comps[col.metric].significant, comps[col.metric]
                done += 1
    return done
