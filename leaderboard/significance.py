"""Paired comparisons for the paper tables: a result against its base model's and against its NTP run's.

Δ = metric(row) − metric(reference) with its 95% percentile interval from
:func:`harness.bootstrap.paired_bootstrap` (A = the reference, B = the row; the default ``sequence``
unit by default, so an LM task resamples whole held-out sequences; ``item``, single tokens, as the paper's
appendix C did, needs the full result files; ``n_resamples`` and ``seed`` fixed by the build, 1000 and 0 by
default), so the same files always give the same marks. Both comparisons are
computed from the items of the two files, so they share one seed and one unit; the comparison a
result file stores (made at evaluation time, with that run's seed) is used only when a file holds no
items (a result imported without them).

Records are read with their items; a reference (a base model's or an NTP run's result, compared with
many rows) is kept for the build, a row's is read once. Each pair is bootstrapped once.

Seeds (:func:`seed_mark`): a configuration of several seeds is marked only when every seed was
compared and every seed's interval excludes 0 on the same side (each seed against the base, and
against the NTP run of its own seed). A mark on a multi-seed row is thus a claim about each seed, not
about the seed mean; a bootstrap of the mean would need the seeds' items resampled jointly.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.comparison import MetricComparison
from harness.errors import UserError
from harness.result_files import ResultError, load_result
from harness.results import ResultRecord
from leaderboard.reader import Summary

BETTER, WORSE, NONE = 1, -1, 0


class Comparer:
    """Bootstraps between result files, each pair once (see the module docstring)."""

    def __init__(self, n_resamples: int = 1000, seed: int = 0, unit: str = "sequence") -> None:
        self.n_resamples, self.seed, self.unit = n_resamples, seed, unit
        self._references: dict[Path, ResultRecord | None] = {}
        self._pairs: dict[tuple[Path, Path], dict[str, MetricComparison]] = {}

    def _load(self, path: Path) -> ResultRecord | None:
        try:
            return load_result(path).record
        except ResultError as exc:  # changed since it was summarised: no comparison
            print(f"harness: warning: {exc}", file=sys.stderr)
            return None

    def _reference(self, path: Path) -> ResultRecord | None:
        if path not in self._references:
            self._references[path] = self._load(path)
        return self._references[path]

    def compare(self, row: Summary, references: list[Summary | None]) -> list[dict[str, MetricComparison]]:
        """Per reference (None: none), the comparisons of ``row`` against it, by metric."""
        todo = [r for r in references if r is not None and (r.path, row.path) not in self._pairs]
        record = self._load(row.path) if todo else None
        for ref in todo:
            self._pairs[(ref.path, row.path)] = self._bootstrap(ref, row, record)
        return [{} if r is None else self._pairs[(r.path, row.path)] for r in references]

    def _bootstrap(self, ref: Summary, row: Summary, record: ResultRecord | None) -> dict[str, MetricComparison]:
        from harness.pairing import reference_bootstrap

        reference = self._reference(ref.path)
        if record is None or reference is None:
            return {}
        if not (record.items and reference.items and record.aggregations and reference.aggregations):
            # no items to resample: the file's own comparison, if it is against this very reference
            return dict(row.comparison) if row.compared_against == ref.model.id else {}
        try:
            comps = reference_bootstrap(reference, record, n_resamples=self.n_resamples, seed=self.seed,
                                        unit=self.unit)
        except UserError as exc:  # e.g. no common items: the cell goes unmarked
            print(f"harness: warning: no comparison of {row.model.name} with {ref.model.name} on {row.key}: {exc}",
                  file=sys.stderr)
            return {}
        return {c.metric: c for c in comps}


def direction(comparison: MetricComparison | None, higher_is_better: bool | None) -> int:
    """BETTER / WORSE when the interval of Δ excludes 0 (a metric of no direction: higher counts as better),
    NONE when it contains 0 or there is no comparison."""
    if comparison is None or not comparison.significant:
        return NONE
    up = comparison.lower > 0  # the interval lies above 0 (else below: it excludes 0)
    return BETTER if up == (higher_is_better is not False) else WORSE


def seed_mark(comparisons: list[MetricComparison | None], higher_is_better: bool | None) -> int:
    """A configuration's mark: the seeds' common direction when every seed has one, else NONE."""
    sides = {direction(c, higher_is_better) for c in comparisons}
    return sides.pop() if len(sides) == 1 and comparisons else NONE
