"""PNG plots like the paper's figures 3–5: every metric against λ, one grid per task family.

One PNG per family (semantic similarity, language modelling, ...), one panel per column (y: the metric,
↑ better higher, ↓ lower; x: λ), one shared legend below the panels, outside every axes. Colour = base
model; style = method: concept runs a solid line with circles, concept runs of content scope a dotted
line with diamonds, noise runs dashed with crosses, other λ objectives dash-dotted with triangles (fill:
the training corpus and selector, when there are several). NTP (λ = 0) is a square edged in red, its level a red dotted
horizontal line; the base model a dash-dotted one; models without λ (other objectives such as CAFT, external models and
encoders) grey horizontal lines with their own dashes.

A configuration trained with several seeds is drawn once at its λ (:mod:`leaderboard.plot_data`): the
marker (and the line) at the seed mean, each seed's own value a small faint dot just right of it, and the
CI bar the mean of the seeds' CI bounds. Every point compared with its base model carries the paired
bootstrap's 95% CI of Δ as an error bar around base + Δ, so a difference the bootstrap does not find
significant never looks large because the axis zoomed in. Per base model with ``--layers`` results,
:mod:`leaderboard.layer_plots` draws Spearman against layer. A panel's y axis is logarithmic when its
positive values span more than 50× (noise runs can raise perplexity a thousandfold).

Rendering is most of a build's time (about half a CPU-second per grid of a hundred runs), so
each PNG is redrawn only when what it shows changed: ``.plots-manifest.json`` in the plots
folder keeps a sha256 of every plot's inputs. The manifest also names the files this code
wrote, so plots of families no longer on the board are removed and nothing else is touched.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Callable

from harness.atomic import atomic_path, atomic_write_text
from harness.errors import UserError
from harness.paths import slug
from leaderboard.ci_bars import draw_ci_bars
from leaderboard.plot_data import Panel, ci_bar, panel_data
from leaderboard.render import family_title, method_label, panel_title
from leaderboard.table import Column, Leaderboard

__all__ = ["ci_bar", "family_plots", "plot_filename", "write_plots"]  # ci_bar: its home is plot_data
TREND_STYLE = {"concept": ("o", "-"), "concept (content scope)": ("D", (0, (1, 1.5))), "noise": ("X", "--")}
OTHER_STYLE = ("^", (0, (5, 1.5, 1, 1.5)))
FILLS = ("full", "none")  # per training corpus/selector (cycling when there are more than two)
BASE_DASH = (0, (8, 3, 2, 3))
NTP_DASH = (0, (1, 2))  # NTP's level across λ, a thin red dotted line
EXTERNAL_DASHES = [(0, d) for d in ((1, 1.5), (6, 2), (3, 1, 1, 1, 1, 1), (12, 2, 2, 2), (2, 4))]
SEED_OFFSET = 0.045  # single seeds' dots, right of the mean's marker and CI bar (in λ)
LOG_SPAN = 50.0
MANIFEST = ".plots-manifest.json"
STYLE_VERSION = 6  # bump when the drawing code changes, so cached plots are redrawn
# matplotlib's tab10, spelled out so that a build whose plots are all unchanged never imports matplotlib
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
CI_LABEL = "95% CI of Δ vs base (paired bootstrap);\nseed groups: mean of the seeds' bounds"


def plot_filename(family: str) -> str:
    return slug(family_title(family).lower()) + ".png"


class _Styles:
    """Colours per base model, fills per training corpus/selector, dashes per level without λ."""

    def __init__(self, board: Leaderboard, panels: list[Panel], colors) -> None:
        groups = [g for g in board.group_names if any(t.group == g for p in panels for t in p.trends)
                  or any(lv.group == g and lv.kind == "base" for p in panels for lv in p.levels)]
        self.color = {g: colors[i % len(colors)] for i, g in enumerate(groups)}
        trainings = sorted({t.training for p in panels for t in p.trends})
        self.fill = {t: FILLS[i % len(FILLS)] for i, t in enumerate(trainings)}
        refs = list(dict.fromkeys(lv.key for p in panels for lv in p.levels if lv.kind == "reference"))
        self.dash = {k: EXTERNAL_DASHES[i % len(EXTERNAL_DASHES)] for i, k in enumerate(refs)}

    def state(self) -> tuple:
        return sorted(self.color.items()), sorted(self.fill.items()), sorted(self.dash.items())


def _draw_panel(ax, panel: Panel, col: Column, styles: _Styles) -> None:
    """One panel, drawn with a few collections (one per line style and marker) rather than one
    artist per run: a board of a hundred runs renders in a fraction of the time."""
    from matplotlib.collections import LineCollection

    hlines = [(lv.value.mean, styles.color[lv.group], BASE_DASH, 1.2) if lv.kind == "base"
              else (lv.value.mean, "0.35", styles.dash[lv.key], 1.4) for lv in panel.levels]
    hlines += [(p.mean, "red", NTP_DASH, 0.9) for t in panel.trends if t.method == "ntp" for p in t.points]
    marks: dict[tuple[str, str, bool], list[tuple[float, float, str]]] = {}  # (marker, fill, ntp) -> x, y, colour
    bars: list[tuple[float, float, float, str]] = []  # x, CI low, CI high, colour
    seeds: list[tuple[float, float, str]] = []
    by_line: dict[object, tuple[list, list]] = {}
    for trend in panel.trends:
        color, fill = styles.color[trend.group], styles.fill[trend.training]
        ntp = trend.method == "ntp"
        marker, line = ("s", "") if ntp else TREND_STYLE.get(trend.style, OTHER_STYLE)
        if len(trend.points) > 1:
            segs, colors = by_line.setdefault(line, ([], []))
            segs.append([(p.x, p.mean) for p in trend.points])
            colors.append(color)
        marks.setdefault((marker, fill, ntp), []).extend((p.x, p.mean, color) for p in trend.points)
        bars += [(p.x, *p.ci, color) for p in trend.points if p.ci is not None]
        seeds += [(p.x + SEED_OFFSET, v, color) for p in trend.points if len(p.seeds) > 1 for v in p.seeds]
    if hlines:
        ax.hlines([h[0] for h in hlines], -0.05, 1.05, colors=[h[1] for h in hlines],
                  linestyles=[h[2] for h in hlines], linewidths=[h[3] for h in hlines])
    for line, (segs, colors) in by_line.items():
        ax.add_collection(LineCollection(segs, colors=colors, linestyles=line, linewidths=1.5))
    draw_ci_bars(ax, bars)
    if seeds:
        ax.scatter([s[0] for s in seeds], [s[1] for s in seeds], s=12, c=[s[2] for s in seeds], alpha=0.5,
                   linewidths=0, zorder=3)
    for (marker, fill, ntp), pts in marks.items():
        colors = [p[2] for p in pts]
        face = colors if fill == "full" else "none"
        edge = "red" if ntp else colors
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=49 if ntp else 25, marker=marker, facecolors=face,
                   edgecolors=edge, linewidths=1.4 if ntp else 1.0, zorder=4)
    finite = [v for v in panel.values if math.isfinite(v)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > LOG_SPAN:
        ax.set_yscale("log")
    ax.autoscale_view()
    ax.set_xlim(-0.05, 1.05)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_title(panel_title(col), fontsize=9)
    ax.set_xlabel("λ", fontsize=8)
    ax.set_ylabel(f"{col.metric} {col.arrow}".strip(), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)


def _legend_handles(board: Leaderboard, styles: _Styles, panels: list[Panel]):
    """Legend entries for what these panels show, in the colours and styles of the whole board."""
    from matplotlib.lines import Line2D

    trends = [t for p in panels for t in p.trends]
    levels = list({lv.key: lv for p in panels for lv in p.levels}.values())
    groups = {t.group for t in trends} | {lv.group for lv in levels if lv.kind == "base"}
    handles = [Line2D([], [], color=c, linewidth=3, label=board.group_names[g]) for g, c in styles.color.items()
               if g in groups]
    for style in sorted({t.style for t in trends if t.method != "ntp"}, key=lambda s: (s not in TREND_STYLE, s)):
        marker, line = TREND_STYLE.get(style, OTHER_STYLE)
        method, _, scope = style.partition(" (")
        handles.append(Line2D([], [], color="black", marker=marker, linestyle=line,
                              label=f"{method_label(method)} λ" + (f" ({scope}" if scope else "")))
    if any(lv.kind == "base" for lv in levels):
        handles.append(Line2D([], [], color="black", linestyle=BASE_DASH, label="base model"))
    if any(t.method == "ntp" for t in trends):
        handles.append(Line2D([], [], color="red", marker="s", linestyle=NTP_DASH, linewidth=0.9,
                              markerfacecolor="black", markeredgecolor="red", label="NTP (λ = 0), its level dotted"))
    if len(styles.fill) > 1:
        for (corpus, selector), fill in styles.fill.items():
            if any(t.training == (corpus, selector) for t in trends):
                label = "trained on " + (", ".join(x for x in (corpus, selector) if x) or "?")
                handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none", fillstyle=fill, label=label))
    for lv in levels:
        if lv.kind == "reference":
            handles.append(Line2D([], [], color="0.35", linestyle=styles.dash[lv.key], linewidth=1.4, label=lv.label))
    if any(len(pt.seeds) > 1 for t in trends for pt in t.points):
        handles.append(Line2D([], [], color="0.3", marker="o", markersize=3.5, alpha=0.45, linestyle="none",
                              markeredgewidth=0, label="one training seed (faint dot);\nseed groups: marker = mean"))
    if any(pt.ci for t in trends for pt in t.points):
        handles.append(Line2D([], [], color="0.3", marker="_", markersize=8, linestyle="-", linewidth=1.0,
                              label=CI_LABEL))
    return handles


def family_figure(board: Leaderboard, family: str, columns: list[Column], panels: list[Panel], styles: _Styles):
    """The grid Figure of one family's columns (which all hold a value); its legend sits below the panels."""
    from matplotlib.figure import Figure  # a bare Figure renders with Agg; pyplot (and its state) is not needed

    ncols = min(4, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    handles = _legend_handles(board, styles, panels)
    legend_rows = math.ceil(len(handles) / ncols) + sum(h.get_label().count("\n") for h in handles)  # at most
    fig = Figure(figsize=(3.2 * ncols + 0.4, 2.8 * nrows + 0.5 + 0.17 * legend_rows), dpi=120, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, col, panel in zip(axes.flat, columns, panels):
        _draw_panel(ax, panel, col, styles)
    for ax in list(axes.flat)[len(columns):]:
        ax.set_visible(False)
    fig.suptitle(family_title(family), fontsize=11)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), ncols), fontsize=7,
               frameon=False, handlelength=3.5)
    return fig


def save_png(fig, path: Path) -> None:
    """Atomically, with no version stamp: the same results give the same bytes. The saved area is the
    drawing's bounding box, so a legend wider than the panels is never cut off."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None}, bbox_inches="tight", pad_inches=0.1)


def _digest(board: Leaderboard, family: str, columns: list[Column], panels: list[Panel], styles: _Styles) -> str:
    """sha256 of everything a family's plot shows, to skip redrawing an unchanged plot."""
    from importlib.metadata import version

    state = (STYLE_VERSION, version("matplotlib"), family, columns, panels, board.group_names, styles.state())
    return hashlib.sha256(repr(state).encode()).hexdigest()


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def family_plots(board: Leaderboard) -> list[tuple[str, str, str, Callable[[], object]]]:
    """(file name, title, digest of what it shows, figure maker) of each task family's λ-trend plot."""
    families: dict[str, list[tuple[Column, Panel]]] = {}
    for col in board.columns:
        panel = panel_data(board, col)
        if panel.trends or panel.levels:
            families.setdefault(col.family, []).append((col, panel))
    styles = _Styles(board, [p for pairs in families.values() for _, p in pairs], COLORS)
    plots = []
    for family, pairs in families.items():
        columns, panels = [c for c, _ in pairs], [p for _, p in pairs]
        plots.append((plot_filename(family), family_title(family), _digest(board, family, columns, panels, styles),
                      lambda f=family, c=columns, p=panels: family_figure(board, f, c, p, styles)))
    return plots


def write_plots(board: Leaderboard, folder: Path, overwrite: bool = False) -> list[tuple[str, Path]]:
    """One grid PNG per task family and one layer profile per base model with ``--layers`` results under
    ``folder``; returns (title, path) of every plot (drawn or kept). A PNG of that name that the folder's
    manifest does not list is not ours: replaced only with ``overwrite``."""
    from leaderboard.layer_plots import layer_profile_plots

    folder = Path(folder)
    plots = family_plots(board) + layer_profile_plots(board, STYLE_VERSION)
    old, new = _read_manifest(folder), {}
    foreign = [name for name, *_ in plots if name not in old and (folder / name).exists()]
    if foreign and not overwrite:
        raise UserError(f"{folder / foreign[0]} exists and was not drawn by this harness: pass --overwrite to "
                        f"replace it, or choose another --plots-dir")
    written = []
    for name, title, digest, figure in plots:
        path = folder / name
        new[name] = digest
        if old.get(name) != digest or not path.is_file():
            save_png(figure(), path)
        written.append((title, path))
    for name in set(old) - set(new):  # plots this code drew for families that are gone
        if name == slug(name) and name.endswith(".png"):
            (folder / name).unlink(missing_ok=True)
    if new != old:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / MANIFEST, json.dumps(new, indent=1, sort_keys=True) + "\n")
    return written
