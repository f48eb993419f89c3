"""Summaries -> the paper's tables: similarity (its tables 3 and 5) and language modelling and geometry
(its tables 4 and 6), one pair per training corpus.

Columns:

- similarity: MEN, WordSim353, SimLex-999, STS-B (each task's main metric, Spearman ρ, of the
  default embedding protocol: the results of no variant);
- language modelling and geometry: clustering score, ID PPL, ID Acc, OOD PPL, OOD Acc (content-word
  next-token prediction, as in the paper's tables), then centroid similarity and the global
  (every-token) ID/OOD PPL and Acc.

ID and OOD: an LM result's variant is the corpus it evaluated (:mod:`tasks.lm`); it is in-domain when
that corpus is the model's training corpus (``model.training.corpus``). A base or external model has
none: in the table of training corpus C its ID result is its result on C, its OOD results those on the
corpora the table's trained rows were evaluated on besides C. One OOD corpus gives the paper's "OOD
PPL"; several give one column each, named by corpus. Models of another training corpus are in that
corpus's tables; base and external models are in every table.

Rows: per base model (the Model column, as the paper's), its configurations (:mod:`leaderboard.configs`)
in the main leaderboard's order (Base, NTP, Concept λ, Noise λ, other objectives, external). A
configuration's seeds are one row; a cell is the mean across them and, with several, the sample
standard deviation (n − 1). Marks: :mod:`leaderboard.significance`. Bold: the best mean of
its base model's rows in that column (ties all bold). Columns and rows with no value are left out.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from harness.comparison import MetricComparison
from harness.results import ResultModel
from leaderboard.configs import Config, configuration, settings_differences
from leaderboard.reader import Summary
from leaderboard.significance import Comparer, seed_mark
from leaderboard.table import EXTERNAL, EXTERNAL_GROUP, METHOD_ORDER, TASK_TITLES

SIMILARITY, LM = "similarity", "lm_geometry"
LM_TASKS = ("content_word_ppl", "global_ppl")


@dataclass(frozen=True)
class PaperColumn:
    header: str  # the paper's name: MEN, ID PPL, ...
    task: str
    metric: str | None = None  # None: the result's main metric
    variant: str = ""  # the LM tasks' evaluated corpus


SIMILARITY_COLUMNS = tuple(PaperColumn(TASK_TITLES[t], t) for t in ("men", "wordsim353", "simlex999", "stsb"))


def lm_columns(corpus: str, oods: list[str]) -> list[PaperColumn]:
    """The language-modelling and geometry columns of the table of training corpus ``corpus``."""
    def lm(prefix: str, task: str) -> list[PaperColumn]:
        cols = [PaperColumn(f"{prefix}ID PPL", task, "perplexity", corpus),
                PaperColumn(f"{prefix}ID Acc", task, "accuracy", corpus)] if corpus else []
        for ood in oods:
            named = "" if len(oods) == 1 else f" ({ood})"
            cols += [PaperColumn(f"{prefix}OOD PPL{named}", task, "perplexity", ood),
                     PaperColumn(f"{prefix}OOD Acc{named}", task, "accuracy", ood)]
        return cols

    return [PaperColumn("Clustering score", "clustering", "clustering_score"), *lm("", "content_word_ppl"),
            PaperColumn("Centroid similarity", "centroid_similarity", "centroid_similarity"),
            *lm("Global ", "global_ppl")]


@dataclass
class SeedValue:
    """One model's (one seed's) value in one column, and its comparisons (Δ = this − reference)."""

    model: ResultModel
    seed: int | None
    summary: Summary
    metric: str
    value: float
    vs_base: MetricComparison | None = None
    ntp: ResultModel | None = None  # the NTP run compared with
    vs_ntp: MetricComparison | None = None


@dataclass
class PaperCell:
    values: list[SeedValue]  # by seed
    higher_is_better: bool | None
    bold: bool = False

    @property
    def mean(self) -> float:
        return statistics.fmean(v.value for v in self.values)

    @property
    def sd(self) -> float | None:
        """Sample standard deviation across seeds (n − 1); None for one seed."""
        return statistics.stdev([v.value for v in self.values]) if len(self.values) > 1 else None

    @property
    def base_mark(self) -> int:
        return seed_mark([v.vs_base for v in self.values], self.higher_is_better)

    @property
    def ntp_mark(self) -> int:
        return seed_mark([v.vs_ntp for v in self.values], self.higher_is_better)


@dataclass
class PaperRow:
    config: Config
    label: str
    group_name: str
    models: list[ResultModel]  # its seeds, by seed then id
    cells: dict[str, PaperCell] = field(default_factory=dict)  # column header -> cell

    def sort_key(self) -> tuple:
        c = self.config
        return (c.group == EXTERNAL_GROUP, c.group, METHOD_ORDER.get(c.method, 5 if c.method == EXTERNAL else 4),
                c.method, -1.0 if c.lam is None else c.lam, c.scope, self.label, c.key)


@dataclass
class PaperTable:
    kind: str  # SIMILARITY | LM
    corpus: str  # the training corpus ("" when no row was trained)
    oods: list[str]
    columns: list[PaperColumn]
    rows: list[PaperRow]


@dataclass
class _Board:
    """What every table reads: models, their configurations and results by (model id, task, variant)."""

    models: dict[str, ResultModel]
    configs: dict[str, Config]
    results: dict[tuple[str, str, str], Summary]
    group_names: dict[str, str]
    comparer: Comparer


def build_paper_tables(summaries: list[Summary], group_names: dict[str, str], comparer: Comparer) -> list[PaperTable]:
    """Both tables of every training corpus (sorted), each sorted deterministically."""
    board = _Board({}, {}, {}, group_names, comparer)
    for s in sorted(summaries, key=lambda s: str(s.path)):
        board.models.setdefault(s.model.id, s.model)
        board.results.setdefault((s.model.id, s.task, s.variant), s)
    board.configs = {mid: configuration(m) for mid, m in board.models.items()}
    corpora = sorted({c.corpus for c in board.configs.values() if c.trained}) or [""]
    tables = []
    for corpus in corpora:
        members = sorted(m for m, c in board.configs.items() if not c.trained or c.corpus == corpus)
        trained = {m for m in members if board.configs[m].trained}
        oods = sorted({v for (m, task, v) in board.results if m in trained and task in LM_TASKS and v != corpus})
        for kind, columns in ((SIMILARITY, list(SIMILARITY_COLUMNS)), (LM, lm_columns(corpus, oods))):
            table = _table(board, kind, corpus, oods, columns, members)
            if table.rows:
                tables.append(table)
    return tables


def _table(board: _Board, kind: str, corpus: str, oods: list[str], columns: list[PaperColumn],
           members: list[str]) -> PaperTable:
    rows = _rows(board, members)
    for row in rows:
        for col in columns:
            values = [v for v in (_value(board, model, col, members) for model in row.models) if v is not None]
            if values:
                hib = values[0].summary.higher_is_better.get(values[0].metric)
                row.cells[col.header] = PaperCell(values, hib)
    columns = [c for c in columns if any(c.header in r.cells for r in rows)]
    rows = [r for r in rows if r.cells]
    _disambiguate(rows)
    _mark_best(rows, columns)
    return PaperTable(kind, corpus, oods, columns, rows)


def _rows(board: _Board, members: list[str]) -> list[PaperRow]:
    """One row per configuration, its models (seeds) sorted by seed and id."""
    by_key: dict[tuple[str, str], list[str]] = {}
    for mid in members:
        c = board.configs[mid]
        by_key.setdefault((c.group, c.key), []).append(mid)
    rows = []
    for (group, _), mids in by_key.items():
        mids.sort(key=lambda m: (board.configs[m].seed is None, board.configs[m].seed or 0, m))
        config = board.configs[mids[0]]
        name = board.group_names.get(group, group)
        rows.append(PaperRow(config, config.label, name, [board.models[m] for m in mids]))
    return sorted(rows, key=PaperRow.sort_key)


def _base_of(board: _Board, model: ResultModel, members: list[str]) -> str | None:
    """The base model a row is compared with: its recorded ``base_id`` when that is on the board, else its
    group's (first) base model."""
    config = board.configs[model.id]
    if config.method == "base" or config.group == EXTERNAL_GROUP:
        return None
    if model.base_id in board.configs and board.configs[model.base_id].method == "base":
        return model.base_id
    return next((m for m in members if board.configs[m].method == "base" and board.configs[m].group == config.group),
                None)


def _ntp_of(board: _Board, model: ResultModel, members: list[str]) -> str | None:
    """The NTP run of the same settings (:mod:`leaderboard.configs`) and seed; with no NTP run of that seed,
    the only NTP run of those settings, if there is one."""
    config = board.configs[model.id]
    if not config.trained or config.method == "ntp":
        return None
    candidates = [m for m in members if board.configs[m].method == "ntp" and board.configs[m].ntp_key == config.ntp_key]
    same_seed = [m for m in candidates if board.configs[m].seed == config.seed]
    return (same_seed or (candidates if len(candidates) == 1 else [None]))[0]


def _value(board: _Board, model: ResultModel, col: PaperColumn, members: list[str]) -> SeedValue | None:
    s = board.results.get((model.id, col.task, col.variant))
    metric = (col.metric or s.main_metric) if s else ""
    value = s.metrics.get(metric) if s else None
    if s is None or value is None or not math.isfinite(value):
        return None
    base_id, ntp_id = _base_of(board, model, members), _ntp_of(board, model, members)
    refs = [board.results.get((mid, col.task, col.variant)) if mid else None for mid in (base_id, ntp_id)]
    vs_base, vs_ntp = board.comparer.compare(s, refs)
    if refs[0] is None and board.configs[model.id].method != "base":
        vs_base = s.comparison  # its base's result is not on the board: the comparison the file stores
    return SeedValue(model, board.configs[model.id].seed, s, metric, value, vs_base.get(metric),
                     board.models[ntp_id] if ntp_id and refs[1] else None, vs_ntp.get(metric))


def _disambiguate(rows: list[PaperRow]) -> None:
    """Rows of one base model that share a label get the settings in which they differ appended."""
    same: dict[tuple[str, str], list[PaperRow]] = {}
    for row in rows:
        same.setdefault((row.config.group, row.label), []).append(row)
    for clash in (g for g in same.values() if len(g) > 1):
        for row, diff in zip(clash, settings_differences([r.models[0] for r in clash])):
            shown = ", ".join(f"{k}={v}" for k, v in list(diff.items())[:3]) or row.config.config_id
            row.label = f"{row.label} [{shown}]"


def _mark_best(rows: list[PaperRow], columns: list[PaperColumn]) -> None:
    for col in columns:
        groups: dict[str, list[PaperCell]] = {}
        for row in rows:
            if col.header in row.cells:
                groups.setdefault(row.config.group, []).append(row.cells[col.header])
        for cells in groups.values():
            hib = cells[0].higher_is_better
            if len(cells) < 2 or hib is None:
                continue
            best = (max if hib else min)(c.mean for c in cells)
            for c in cells:
                c.bold = math.isclose(c.mean, best, rel_tol=1e-12, abs_tol=1e-15)  # a mean of equal values: ±1 ulp
