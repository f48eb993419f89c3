"""``scores.png`` of ``harness concepts score-table``: one panel per gold, set precision (x) against set recall (y),
one point per concept file with its 95% bootstrap intervals as error bars (:mod:`concepts.lexsub_ci`), labelled
with the selector (:func:`concepts.score_table.selector_label`).

A bare :class:`matplotlib.figure.Figure` renders with Agg and keeps no pyplot state; the PNG is written under a
temporary name and renamed (:func:`harness.atomic.atomic_path`), without the ``Software`` metadata, so the same
inputs give the same bytes under the same matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from concepts.score_table import ScoreEntry, by_gold, gold_title
from harness.errors import UserError

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _err(value: float, low: float, high: float) -> tuple[float, float]:
    """(below, above) of an error bar; (0, 0) where the interval is missing (NaN)."""
    if value != value or low != low or high != high:
        return 0.0, 0.0
    return max(value - low, 0.0), max(high - value, 0.0)


def score_figure(scores: list[ScoreEntry]) -> Any:
    """The figure: a panel per gold that has score files, a point (``errorbar``) and a text label per file; a file
    whose precision or recall is NaN (nothing attempted) gets no point."""
    from matplotlib.figure import Figure

    golds = [(g, s) for g, s, _ in by_gold(scores, []) if s]
    fig = Figure(figsize=(5.5 * max(len(golds), 1), 4.8), dpi=100)
    axes = fig.subplots(1, max(len(golds), 1), squeeze=False)[0]
    colors = {label: COLORS[i % len(COLORS)] for i, label in enumerate(dict.fromkeys(s.label for s in scores))}
    for ax, (gold, entries) in zip(axes, golds):
        tops = [0.05, 0.05]  # the highest bar end on x and y (the axes start at 0 and leave room for the labels)
        seen: dict[tuple[float, float], int] = {}
        for s in entries:
            p, r = s.measures["all"].get("precision"), s.measures["all"].get("recall")
            if p is None or r is None or p.value != p.value or r.value != r.value:
                continue
            ex, ey = _err(p.value, p.low, p.high), _err(r.value, r.low, r.high)
            ax.errorbar([p.value], [r.value], xerr=[[ex[0]], [ex[1]]], yerr=[[ey[0]], [ey[1]]], fmt="o", ms=5,
                        capsize=3, color=colors[s.label])
            spot = (round(p.value, 2), round(r.value, 2))  # labels of points that (nearly) coincide are stacked
            seen[spot] = seen.get(spot, -1) + 1
            ax.annotate(s.label, (p.value, r.value), xytext=(5, 4 + 10 * seen[spot]), textcoords="offset points",
                        fontsize=8)
            tops = [max(tops[0], p.value + ex[1]), max(tops[1], r.value + ey[1])]
        ax.set_title(gold_title(gold), fontsize=10)
        ax.set_xlabel("set precision (95% CI)")
        ax.set_ylabel("set recall (95% CI)")
        ax.set_xlim(0, min(1.05, 1.3 * tops[0]))
        ax.set_ylim(0, min(1.05, 1.2 * tops[1]))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def write_score_plot(scores: list[ScoreEntry], path: Path) -> None:
    """:func:`score_figure` saved as PNG at ``path`` atomically (a failed write: one-line user error)."""
    from harness.atomic import atomic_path

    fig = score_figure(scores)
    try:
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format="png", metadata={"Software": None})
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror or exc})") from None
