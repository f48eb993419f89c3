"""What the plots show, computed before anything is drawn (no matplotlib here): configurations with their
seeds grouped, the seed means, the spread across seeds and the CI bars.

Seeds. Rows whose models differ only by training seed are one configuration
(:func:`leaderboard.configs.configuration`), drawn once, at its λ:

- the point is the seed mean, ``mean = Σ_s v_s / n`` over its n seeds (the λ line goes through the means);
- the spread is every seed's own value (``Point.seeds``), drawn as faint dots beside the point;
- the CI bar is the mean of the seeds' bounds, ``(Σ_s low_s / m, Σ_s high_s / m)`` over the m seeds with a
  CI, each seed's being the paired bootstrap's 95% CI of its Δ against the base model around base + Δ
  (:func:`ci_bar`). So the bar is the typical interval of one run, not a CI of the seed mean: the seeds' dots
  are what shows the training-seed spread. A configuration of one seed is its run: point, bar and all.

A λ line (:class:`Trend`) joins the configurations of one base model that differ only by λ
(:func:`leaderboard.configs.trend_key`): concept runs of the two λ scopes are two lines, noise a third.
NTP (λ = 0) is its own mark. Models with no λ (the base model, other objectives such as CAFT, external
models) are horizontal levels (:class:`Level`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from harness.results import split_layer
from leaderboard.configs import Config, configuration, trend_key
from leaderboard.table import EXTERNAL_GROUP, Cell, Column, Leaderboard, Row


def ci_bar(cell: Cell | None) -> tuple[float, float] | None:
    """The paired 95% CI of a value against its base model, around base + Δ: (a + lower, a + upper)."""
    c = cell.comparison if cell is not None else None
    if c is None or not all(math.isfinite(v) for v in (c.a, c.lower, c.upper)):
        return None
    return c.a + c.lower, c.a + c.upper


@dataclass(frozen=True)
class Point:
    """One configuration's value: the mean of its seeds, every seed's value and the CI bar (module docstring)."""

    x: float
    mean: float
    seeds: tuple[float, ...]  # by seed, then model id
    ci: tuple[float, float] | None


def point(x: float, values: list[float], bars: list[tuple[float, float] | None]) -> Point:
    """The :class:`Point` of one configuration's seeds: ``values`` and their CI bars (None: no comparison)."""
    known = [b for b in bars if b is not None]
    ci = (statistics.fmean(b[0] for b in known), statistics.fmean(b[1] for b in known)) if known else None
    return Point(x, statistics.fmean(values), tuple(values), ci)


@dataclass(frozen=True)
class Trend:
    """One line against λ (or NTP's single mark at λ = 0): a base model's configurations that differ by λ only."""

    group: str
    method: str  # ntp | concept | noise | <objective>
    scope: str  # the λ scope ("all", "content"; "" when not recorded)
    training: tuple[str, str]  # (corpus, selector) trained on: the markers' fill
    points: tuple[Point, ...]  # by λ

    @property
    def style(self) -> str:
        """The key of its marker and line style: the method, and the λ scope when it is not the default."""
        return f"{self.method} (content scope)" if self.scope == "content" else self.method


@dataclass(frozen=True)
class Level:
    """A horizontal line: a base model (``base``), or a model or objective without λ (``reference``)."""

    kind: str  # base | reference
    group: str
    key: str  # the configuration's key: its line dashes
    label: str
    value: Point  # x = 0 (unused)


@dataclass(frozen=True)
class Panel:
    trends: tuple[Trend, ...]
    levels: tuple[Level, ...]

    @property
    def values(self) -> list[float]:
        """Every value drawn (means and single seeds), for the choice of axis scale."""
        pts = [p for t in self.trends for p in t.points] + [lv.value for lv in self.levels]
        return [v for p in pts for v in (p.mean, *p.seeds)]


def _model(row: Row):
    return next(iter(row.sources.values())).model


def seed_groups(rows: list[Row]) -> list[tuple[Config, list[Row]]]:
    """``rows`` by configuration (board order of each configuration's first row); each group's rows by seed,
    then model id."""
    groups: dict[tuple[str, str], tuple[Config, list[Row]]] = {}
    for row in rows:
        config = configuration(_model(row))
        groups.setdefault((config.group, config.key), (config, []))[1].append(row)
    for config, members in groups.values():
        members.sort(key=lambda r: (configuration(_model(r)).seed is None, configuration(_model(r)).seed or 0,
                                    r.model_id))
    return list(groups.values())


def reference_label(board: Leaderboard, config: Config, row: Row) -> str:
    """A level's legend entry: its method (``CAFT``) or, for an external model, its name; prefixed by its base
    model when the board has several."""
    prefix = f"{board.group_names[row.group]}: " if sum(g != EXTERNAL_GROUP for g in board.group_names) > 1 else ""
    if config.trained:
        return f"{prefix}{config.label} (no λ)"
    return f"{row.name} (external)" if row.group == EXTERNAL_GROUP else f"{prefix}{row.name} (external)"


def panel_data(board: Leaderboard, col: Column) -> Panel:
    """What the λ-trend panel of ``col`` draws (module docstring)."""
    rows = [r for r in board.rows if (c := r.cells.get(col.key)) is not None and math.isfinite(c.value)]
    lines: dict[tuple, list[Point]] = {}
    levels = []
    for config, members in seed_groups(rows):
        values = [r.cells[col.key].value for r in members]
        bars = [ci_bar(r.cells[col.key]) for r in members]
        row = members[0]
        if row.method == "ntp" or (row.lam is not None and row.method != "base"):
            x = 0.0 if row.method == "ntp" else row.lam
            key = (row.group, row.method, config.scope, (row.corpus, row.selector), trend_key(_model(row)))
            lines.setdefault(key, []).append(point(x, values, bars))
        elif row.method == "base" and row.group != EXTERNAL_GROUP:
            levels.append(Level("base", row.group, config.key, f"base: {row.name}", point(0.0, values, [None])))
        else:
            levels.append(Level("reference", row.group, config.key, reference_label(board, config, row),
                                point(0.0, values, bars)))
    trends = tuple(Trend(g, m, scope, training, tuple(sorted(pts, key=lambda p: p.x)))
                   for (g, m, scope, training, _), pts in lines.items())
    return Panel(trends, tuple(levels))


@dataclass(frozen=True)
class LayerLine:
    """One configuration's profile: per layer, the mean of its seeds, their min and max, and the CI bar."""

    label: str
    method: str
    lam: float | None
    layers: tuple[int, ...]
    points: tuple[Point, ...]  # per layer (x = the layer)


# the configurations a layer profile draws: with a grid's ~17 adapters every objective would be a tangle
LAYER_METHODS = ("base", "ntp", "concept")
LAYER_SCOPES = ("all", "")  # concept runs of the default λ scope


def layer_profile(row: Row, col: Column) -> dict[int, tuple[float, tuple[float, float] | None]]:
    """Layer -> (value, CI bar around base + Δ) of ``col``'s main metric in ``row``'s result."""
    source = row.sources.get(col.key)
    if source is None:
        return {}
    out = {}
    for metric, value in source.metrics.items():
        name, layer = split_layer(metric)
        if layer is not None and name == col.metric and math.isfinite(value):
            out[layer] = (value, ci_bar(Cell.of(value, source.comparison.get(metric))))
    return out


def layer_lines(rows: list[Row], col: Column, methods: tuple[str, ...] = LAYER_METHODS) -> list[LayerLine]:
    """The layer profiles of one base model's ``rows`` in ``col``: one line per configuration of ``methods``
    (concept: of the default λ scope), seeds averaged at every layer they all have."""
    lines = []
    for config, members in seed_groups(rows):
        if config.method not in methods or (config.method == "concept" and config.scope not in LAYER_SCOPES):
            continue
        profiles = [layer_profile(r, col) for r in members]
        layers = sorted(set.intersection(*(set(p) for p in profiles)))
        if not layers:
            continue
        label = f"base: {members[0].name}" if config.method == "base" else config.label
        if len(members) > 1:
            label += f" (mean of {len(members)} seeds)"
        lines.append(LayerLine(label, config.method, config.lam, tuple(layers), tuple(
            point(layer, [p[layer][0] for p in profiles], [p[layer][1] for p in profiles]) for layer in layers)))
    order = {m: i for i, m in enumerate(methods)}
    return sorted(lines, key=lambda ln: (order[ln.method], ln.lam or 0.0, ln.label))

