"""The similarity protocols through the runner and the CLI on the tiny model with fixture data:
--layers (every layer from one pass, per-layer Spearman recomputable by the paired bootstrap), the
pooling variants as distinct result files, and bad settings as one-line user errors that write nothing."""

from __future__ import annotations

import pytest

from harness.aggregate import aggregate
from harness.task import EvalOptions, declared_data
from task_fixtures import write_benchmarks
from test_cli_eval import assert_user_error, run_cli
from trainer_fixtures import write_tiny_model

SIMILARITY = ("men", "wordsim353", "simlex999", "stsb")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_benchmarks(tmp_path_factory.mktemp("data"), [df for t, _, df in declared_data() if t.name in SIMILARITY])


def _options(results, data_dir, **task_options):
    return EvalOptions(results_dir=results, data_dir=str(data_dir), n_resamples=50, task_options=task_options)


def test_layers_all_scores_every_layer_and_keeps_the_main_metric(tiny_llama, data_dir, tmp_path):
    from harness.runner import evaluate

    (record,) = evaluate(tiny_llama.info.spec, "men", _options(tmp_path, data_dir, layers="all"), lm=tiny_llama).records
    assert record.protocol["layers"] == [0, 1, 2] and record.variant == ""
    assert set(record.metrics) == {"spearman", "spearman.L0", "spearman.L1", "spearman.L2"}
    assert record.metrics["spearman"] == pytest.approx(record.metrics["spearman.L2"], abs=1e-9)  # final = layer 2
    for metric, agg in record.aggregations.items():
        assert aggregate(agg.fn, record.items.columns, agg.columns) == pytest.approx(record.metrics[metric], abs=1e-12)
    assert record.aggregations["spearman.L1"].columns == ("human", "cosine.L1")
    (final_only,) = evaluate(tiny_llama.info.spec, "men", _options(tmp_path / "b", data_dir), lm=tiny_llama).records
    assert final_only.metrics == {"spearman": record.metrics["spearman"]}


def test_paired_bootstrap_compares_every_layer(smollm2_tokenizer, data_dir, tmp_path):
    from harness.runner import evaluate
    from harness.bootstrap import paired_bootstrap
    from harness.testing import tiny_lm

    a, b = (evaluate(lm.info.spec, "wordsim353", _options(tmp_path / lm.info.name, data_dir, layers="0,2"), lm=lm).records[0]
            for lm in (tiny_lm(smollm2_tokenizer, seed=0, name="a"), tiny_lm(smollm2_tokenizer, seed=1, name="b")))
    comps = {c.metric: c for c in paired_bootstrap(a, b, n_resamples=50)}
    assert set(comps) == {"spearman", "spearman.L0", "spearman.L2"}
    for metric, c in comps.items():
        assert c.diff == pytest.approx(b.metrics[metric] - a.metrics[metric], abs=1e-12)
        assert c.lower <= c.upper


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, smollm2_tokenizer):
    return write_tiny_model(tmp_path_factory.mktemp("model"), smollm2_tokenizer)


@pytest.mark.parametrize("flags, needle", [
    (("--layers", "3"), "--layers 3 is out of range"),
    (("--layers", "0,-4"), "--layers -4 is out of range"),
    (("--layers", "1,x"), "--layers takes all or a comma-separated list"),
    (("--layer", "7"), "--layer 7 is out of range"),
])
def test_bad_layer_settings_are_one_line_and_write_nothing(flags, needle, model_dir, data_dir, tmp_path, capsys):
    results = tmp_path / "results"
    code, _, err = run_cli(capsys, "eval", "--model", str(model_dir), "--tasks", "wordsim353,men", *flags,
                           "--data-dir", str(data_dir), "--results-dir", str(results), "--device", "cpu")
    assert_user_error(code, err, needle, results)


def test_protocols_are_distinct_result_variants(tiny_llama, data_dir, tmp_path):
    from harness.runner import evaluate

    protocols = [{}, {"pooling": "last"}, {"pooling": "echo"}, {"template": 'This word : "{text}" means in one word:"'},
                 {"bos": "native"}]
    names, values = [], []
    for given in protocols:
        options = EvalOptions(results_dir=tmp_path, data_dir=str(data_dir), **given)
        summary = evaluate(tiny_llama.info.spec, "simlex999", options, lm=tiny_llama)
        (path,), (record,) = summary.paths, summary.records
        names.append(path.name)
        values.append(record.items.columns["cosine"])
        assert record.protocol["pooling"] == ("last" if "template" in given else given.get("pooling", "mean"))
    assert names[0] == "simlex999.json" and len(set(names)) == len(protocols)
    assert sorted(p.name for p in next(tmp_path.iterdir()).glob("*.json")) == sorted(names)  # none overwritten
    assert all(values[i] != values[0] for i in range(1, len(values)))


@pytest.mark.parametrize("flags, needle", [
    (("--template", "no slot here"), "--template must contain {text}"),
    (("--pooling", "max"), "unknown --pooling 'max'"),
    (("--template", "{text} means", "--pooling", "echo"), "cannot be combined with --pooling echo"),
])
def test_bad_pooling_settings_are_one_line_and_write_nothing(flags, needle, data_dir, tmp_path, capsys):
    results = tmp_path / "results"
    code, _, err = run_cli(capsys, "eval", "--model", str(tmp_path / "never-loaded"), "--tasks", "men", *flags,
                           "--data-dir", str(data_dir), "--results-dir", str(results))
    assert_user_error(code, err, needle, results)


def test_leaderboard_draws_layer_profiles_and_ci_bars_and_shows_a_chosen_layer(smollm2_tokenizer, data_dir, tmp_path):
    from harness.runner import evaluate
    from leaderboard.build import build
    from leaderboard.plots import ci_bar
    from leaderboard.reader import read_summaries
    from leaderboard.render import format_value
    from leaderboard.table import build_table
    from harness.testing import tiny_lm

    base = tiny_lm(smollm2_tokenizer, seed=0, name="tiny-base")
    adapter = tiny_lm(smollm2_tokenizer, seed=1, name="tiny-concept", kind="adapter", base="tiny-base",
                      base_id=base.info.id, training={"method": "concept", "lambda": 0.25})
    results = tmp_path / "results"
    records = {lm.info.name: evaluate(lm.info.spec, "men,simlex999", _options(results, data_dir, layers="all"),
                                      lm=lm).records for lm in (base, adapter)}
    adapter_men = records["tiny-concept"][0]
    assert set(adapter_men.comparison.metrics) == {"spearman", "spearman.L0", "spearman.L1", "spearman.L2"}

    report = build(results, tmp_path / "board.md", layer=1)
    names = sorted(p.name for p in report.plots)
    assert names == ["layer-profile-tiny-base.png", "semantic-similarity.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in report.plots)
    markdown = (tmp_path / "board.md").read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| Base model"))
    assert "men spearman.L1 ↑" in header and "simlex999 spearman.L1 ↑" in header
    row = next(line for line in markdown.splitlines() if "tiny-concept" in line)
    assert format_value(adapter_men.metrics["spearman.L1"]) in row

    board = build_table(read_summaries(results), layer=1)
    cell = next(r for r in board.rows if r.name == "tiny-concept").cells["men#L1"]
    c = adapter_men.comparison.metrics["spearman.L1"]
    assert ci_bar(cell) == pytest.approx((c.a + c.lower, c.a + c.upper))
