"""The results schema: one result file per model, task and variant, read into :class:`ResultRecord` once.

A result file is the one interface between a run and a leaderboard. Its JSON object holds
``schema_version``, ``task``, ``variant``, ``model`` (:class:`ResultModel`), ``metrics``, ``main_metric``,
``higher_is_better``, ``aggregations`` (metric -> :class:`Aggregation`), ``protocol``, ``data``, ``seed``,
``options``, provenance (device, dtype, package versions, git commit, wall time, creation time), the
optional paired bootstrap ``comparison`` against the base model (:class:`Comparison`), the optional
``compacted`` block (:class:`Compaction`) and, last, the per-item values ``items`` (:class:`Items`) that the
bootstrap resamples. :meth:`ResultRecord.to_dict` writes the keys in that order (``items`` last lets a
summary read stop before the per-item arrays).

A *compact* record (``harness results compact``, :mod:`harness.compaction`) is a copy small enough to
commit whose metrics, comparison and every other block are the full file's, and whose items still give
``harness compare`` the same numbers under the default (sequence) bootstrap. Its ``compacted`` block::

    "compacted": {"items": "per-cluster" | "per-item",      # what one item of this file is
                  "source_sha256": "...", "source_bytes": 5712345,  # the full file it came from
                  "source_items": 90123,                     # the full file's item count
                  "summed": ["nll", "correct", "count"],     # per-cluster: columns now hold Σ over the cluster
                  "items_column": "n_items",                 # per-cluster: the full file's items in each cluster
                  "ranked": {"cosine_rank.L3": "cosine.L3"}, # a column replaced by its dense ranks
                  "dropped": ["n", "cross_sum"],             # columns no aggregation reads, left out
                  "aggregations": {"intra": {"fn": "mean", "columns": ["intra"]}}}  # the full file's, where rewritten

``per-cluster``: one item per cluster (an LM task's held-out sequence), id ``str(cluster)``, in order of the
clusters' first appearance, each aggregated column summed over the cluster's items; ``mean(x)`` becomes
``ratio(x, n_items)``. ``ranked``: a per-layer column read only by ``spearman`` (``cosine.L<l>``) holds the
dense rank of each value instead (0 for the smallest; equal values share a rank): Spearman's ρ depends on
ranks and ties only, so it is unchanged, exactly, on the file and on every resample.

Files are read and written by :mod:`harness.result_files`; :mod:`harness.result_checks` says what a
valid (and an acceptable untrusted) record is, and :meth:`ResultRecord.from_dict` reads only records
that passed it. This module imports neither torch nor any task.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from harness.comparison import Comparison

SCHEMA_VERSION = 1
LAYER_MARK = ".L"  # a metric or column of one hidden-state layer: spearman.L12, cosine.L12


def layer_name(name: str, layer: int) -> str:
    """The name of metric or column ``name`` computed at hidden-state layer ``layer``."""
    return f"{name}{LAYER_MARK}{layer}"


def split_layer(name: str) -> tuple[str, int | None]:
    """``spearman.L12`` -> (``spearman``, 12); a name of no layer -> (name, None)."""
    head, mark, tail = name.rpartition(LAYER_MARK)
    return (head, int(tail)) if mark and head and tail.isdigit() else (name, None)


@dataclass(frozen=True)
class Aggregation:
    """``metric = AGGREGATIONS.get(fn)(*[items.columns[c] for c in columns])`` (:mod:`harness.aggregate`);
    ``settings``: a registered aggregation's own settings (a plugin's), recorded beside ``fn`` so every
    recomputation uses the values the metric was computed with (none: no ``settings`` key, as always)."""

    fn: str
    columns: tuple[str, ...]
    settings: tuple[tuple[str, Any], ...] = ()  # given as a dict: kept as sorted pairs (hashable)

    def __post_init__(self) -> None:
        if isinstance(self.settings, dict):
            object.__setattr__(self, "settings", tuple(sorted(self.settings.items())))

    def to_dict(self) -> dict[str, Any]:
        return {"fn": self.fn, "columns": list(self.columns), **({"settings": dict(self.settings)} if self.settings else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Aggregation:
        return cls(str(d["fn"]), tuple(d["columns"]), dict(d.get("settings") or {}))


@dataclass
class Items:
    """Per-item raw values: ``ids[i]`` names item i, ``columns[c][i]`` is its value in column c (``None``:
    it has none, null in the file; never NaN), ``clusters[i]`` the unit item i is resampled with (LM tasks:
    its sequence; ``None``: every item its own cluster). A paired bootstrap resamples clusters (or single
    items) shared by two runs, matched by item id."""

    ids: list[str]
    columns: dict[str, list[float | None]]
    clusters: list[int] | list[str] | None = None

    def __post_init__(self) -> None:
        for name, col in self.columns.items():
            assert len(col) == len(self.ids), f"column {name} has {len(col)} values for {len(self.ids)} ids"
        assert self.clusters is None or len(self.clusters) == len(self.ids), "one cluster per item"

    def cluster_ids(self) -> list:
        return list(range(len(self.ids))) if self.clusters is None else list(self.clusters)

    def to_dict(self) -> dict[str, Any]:
        clusters = {} if self.clusters is None else {"clusters": list(self.clusters)}
        return {"ids": self.ids, **clusters, "columns": self.columns}


@dataclass
class ResultModel:
    """The ``model`` block: what was evaluated (:class:`harness.models.ModelInfo`'s fields), plus the
    leaderboard's labels (``role`` "external", ``display_name``) and any key a file from elsewhere adds."""

    id: str
    name: str
    spec: str
    kind: str | None = None  # causal_lm | adapter | encoder
    base: str | None = None
    path: str | None = None
    adapter_path: str | None = None
    adapter_hash: str | None = None
    base_id: str | None = None  # id of the base model's results, for adapters
    training: dict[str, Any] | None = None  # the trainer's harness_train.json, for adapters it wrote
    role: str | None = None
    display_name: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResultModel:
        known = {f.name for f in fields(cls)} - {"other"}
        training = d.get("training")
        return cls(**{k: d[k] for k in known if k in d and k != "training"},
                   training=training if isinstance(training, dict) else None,
                   other={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "other"}
        for label in ("role", "display_name"):  # written only when set
            if d[label] is None:
                del d[label]
        return {**d, **self.other}


@dataclass
class Compaction:
    """The ``compacted`` block of a compact record: what its items are and what the full file held (see the
    module docstring)."""

    items: str  # "per-cluster" (one item per cluster, columns summed) or "per-item"
    source_sha256: str | None = None
    source_bytes: int | None = None
    source_items: int = 0
    summed: tuple[str, ...] = ()
    items_column: str | None = None
    ranked: dict[str, str] = field(default_factory=dict)  # new column -> the full file's column
    dropped: tuple[str, ...] = ()
    aggregations: dict[str, Aggregation] = field(default_factory=dict)  # the full file's, where rewritten

    @property
    def per_cluster(self) -> bool:
        return self.items == "per-cluster"

    def to_dict(self) -> dict[str, Any]:
        d = {"items": self.items, "source_sha256": self.source_sha256, "source_bytes": self.source_bytes,
             "source_items": self.source_items, "summed": list(self.summed), "items_column": self.items_column,
             "ranked": dict(self.ranked), "dropped": list(self.dropped),
             "aggregations": {m: a.to_dict() for m, a in self.aggregations.items()}}
        return {k: v for k, v in d.items() if v not in (None, [], {})}

    @classmethod
    def from_dict(cls, d: Any) -> Compaction | None:
        if not isinstance(d, dict):
            return None
        aggs = _dict(d.get("aggregations"))
        return cls(items=str(d["items"]), source_sha256=d.get("source_sha256"), source_bytes=d.get("source_bytes"),
                   source_items=int(d.get("source_items") or 0), summed=tuple(d.get("summed") or ()),
                   items_column=d.get("items_column"), ranked=dict(_dict(d.get("ranked"))),
                   dropped=tuple(d.get("dropped") or ()),
                   aggregations={m: Aggregation.from_dict(a) for m, a in aggs.items()})


_TYPED = ("schema_version", "task", "variant", "model", "metrics", "undefined", "main_metric", "higher_is_better",
          "aggregations", "protocol", "data", "seed", "options", "comparison", "compacted", "items")


@dataclass
class ResultRecord:
    """One result file, typed. ``provenance`` keeps every other top-level key in file order
    (device, dtype, versions, git_commit, wall_time_s, created, and whatever a file from elsewhere adds)."""

    task: str
    model: ResultModel
    metrics: dict[str, float | None]  # None: undefined on these items, the reason in ``undefined``
    main_metric: str
    variant: str = ""
    undefined: dict[str, str] = field(default_factory=dict)  # metric -> why it has no value
    higher_is_better: dict[str, bool] = field(default_factory=dict)
    aggregations: dict[str, Aggregation] = field(default_factory=dict)
    protocol: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    comparison: Comparison | None = None
    items: Items | None = None
    compacted: Compaction | None = None  # a compact copy of a full file (harness.compaction)
    schema_version: int = SCHEMA_VERSION

    @property
    def key(self) -> str:
        """Task and variant: what must match for two results to be compared."""
        return f"{self.task}@{self.variant}" if self.variant else self.task

    @property
    def wall_time_s(self) -> float | None:
        value = self.provenance.get("wall_time_s")
        return float(value) if isinstance(value, (int, float)) else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the file; optional blocks that are empty (a file from elsewhere) are left out."""
        optional = {"higher_is_better": dict(self.higher_is_better),
                    "aggregations": {m: a.to_dict() for m, a in self.aggregations.items()},
                    "protocol": self.protocol, "data": self.data, "seed": self.seed, "options": self.options}
        d: dict[str, Any] = {
            "schema_version": self.schema_version, "task": self.task, "variant": self.variant,
            "model": self.model.to_dict(), "metrics": dict(self.metrics),
            **({"undefined": dict(self.undefined)} if self.undefined else {}), "main_metric": self.main_metric,
            **{k: v for k, v in optional.items() if v not in (None, {})}, **self.provenance,
        }
        if self.comparison is not None:
            d["comparison"] = self.comparison.to_dict()
        if self.compacted is not None:
            d["compacted"] = self.compacted.to_dict()
        if self.items is not None:
            d["items"] = self.items.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResultRecord:
        """A record that passed :func:`harness.result_checks.validate` (optional parts read leniently)."""
        hib = d.get("higher_is_better")
        if isinstance(hib, bool):  # a single direction for every metric
            hib = {m: hib for m in d["metrics"]}
        aggs = d.get("aggregations") if isinstance(d.get("aggregations"), dict) else {}
        items = d.get("items")
        return cls(
            task=str(d["task"]), variant=str(d.get("variant") or ""), model=ResultModel.from_dict(d["model"]),
            metrics={k: None if v is None else float(v) for k, v in d["metrics"].items()},
            undefined={str(k): str(v) for k, v in _dict(d.get("undefined")).items()}, main_metric=str(d["main_metric"]),
            higher_is_better={k: v for k, v in (hib or {}).items() if isinstance(v, bool)},
            aggregations={m: Aggregation.from_dict(a) for m, a in aggs.items()},
            protocol=_dict(d.get("protocol")), data=_dict(d.get("data")),
            seed=d.get("seed") if isinstance(d.get("seed"), int) else None, options=_dict(d.get("options")),
            provenance={k: v for k, v in d.items() if k not in _TYPED},
            comparison=Comparison.from_dict(d.get("comparison")), compacted=Compaction.from_dict(d.get("compacted")),
            items=Items(ids=list(items["ids"]), columns=dict(items["columns"]), clusters=items.get("clusters"))
            if isinstance(items, dict) else None,
            schema_version=int(d["schema_version"]),
        )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
