"""Compact result records: copies small enough to commit on which ``harness compare`` gives the same numbers.

A full result keeps every per-item value: an LM task one item per scored token (~90,000 per corpus at 1,000
held-out sequences), a similarity task run with ``--layers all`` one cosine per pair and layer. What the
default bootstrap (``--bootstrap-unit sequence``, :mod:`harness.bootstrap`) reads of them is less:

- **Per cluster** (``items: per-cluster``). When items share clusters and every aggregation is a function of
  column sums (``mean``, ``ratio``, ``exp_ratio``), a resample only needs each cluster's column sums: it draws
  clusters, multiplies their sums by how often each was drawn and applies the aggregation. So one item per
  cluster whose columns hold the sums over its items, ``S_c(x) = Σ_{i∈c} x_i`` (``numpy.bincount`` in item
  order, the very sums the bootstrap forms from the full file), gives the same totals on every resample:
  ``ratio(num, den) = Σ_c S_c(num) / Σ_c S_c(den)`` (ΣNLL/N, Σcorrect/N), ``exp_ratio`` its exponential, and
  ``mean(x) = Σ_c S_c(x) / Σ_c n_c``, rewritten as ``ratio(x, n_items)`` with ``n_items`` = n_c, the full
  file's items in cluster c. Clusters keep their order of first appearance, so the bootstrap numbers the units
  as it does on the full file, and the same seed gives the same draws and the same interval. Columns no
  aggregation reads are dropped. An item-level bootstrap needs the full file and is refused on such a copy.
- **Ranks of per-layer columns** (``ranked``). A ``cosine.L<l>`` column (``--layers``) read only by
  ``spearman`` becomes ``cosine_rank.L<l>``: each value's dense rank (0 for the smallest, equal values one
  rank). ρ depends only on the order and ties of the values, which the ranks keep, so ``spearman`` and its
  resampled form (:class:`harness.aggregate.ResampledSpearman`) give identical numbers, and a small integer
  takes ~4 characters instead of a float's ~19. The main layer's column (``cosine``) keeps its values.

Metrics, comparison and every other block are copied unchanged; ``compacted``
(:class:`harness.results.Compaction`) says what was done and names the sha256 of the full file.
:func:`comparable` compacts a full record in memory when it is compared with a compact one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from harness.aggregate import SUM_DECOMPOSABLE
from harness.errors import UserError
from harness.results import Aggregation, Compaction, Items, ResultRecord, layer_name, split_layer

ITEMS_COLUMN = "n_items"  # per-cluster: how many of the full file's items a cluster holds
RANK_COLUMN = "cosine_rank"  # per-layer cosine columns become cosine_rank.L<l>


def compact_record(record: ResultRecord, source_sha256: str | None = None,
                   source_bytes: int | None = None) -> ResultRecord:
    """The compact copy of ``record`` (an already compact record is returned as it is)."""
    if record.compacted is not None or record.items is None:
        return record
    items, aggregations = record.items, dict(record.aggregations)
    block = Compaction(items="per-item", source_sha256=source_sha256, source_bytes=source_bytes,
                       source_items=len(items.ids))
    if _per_cluster(items, aggregations):
        items, aggregations, block = _merge_clusters(items, aggregations, block)
    items, aggregations, block = _rank_layers(items, aggregations, block)
    return replace(record, items=items, aggregations=aggregations, compacted=block)


def _per_cluster(items: Items, aggregations: dict[str, Aggregation]) -> bool:
    """Items share clusters, every aggregation is of column sums, and its columns hold no null."""
    if items.clusters is None or len(set(items.clusters)) == len(items.ids) or ITEMS_COLUMN in items.columns:
        return False
    read = {c for agg in aggregations.values() for c in agg.columns}
    return (bool(aggregations) and all(agg.fn in SUM_DECOMPOSABLE for agg in aggregations.values())
            and all(v is not None for c in read for v in items.columns[c]))


def _merge_clusters(items: Items, aggregations: dict[str, Aggregation], block: Compaction):
    """One item per cluster, each aggregated column summed over the cluster's items (first appearance order)."""
    assert items.clusters is not None
    index: dict = {}
    codes = np.array([index.setdefault(c, len(index)) for c in items.clusters], dtype=np.int64)
    labels = list(index)
    summed = list(dict.fromkeys(c for agg in aggregations.values() for c in agg.columns))
    columns: dict[str, list] = {c: np.bincount(codes, weights=np.asarray(items.columns[c], dtype=float),
                                               minlength=len(labels)).tolist() for c in summed}
    columns[ITEMS_COLUMN] = np.bincount(codes, minlength=len(labels)).tolist()
    rewritten = {m: Aggregation("ratio", (agg.columns[0], ITEMS_COLUMN)) for m, agg in aggregations.items()
                 if agg.fn == "mean"}
    merged = Items(ids=[str(c) for c in labels], columns=columns, clusters=labels)
    block = replace(block, items="per-cluster", summed=tuple(summed), items_column=ITEMS_COLUMN,
                    dropped=tuple(c for c in items.columns if c not in summed),
                    aggregations={m: aggregations[m] for m in rewritten})
    return merged, {**aggregations, **rewritten}, block


def _rank_layers(items: Items, aggregations: dict[str, Aggregation], block: Compaction):
    """Every ``cosine.L<l>`` column read only by ``spearman`` replaced by its dense ranks."""
    readers: dict[str, set[str]] = {}
    for agg in aggregations.values():
        for c in agg.columns:
            readers.setdefault(c, set()).add(agg.fn)
    ranked = {layer_name(RANK_COLUMN, split_layer(c)[1]): c for c in items.columns  # type: ignore[arg-type]
              if split_layer(c)[0] == "cosine" and split_layer(c)[1] is not None and readers.get(c) == {"spearman"}}
    if not ranked or any(new in items.columns for new in ranked):
        return items, aggregations, block
    old_to_new = {old: new for new, old in ranked.items()}
    columns = {old_to_new.get(c, c): dense_ranks(v) if c in old_to_new else v for c, v in items.columns.items()}
    aggs = {m: replace(a, columns=tuple(old_to_new.get(c, c) for c in a.columns)) for m, a in aggregations.items()}
    originals = {m: aggregations[m] for m, a in aggs.items() if a != aggregations[m]}
    block = replace(block, ranked=ranked, aggregations={**block.aggregations, **originals})
    return Items(ids=items.ids, columns=columns, clusters=items.clusters), aggs, block


def dense_ranks(values: list) -> list:
    """0 for the smallest value, 1 for the next distinct one, ...; equal values share a rank; null stays null."""
    present = [v for v in values if v is not None]
    _, inverse = np.unique(np.asarray(present, dtype=float), return_inverse=True)
    ranks = iter(inverse.tolist())
    return [None if v is None else next(ranks) for v in values]


def comparable(rec_a: ResultRecord, rec_b: ResultRecord, unit: str) -> tuple[ResultRecord, ResultRecord]:
    """Two records whose items can be paired: a full one is compacted (in memory) when the other is compact.
    An item-level bootstrap of a record compacted per cluster is a UserError: its items are clusters."""
    for rec in (rec_a, rec_b):
        if unit == "item" and rec.compacted is not None and rec.compacted.per_cluster:
            raise UserError(f"{rec.key} result of {rec.model.name} was compacted to one item per sequence (harness "
                            f"results compact): --bootstrap-unit item needs the per-token items of the full file "
                            f"(sha256 {str(rec.compacted.source_sha256)[:16]}...)")
    if (rec_a.compacted is None) != (rec_b.compacted is None):
        rec_a, rec_b = compact_record(rec_a), compact_record(rec_b)
    if rec_a.compacted is not None and rec_b.compacted is not None and rec_a.compacted.items != rec_b.compacted.items:
        raise UserError(f"the two {rec_a.key} results hold different kinds of items once compacted "
                        f"({rec_a.compacted.items} vs {rec_b.compacted.items}): compare two full files")
    return rec_a, rec_b
