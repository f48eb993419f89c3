"""The leaderboard's plots on a synthetic grid (:mod:`plot_grid`): seed groups drawn once at their mean, the
layer profiles' choice of runs, legends outside the axes, and the same results giving the same plots."""

from __future__ import annotations

import json
import statistics

import pytest

from plot_grid import CI_HALF, grid_records, write_grid

N_LAYERS = 4


def values(task: str, metric: str, model_prefix: str) -> list[float]:
    """The grid's values of ``metric`` for the models whose id starts with ``model_prefix``, by model id (the
    grid's ids sort by seed), read from the records as written."""
    recs = sorted((r for r in grid_records(N_LAYERS) if r["task"] == task and not r["variant"]
                   and r["model"]["id"].startswith(model_prefix)), key=lambda r: r["model"]["id"])
    return [r["metrics"][metric] for r in recs]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    from leaderboard.reader import read_summaries
    from leaderboard.table import build_table

    return build_table(read_summaries(write_grid(tmp_path_factory.mktemp("grid") / "results", N_LAYERS)))


def column(board, key: str):
    return next(c for c in board.columns if c.key == key)


def test_a_seed_group_is_one_point_at_the_seed_mean_with_every_seed_and_the_mean_ci(board):
    from leaderboard.plot_data import panel_data

    panel = panel_data(board, column(board, "men"))
    by_style = {t.style: t for t in panel.trends}
    assert sorted(by_style) == ["concept", "concept (content scope)", "noise", "ntp"]
    concept, ntp = by_style["concept"], by_style["ntp"]
    assert [p.x for p in concept.points] == [0.25, 0.5, 0.75, 1.0]  # one point per configuration
    assert [p.x for p in by_style["concept (content scope)"].points] == [0.5, 1.0]
    for trend, prefix in ((ntp, "ntp-"), (concept, "concept025-")):
        seeds = values("men", "spearman", prefix)
        assert len(seeds) == 3
        first = trend.points[0]
        assert first.seeds == pytest.approx(seeds)
        assert first.mean == pytest.approx(sum(seeds) / 3)
        # every seed's CI is its value ± CI_HALF (by construction), so the mean of the bounds is mean ± CI_HALF
        assert first.ci == pytest.approx((sum(seeds) / 3 - CI_HALF, sum(seeds) / 3 + CI_HALF))
    single = concept.points[1]  # λ = 0.5: one seed, drawn as its run
    (v,) = values("men", "spearman", "concept050-")
    assert single.seeds == pytest.approx((v,)) and single.mean == pytest.approx(v)
    assert single.ci == pytest.approx((v - CI_HALF, v + CI_HALF))
    labels = sorted(lv.label for lv in panel.levels)
    assert labels == ["Alternatives (no λ)", "CAFT (no λ)", "Synonym-augment (no λ)", "Weighted CE (no λ)",
                      "base: smollm2-135m"]


def test_the_layer_profile_draws_base_ntp_and_concept_runs_seed_means_per_layer(board):
    from leaderboard.plot_data import layer_lines

    lines = layer_lines(board.rows, column(board, "simlex999"))
    assert [ln.label for ln in lines] == ["base: smollm2-135m", "NTP (mean of 3 seeds)",
                                          "Concept λ=0.25 (mean of 3 seeds)", "Concept λ=0.5", "Concept λ=0.75",
                                          "Concept λ=1"]
    ntp = lines[1]
    assert ntp.layers == tuple(range(N_LAYERS))
    for layer, p in zip(ntp.layers, ntp.points):
        seeds = values("simlex999", f"spearman.L{layer}", "ntp-")
        assert p.mean == pytest.approx(statistics.fmean(seeds))
        assert (min(p.seeds), max(p.seeds)) == pytest.approx((min(seeds), max(seeds)))
    noise_too = layer_lines(board.rows, column(board, "simlex999"), ("base", "noise"))
    assert [ln.label for ln in noise_too] == ["base: smollm2-135m", "Noise λ=0.5", "Noise λ=1"]


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_every_plot_has_labelled_axes_and_its_legend_outside_them(board):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from leaderboard.layer_plots import layer_profile_plots
    from leaderboard.plots import family_plots

    plots = family_plots(board) + layer_profile_plots(board, 0)
    assert len(plots) == 5  # similarity, LM (content words, global), geometry; one layer profile
    for name, _, _, figure in plots:
        fig = figure()
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        (legend,) = fig.legends
        box = legend.get_window_extent(renderer)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert axes, name
        for ax in axes:
            assert not _overlaps(box, ax.get_window_extent(renderer)), (name, ax.get_title())
            assert ax.get_xlabel() in ("λ", "hidden-state layer (0 = embeddings)"), name
            assert ax.get_ylabel().endswith(("↑", "↓")), (name, ax.get_ylabel())
        assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1), name


def test_the_same_results_give_the_same_plots_and_manifest(tmp_path):
    from leaderboard.build import build

    digests, pngs = [], []
    for run in ("a", "b"):
        out = tmp_path / run
        report = build(write_grid(out / "results", N_LAYERS), out / "lb.md", n_resamples=10)
        digests.append(json.loads((out / "lb_plots" / ".plots-manifest.json").read_text()))
        pngs.append({p.name: p.read_bytes() for p in report.plots})
    assert digests[0] == digests[1] and len(digests[0]) == 5
    assert pngs[0] == pngs[1]
