"""Confidence-interval bars on a matplotlib axes, shared by the family plots (:mod:`leaderboard.plots`) and the
layer profiles (:mod:`leaderboard.layer_plots`), which import it from here rather than from each other."""

from __future__ import annotations


def draw_ci_bars(ax, bars: list[tuple[float, float, float, str]], caps: bool = True, alpha: float = 0.8) -> None:
    """Vertical error bars ``(x, low, high, colour)``, with caps unless ``caps`` is False, as collections."""
    if not bars:
        return
    from matplotlib.collections import LineCollection

    colors = [b[3] for b in bars]
    ax.add_collection(LineCollection([[(x, lo), (x, hi)] for x, lo, hi, _ in bars], colors=colors, linewidths=1.0,
                                     alpha=alpha, zorder=2))
    if caps:
        ax.scatter([b[0] for b in bars] * 2, [b[1] for b in bars] + [b[2] for b in bars], marker="_", s=30,
                   c=colors * 2, linewidths=1.0, alpha=alpha, zorder=2)
