"""Layer profiles: per base model, the main metric against hidden-state layer (results of ``--layers``).

One PNG per base model that has per-layer results (``spearman.L<l>``, :func:`harness.results.split_layer`),
one panel per task (and variant). Only the base model, NTP (λ = 0) and the concept runs of the default λ
scope are drawn (:data:`leaderboard.plot_data.LAYER_METHODS`; ``methods`` chooses others): a grid's ~17
adapters drawn together would be a tangle, and these are the runs the λ question is about. The base
model is a thick black line, NTP red, concept runs a colour ramp from dark (small λ) to light (λ = 1).

A configuration trained with several seeds is one line, the seed mean at every layer, in a faint band
from the seeds' minimum to their maximum; its CI bars are the mean of its seeds' bounds
(:mod:`leaderboard.plot_data`). An adapter's point at each layer carries the paired bootstrap's 95% CI of
Δ against the base at that layer, drawn around base + Δ (adapters are nudged apart along x so bars do not
overlap). Layer 0 is the embeddings, the last the final layer (after the final norm).
"""

from __future__ import annotations

import hashlib
import math
from typing import Callable

from harness.paths import slug
from leaderboard.ci_bars import draw_ci_bars
from leaderboard.plot_data import LAYER_METHODS, LayerLine, layer_lines
from leaderboard.render import panel_title
from leaderboard.table import EXTERNAL_GROUP, Column, Leaderboard

NTP_COLOR = "#d62728"
TITLE_NOTE = "base, NTP and concept λ runs"


def line_color(line: LayerLine) -> str:
    """Black for the base, red for NTP, viridis from 0.0 (λ → 0) to 0.8 (λ = 1) for the others."""
    from matplotlib import colormaps

    if line.method == "base":
        return "black"
    if line.method == "ntp":
        return NTP_COLOR
    return colormaps["viridis"](0.8 * (line.lam if line.lam is not None else 1.0))


def layer_figure(title: str, columns: list[Column], lines: dict[str, list[LayerLine]]):
    """The Figure of one base model's layer profiles; its legend sits below the panels."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    ncols = min(2, len(columns))  # wide panels: a layer axis has tens of points, each with its bar
    nrows = math.ceil(len(columns) / ncols)
    fig = Figure(figsize=(6.0 * ncols + 0.4, 3.2 * nrows + 0.8), dpi=120, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    handles: dict[str, object] = {}
    band = False
    for ax, col in zip(axes.flat, columns):
        adapters = [ln for ln in lines[col.key] if ln.method != "base"]
        bars = []
        for ln in lines[col.key]:
            color = line_color(ln)
            base = ln.method == "base"
            nudge = 0.0 if base else 0.12 * (adapters.index(ln) - (len(adapters) - 1) / 2)
            xs = [x + nudge for x in ln.layers]
            handles[ln.label] = ax.plot(xs, [p.mean for p in ln.points], color=color, linewidth=2.2 if base else 1.2,
                                        marker=None if base else "o", markersize=2.5, label=ln.label,
                                        zorder=3 if base else 4)[0]
            if any(len(p.seeds) > 1 for p in ln.points):
                band = True
                ax.fill_between(xs, [min(p.seeds) for p in ln.points], [max(p.seeds) for p in ln.points],
                                color=color, alpha=0.18, linewidth=0, zorder=2)
            bars += [(x, *p.ci, color) for x, p in zip(xs, ln.points) if p.ci is not None]
        draw_ci_bars(ax, bars, caps=False, alpha=0.45)
        ax.autoscale_view()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(panel_title(col), fontsize=9)
        ax.set_xlabel("hidden-state layer (0 = embeddings)", fontsize=8)
        ax.set_ylabel(f"{col.metric} {col.arrow}".strip(), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(columns):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11)
    extra = [Patch(color="0.3", alpha=0.18, linewidth=0, label="min–max across seeds")] if band else []
    extra.append(Line2D([], [], color="0.3", alpha=0.45, linewidth=1.0,
                        label="95% CI of Δ vs base (paired bootstrap);\nseed groups: mean of the seeds' bounds"))
    entries = list(handles.values()) + extra
    fig.legend(handles=entries, loc="outside lower center", ncols=min(len(entries), 2 * ncols), fontsize=7.5,
               frameon=False)
    return fig


def layer_profile_plots(board: Leaderboard, style_version: int, methods: tuple[str, ...] = LAYER_METHODS
                        ) -> list[tuple[str, str, str, Callable[[], object]]]:
    """(file name, title, digest of what it shows, figure maker) of each base model's layer-profile plot."""
    plots = []
    for group, name in board.group_names.items():
        if group == EXTERNAL_GROUP:
            continue
        rows = [r for r in board.rows if r.group == group]
        columns, lines = [], {}
        for col in board.columns:
            if col.layer is not None:
                continue
            series = layer_lines([r for r in rows if col.key in r.sources], col, methods)
            if any(ln.method == "base" for ln in series):
                columns.append(col)
                lines[col.key] = series
        if not columns:
            continue
        note = TITLE_NOTE if methods == LAYER_METHODS else ", ".join(methods)
        title = f"Layer profile: {name} ({note})"
        digest = hashlib.sha256(repr((style_version, title, columns, lines)).encode()).hexdigest()
        plots.append((f"layer-profile-{slug(name).lower()}.png", title, digest,
                      lambda t=title, c=columns, s=lines: layer_figure(t, c, s)))
    return plots
