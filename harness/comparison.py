"""A result's comparison block: B − A per metric with the paired bootstrap's interval (:class:`MetricComparison`,
computed by :mod:`harness.bootstrap`) against the base model's result of the same task (:class:`Comparison`), as a
result file stores it (:class:`harness.results.ResultRecord` reads it)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class MetricComparison:
    """B − A for one metric, with the paired bootstrap's percentile interval (:mod:`harness.bootstrap`)."""

    metric: str
    a: float
    b: float
    diff: float  # b − a on the full item set
    lower: float
    upper: float
    significant: bool  # the interval excludes 0
    higher_is_better: bool | None
    n_items: int
    n_resamples: int
    seed: int
    unit: str = "item"  # what was resampled: "sequence" (clusters of items) or "item"
    n_units: int = 0  # how many units a resample draws

    def to_dict(self) -> dict[str, Any]:
        """Its fields; a number it lacks (NaN, read from a file from elsewhere) is left out, never written."""
        return {k: v for k, v in asdict(self).items() if not (isinstance(v, float) and not math.isfinite(v))}

    @classmethod
    def from_dict(cls, metric: str, d: dict[str, Any]) -> MetricComparison | None:
        """A stored comparison; ``None`` when it does not say whether it is significant. Missing numbers
        of a file from elsewhere read as NaN (they are only displayed)."""
        if not isinstance(d.get("significant"), bool):
            return None
        nan = math.nan
        num = {k: d.get(k, nan) for k in ("a", "b", "diff", "lower", "upper")}
        hib = d.get("higher_is_better")
        return cls(metric=metric, **num, significant=d["significant"],
                   higher_is_better=hib if isinstance(hib, bool) else None, n_items=int(d.get("n_items", 0)),
                   n_resamples=int(d.get("n_resamples", 0)), seed=int(d.get("seed", 0)),
                   unit=str(d.get("unit", "item")), n_units=int(d.get("n_units", 0)))


@dataclass
class Comparison:
    """The paired bootstrap of a result against its base model's result of the same task."""

    against: str  # the base model's id
    against_file: str
    metrics: dict[str, MetricComparison]

    def to_dict(self) -> dict[str, Any]:
        return {"against": self.against, "against_file": self.against_file,
                "metrics": {m: c.to_dict() for m, c in self.metrics.items()}}

    @classmethod
    def from_dict(cls, d: Any) -> Comparison | None:
        if not isinstance(d, dict):
            return None
        stored = d.get("metrics") if isinstance(d.get("metrics"), dict) else {}
        metrics = {m: c for m, c in ((m, MetricComparison.from_dict(m, c)) for m, c in stored.items()
                                     if isinstance(c, dict)) if c is not None}
        return cls(against=str(d.get("against") or ""), against_file=str(d.get("against_file") or ""), metrics=metrics)
