"""Every registered task, run through the runner on the tiny in-process model with fixture data, keeps
the task contract: it reports exactly its declared metrics, each declared aggregation recomputes its
metric from the per-item columns (what the paired bootstrap relies on), items are unique and clustered,
the result file validates and reads back as written, and the same seed gives the same numbers."""

from __future__ import annotations

import math

import pytest

from harness.aggregate import aggregate
from harness.plugins import load_plugins
from harness.results import Items
from harness.task import TASKS, EvalOptions, Metric, Task, TaskOutput, declared_data
from harness.testing import write_corpus
from task_fixtures import write_benchmarks, write_concept_file

load_plugins()


@pytest.fixture(scope="module")
def fixture_options(tmp_path_factory, smollm2_tokenizer):
    """Options that point every task at fixture data (only the options some task declares)."""
    tmp = tmp_path_factory.mktemp("fixtures")
    data = write_benchmarks(tmp / "data", [df for _, _, df in declared_data()])
    given = {"corpus": str(write_corpus(tmp / "corpus.txt")), "heldout_size": 6,
             "geometry_concepts": str(write_concept_file(tmp / "heldout.jsonl", smollm2_tokenizer))}
    return lambda results: EvalOptions(results_dir=results, data_dir=str(data), limit=8, n_resamples=20,
                                       task_options=given)


@pytest.mark.parametrize("name", TASKS.names())
def test_every_task_keeps_the_contract(name, tiny_llama, fixture_options, tmp_path):
    from harness.result_files import load_result
    from harness.runner import evaluate

    task = TASKS.get(name)
    summary = evaluate(tiny_llama.info.spec, name, fixture_options(tmp_path / "a"), lm=tiny_llama)
    assert summary.records and len(summary.paths) == len(summary.records)
    for record, path in zip(summary.records, summary.paths):
        assert set(record.metrics) == {m.name for m in task.metrics}
        assert math.isfinite(record.metrics[task.main_metric])
        assert record.aggregations == task.aggregations and record.higher_is_better == task.higher_is_better
        for metric, agg in record.aggregations.items():
            recomputed = aggregate(agg.fn, record.items.columns, agg.columns)
            assert recomputed == pytest.approx(record.metrics[metric], rel=1e-9, abs=1e-12), metric
        assert len(set(record.items.ids)) == len(record.items.ids) > 0
        assert len(record.items.cluster_ids()) == len(record.items.ids)
        assert record.protocol.get("kind") and record.data
        if task.data:  # the fixture, not a real copy found elsewhere
            assert record.data["source"] == "data-dir"
        assert load_result(path).record.to_dict() == record.to_dict()
    again = evaluate(tiny_llama.info.spec, name, fixture_options(tmp_path / "b"), lm=tiny_llama)
    assert [r.metrics for r in again.records] == [r.metrics for r in summary.records]


def test_an_output_must_report_exactly_the_declared_metrics():
    task = Task(name="toy", description="", main_metric="m", run=lambda lm, ctx, prepared: [],
                metrics=(Metric("m", True, aggregation=None),))
    items = Items(ids=["a"], columns={"x": [1.0]})
    task.check_output(TaskOutput(metrics={"m": 1.0}, items=items))
    with pytest.raises(ValueError, match="undeclared metric"):
        task.check_output(TaskOutput(metrics={"m": 1.0, "extra": 2.0}, items=items))
    with pytest.raises(ValueError, match="did not report m"):
        task.check_output(TaskOutput(metrics={}, items=items))
