"""PNG plots like the paper's figures 3–5: every metric against λ, one grid per task family.

One PNG per family (semantic similarity, language modelling, ...), one panel per column,
one shared legend. Colour = base model; style = method: concept runs a solid line with
circles, noise runs dashed with crosses, other objectives dotted with triangles (one line
per training corpus and selector, told apart by filled or hollow markers). The baselines
are separate marks: the base model a dash-dotted horizontal line, NTP (λ = 0) a square
edged in red. External models and encoders are grey horizontal lines with their own dashes.
Every point compared with its base model carries the paired bootstrap's 95% CI of Δ as an error bar
around base + Δ, so a difference the bootstrap does not find significant never looks large because
the axis zoomed in. Per base model with ``--layers`` results, :mod:`leaderboard.layer_plots` draws
Spearman against layer.
A panel's y axis is logarithmic when its positive values span more than 50× (noise runs
can raise perplexity a thousandfold).

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

from harness.atomic import atomic_write_text
from harness.errors import UserError
from harness.paths import slug
from leaderboard.render import family_title, method_label
from leaderboard.table import EXTERNAL_GROUP, Cell, Column, Leaderboard, Row

SERIES_STYLE = {"concept": ("o", "-"), "noise": ("X", "--")}
OTHER_STYLE = ("^", ":")
FILLS = ("full", "none")  # per training corpus/selector (cycling when there are more than two)
BASE_DASH = (0, (8, 3, 2, 3))
EXTERNAL_DASHES = [(0, d) for d in ((1, 1), (3, 1, 1, 1), (1, 2), (5, 2), (2, 1, 2, 3))]
LOG_SPAN = 50.0
MANIFEST = ".plots-manifest.json"
STYLE_VERSION = 4  # bump when the drawing code changes, so cached plots are redrawn
# matplotlib's tab10, spelled out so that a build whose plots are all unchanged never imports matplotlib
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def plot_filename(family: str) -> str:
    return slug(family_title(family).lower()) + ".png"


def _finite(row: Row, col: Column) -> bool:
    cell = row.cells.get(col.key)
    return cell is not None and math.isfinite(cell.value)


def ci_bar(cell: Cell | None) -> tuple[float, float] | None:
    """The paired 95% CI of a value against its base model, around base + Δ: (a + lower, a + upper)."""
    c = cell.comparison if cell is not None else None
    if c is None or not all(math.isfinite(v) for v in (c.a, c.lower, c.upper)):
        return None
    return c.a + c.lower, c.a + c.upper


def draw_ci_bars(ax, bars: list[tuple[float, float, float, str]]) -> None:
    """Vertical error bars ``(x, low, high, colour)`` with caps, as two collections."""
    if not bars:
        return
    from matplotlib.collections import LineCollection

    colors = [b[3] for b in bars]
    ax.add_collection(LineCollection([[(x, lo), (x, hi)] for x, lo, hi, _ in bars], colors=colors, linewidths=1.0,
                                     alpha=0.8, zorder=2))
    ax.scatter([b[0] for b in bars] * 2, [b[1] for b in bars] + [b[2] for b in bars], marker="_", s=30,
               c=colors * 2, linewidths=1.0, zorder=2)


class _Styles:
    """Colours per base model, fills per training corpus/selector, dashes per external model."""

    def __init__(self, board: Leaderboard, colors) -> None:
        groups = [g for g in dict.fromkeys(r.group for r in board.rows) if g != EXTERNAL_GROUP]
        self.color = {g: colors[i % len(colors)] for i, g in enumerate(groups)}
        trainings = sorted({(r.corpus, r.selector) for r in board.rows if r.lam is not None})
        self.fill = {t: FILLS[i % len(FILLS)] for i, t in enumerate(trainings)}
        externals = [r.model_id for r in board.rows if r.group == EXTERNAL_GROUP or (r.lam is None and r.method != "base")]
        self.dash = {m: EXTERNAL_DASHES[i % len(EXTERNAL_DASHES)] for i, m in enumerate(externals)}


def _draw_panel(ax, board: Leaderboard, col: Column, styles: _Styles) -> None:
    """One panel, drawn with a few collections (one per line style and marker) rather than one
    artist per run: a board of a hundred runs renders in a fraction of the time."""
    rows = [r for r in board.rows if _finite(r, col)]
    series: dict[tuple, list[tuple[float, float]]] = {}
    hlines: list[tuple[float, str, tuple, float]] = []  # y, colour, dashes, width
    marks: dict[tuple[str, str, bool], list[tuple[float, float, str]]] = {}  # (marker, fill, ntp) -> x, y, colour
    bars: list[tuple[float, float, float, str]] = []  # x, CI low, CI high, colour
    values = [r.cells[col.key].value for r in rows]
    for r, v in zip(rows, values):
        ci = ci_bar(r.cells[col.key])
        if ci is not None and (r.method == "ntp" or r.lam is not None):
            bars.append((0.0 if r.method == "ntp" else r.lam, *ci, styles.color[r.group]))
        if r.method == "base" and r.group != EXTERNAL_GROUP:
            hlines.append((v, styles.color[r.group], BASE_DASH, 1.2))
        elif r.method == "ntp":
            marks.setdefault(("s", styles.fill[(r.corpus, r.selector)], True), []).append((0.0, v, styles.color[r.group]))
        elif r.lam is not None:
            series.setdefault((r.group, r.method, r.corpus, r.selector), []).append((r.lam, v))
        else:
            hlines.append((v, "0.35", styles.dash[r.model_id], 1.4))
    if hlines:
        ax.hlines([h[0] for h in hlines], -0.05, 1.05, colors=[h[1] for h in hlines],
                  linestyles=[h[2] for h in hlines], linewidths=[h[3] for h in hlines])
    by_line: dict[str, tuple[list, list]] = {}
    for (group, method, corpus, selector), pts in series.items():
        pts.sort()
        marker, line = SERIES_STYLE.get(method, OTHER_STYLE)
        segs, colors = by_line.setdefault(line, ([], []))
        segs.append(pts)
        colors.append(styles.color[group])
        marks.setdefault((marker, styles.fill[(corpus, selector)], False), []).extend((x, y, styles.color[group]) for x, y in pts)
    from matplotlib.collections import LineCollection

    for line, (segs, colors) in by_line.items():
        ax.add_collection(LineCollection(segs, colors=colors, linestyles=line, linewidths=1.5))
    draw_ci_bars(ax, bars)
    for (marker, fill, ntp), pts in marks.items():
        colors = [p[2] for p in pts]
        face = colors if fill == "full" else "none"
        edge = "red" if ntp else colors
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=49 if ntp else 25, marker=marker, facecolors=face,
                   edgecolors=edge, linewidths=1.4 if ntp else 1.0, zorder=3)
    finite = [v for v in values if math.isfinite(v)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > LOG_SPAN:
        ax.set_yscale("log")
    ax.autoscale_view()
    ax.set_xlim(-0.05, 1.05)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_title(col.label, fontsize=9)
    ax.set_xlabel("λ", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)


def _legend_handles(board: Leaderboard, styles: _Styles, rows: list[Row]):
    """Legend entries for what this plot shows (``rows``), in the colours and styles of the whole board."""
    from matplotlib.lines import Line2D

    groups = {r.group for r in rows}
    handles = [Line2D([], [], color=c, linewidth=3, label=board.group_names[g]) for g, c in styles.color.items() if g in groups]
    for m in sorted({r.method for r in rows if r.lam is not None and r.method != "ntp"},
                    key=lambda m: (m not in SERIES_STYLE, m)):
        marker, line = SERIES_STYLE.get(m, OTHER_STYLE)
        handles.append(Line2D([], [], color="black", marker=marker, linestyle=line, label=f"{method_label(m)} λ"))
    if any(r.method == "base" and r.group != EXTERNAL_GROUP for r in rows):
        handles.append(Line2D([], [], color="black", linestyle=BASE_DASH, label="base model"))
    if any(r.method == "ntp" for r in rows):
        handles.append(Line2D([], [], color="black", marker="s", linestyle="none", markeredgecolor="red",
                              label="NTP (λ = 0)"))
    trainings = {(r.corpus, r.selector) for r in rows if r.lam is not None}
    if len(styles.fill) > 1:
        for (corpus, selector), fill in styles.fill.items():
            if (corpus, selector) in trainings:
                label = "trained on " + (", ".join(x for x in (corpus, selector) if x) or "?")
                handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none", fillstyle=fill, label=label))
    for r in rows:
        if r.model_id in styles.dash:
            name = r.name if r.group == EXTERNAL_GROUP else f"{board.group_names[r.group]}: {r.name}"
            handles.append(Line2D([], [], color="0.35", linestyle=styles.dash[r.model_id], linewidth=1.4,
                                  label=f"{name} (external)"))
    return handles


def plot_family(board: Leaderboard, family: str, columns: list[Column], path: Path, styles: _Styles) -> None:
    """One grid PNG of the family's columns (which all hold a value)."""
    from matplotlib.figure import Figure  # a bare Figure renders with Agg; pyplot (and its state) is not needed

    ncols = min(4, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    handles = _legend_handles(board, styles, [r for r in board.rows if any(_finite(r, c) for c in columns)])
    if any(ci_bar(r.cells.get(c.key)) for r in board.rows for c in columns):
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.3", marker="_", markersize=8, linestyle="-", linewidth=1.0,
                              label="95% CI of Δ vs base\n(paired bootstrap)"))
    legend_w = 2.6
    fig = Figure(figsize=(3.1 * ncols + legend_w, 2.7 * nrows + 0.5), dpi=100)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, col in zip(axes.flat, columns):
        _draw_panel(ax, board, col, styles)
    for ax in list(axes.flat)[len(columns):]:
        ax.set_visible(False)
    width = fig.get_figwidth()
    fig.subplots_adjust(left=0.45 / width * 1.5, right=1 - legend_w / width, top=1 - 0.75 / fig.get_figheight(),
                        bottom=0.45 / fig.get_figheight(), wspace=0.3, hspace=0.45)
    fig.suptitle(family_title(family), fontsize=11)
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1 - legend_w / width + 0.01, 0.93), fontsize=7, frameon=False,
               handlelength=3.5)
    save_png(fig, path)


def save_png(fig, path: Path) -> None:
    """Atomically, with no version stamp: the same results give the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    tmp.replace(path)


def _digest(board: Leaderboard, family: str, columns: list[Column], styles: _Styles) -> str:
    """sha256 of everything a family's plot shows, to skip redrawing an unchanged plot."""
    from importlib.metadata import version

    rows = [(r.group, r.method, r.lam, r.corpus, r.selector, r.name, r.model_id,
             [(c.key, r.cells[c.key].value, ci_bar(r.cells[c.key])) for c in columns if c.key in r.cells])
            for r in board.rows]
    state = (STYLE_VERSION, version("matplotlib"), family, [c.label for c in columns], rows, board.group_names,
             sorted(styles.color.items()), sorted(styles.fill.items()), sorted(styles.dash.items()))
    return hashlib.sha256(repr(state).encode()).hexdigest()


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_plots(board: Leaderboard, folder: Path, overwrite: bool = False) -> list[tuple[str, Path]]:
    """One grid PNG per task family and one layer profile per base model with ``--layers`` results under
    ``folder``; returns (title, path) of every plot (drawn or kept). A PNG of that name that the folder's
    manifest does not list is not ours: replaced only with ``overwrite``."""
    from leaderboard.layer_plots import layer_profile_plots

    folder = Path(folder)
    styles = _Styles(board, COLORS)
    families: dict[str, list[Column]] = {}
    for col in board.columns:
        if any(_finite(r, col) for r in board.rows):
            families.setdefault(col.family, []).append(col)
    plots = [(plot_filename(family), family_title(family), _digest(board, family, columns, styles),
              lambda path, family=family, columns=columns: plot_family(board, family, columns, path, styles))
             for family, columns in families.items()]
    plots += layer_profile_plots(board, STYLE_VERSION)
    old, new = _read_manifest(folder), {}
    foreign = [name for name, *_ in plots if name not in old and (folder / name).exists()]
    if foreign and not overwrite:
        raise UserError(f"{folder / foreign[0]} exists and was not drawn by this harness: pass --overwrite to "
                        f"replace it, or choose another --plots-dir")
    written = []
    for name, title, digest, draw in plots:
        path = folder / name
        new[name] = digest
        if old.get(name) != digest or not path.is_file():
            draw(path)
        written.append((title, path))
    for name in set(old) - set(new):  # plots this code drew for families that are gone
        if name == slug(name) and name.endswith(".png"):
            (folder / name).unlink(missing_ok=True)
    if new != old:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / MANIFEST, json.dumps(new, indent=1, sort_keys=True) + "\n")
    return written
