"""Layer profiles: per base model, the main metric against hidden-state layer (results of ``--layers``).

One PNG per base model that has per-layer results (``spearman.L<l>``, :func:`harness.results.split_layer`),
one panel per task (and variant): the base model a thick black line, each of its adapters a coloured
line with markers. An adapter's point at each layer carries the paired bootstrap's 95% CI of Δ against
the base at that layer, drawn around base + Δ (adapters are nudged apart along x so bars do not
overlap). Layer 0 is the embeddings, the last the final layer (after the final norm).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Callable

from harness.paths import slug
from harness.results import split_layer
from leaderboard.render import format_lambda, method_label
from leaderboard.table import EXTERNAL_GROUP, Cell, Column, Leaderboard, Row

Profile = list[tuple[int, float, tuple[float, float] | None]]  # layer, value, CI around base + Δ


def profile(row: Row, col: Column) -> Profile:
    """The per-layer values of ``col``'s main metric in ``row``'s result, with their CI bars, by layer."""
    from leaderboard.plots import ci_bar

    source = row.sources.get(col.key)
    if source is None:
        return []
    points = []
    for metric, value in source.metrics.items():
        name, layer = split_layer(metric)
        if layer is not None and name == col.metric and math.isfinite(value):
            points.append((layer, value, ci_bar(Cell.of(value, source.comparison.get(metric)))))
    return sorted(points)


def _label(row: Row) -> str:
    if row.method == "base":
        return f"base: {row.name}"
    return f"{method_label(row.method)} λ={format_lambda(row.lam)}" if row.lam is not None else row.name


def plot_layer_profile(title: str, columns: list[Column], lines: dict[str, list[tuple[Row, Profile]]],
                       path: Path) -> None:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from leaderboard.plots import COLORS, draw_ci_bars, save_png

    ncols = min(4, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    fig = Figure(figsize=(3.4 * ncols + 2.4, 2.8 * nrows + 0.6), dpi=100)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    handles = {}
    for ax, col in zip(axes.flat, columns):
        series = lines[col.key]
        adapters = [row for row, _ in series if row.method != "base"]
        bars = []
        for row, points in series:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            if row.method == "base":
                handles[_label(row)] = ax.plot(xs, ys, color="black", linewidth=2.2, label=_label(row), zorder=3)[0]
                continue
            k = adapters.index(row)
            color = COLORS[k % len(COLORS)]
            nudge = 0.12 * (k - (len(adapters) - 1) / 2)
            handles[_label(row)] = ax.plot([x + nudge for x in xs], ys, color=color, linewidth=1.2, marker="o",
                                           markersize=2.5, label=_label(row), zorder=4)[0]
            bars += [(x + nudge, *ci, color) for x, _, ci in points if ci is not None]
        draw_ci_bars(ax, bars)
        ax.autoscale_view()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(col.label, fontsize=9)
        ax.set_xlabel("layer (0 = embeddings)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(columns):]:
        ax.set_visible(False)
    width = fig.get_figwidth()
    fig.subplots_adjust(left=0.5 / width * 1.5, right=1 - 2.4 / width, top=1 - 0.8 / fig.get_figheight(),
                        bottom=0.5 / fig.get_figheight(), wspace=0.3, hspace=0.5)
    fig.suptitle(title, fontsize=11)
    from matplotlib.lines import Line2D

    bar = Line2D([], [], color="0.3", marker="_", markersize=8, linewidth=1.0, label="95% CI of Δ vs base\n(paired bootstrap)")
    fig.legend(handles=list(handles.values()) + [bar], loc="upper left", bbox_to_anchor=(1 - 2.4 / width + 0.01, 0.92),
               fontsize=7, frameon=False)
    save_png(fig, path)


def layer_profile_plots(board: Leaderboard, style_version: int) -> list[tuple[str, str, str, Callable[[Path], None]]]:
    """(file name, title, digest of what it shows, draw) of each base model's layer-profile plot."""
    plots = []
    for group, name in board.group_names.items():
        if group == EXTERNAL_GROUP:
            continue
        rows = [r for r in board.rows if r.group == group]
        columns, lines = [], {}
        for col in board.columns:
            if col.layer is not None:
                continue
            series = [(r, p) for r in rows if (p := profile(r, col))]
            if any(r.method == "base" for r, _ in series):
                columns.append(col)
                lines[col.key] = series
        if not columns:
            continue
        title = f"Layer profile: {name}"
        state = (style_version, title, [c.label for c in columns],
                 [(k, [(_label(r), p) for r, p in v]) for k, v in lines.items()])
        digest = hashlib.sha256(repr(state).encode()).hexdigest()
        plots.append((f"layer-profile-{slug(name).lower()}.png", title, digest,
                      lambda path, t=title, c=columns, s=lines: plot_layer_profile(t, c, s, path)))
    return plots
