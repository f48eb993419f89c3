"""``harness compare A B``: the A and B columns are headed by the models they hold, and ``(base)`` marks
the side that is the other's base model, whichever order the user gave; the CI column names its level."""

from __future__ import annotations

from harness.cli import main
from harness.result_files import result_path, write_result
from harness.results import ResultRecord

BASE = {"id": "tiny-base-0a1b", "name": "tiny-base", "spec": "tiny-base", "kind": "causal_lm"}
ADAPTER = {"id": "tiny-lora-2c3d", "name": "tiny-lora", "spec": "runs/lora", "kind": "adapter",
           "base": "tiny-base", "base_id": "tiny-base-0a1b"}
OTHER = {"id": "other-4e5f", "name": "other", "spec": "other", "kind": "causal_lm"}


def result(tmp_path, model: dict, shift: float):
    """A men result of ``model`` whose cosines are the human scores' ranks plus ``shift`` noise."""
    human = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    cosine = [0.1, 0.3 + shift, 0.2, 0.5, 0.4 - shift, 0.6]
    record = ResultRecord.from_dict({
        "schema_version": 1, "task": "men", "variant": "", "main_metric": "spearman", "model": model,
        "metrics": {"spearman": 0.5}, "higher_is_better": {"spearman": True},
        "aggregations": {"spearman": {"fn": "spearman", "columns": ["human", "cosine"]}},
        "items": {"ids": [f"p{i}" for i in range(6)], "columns": {"human": human, "cosine": cosine}}})
    return write_result(result_path(tmp_path, model["id"], "men"), record)


def header(capsys, a, b, *flags: str) -> list[str]:
    assert main(["compare", str(a), str(b), "--resamples", "20", *flags]) == 0
    lines = capsys.readouterr().out.splitlines()
    return [cell.strip() for cell in lines[1].split("  ") if cell.strip()]  # the line after the note


def test_the_adapter_first_marks_the_second_as_base(tmp_path, capsys):
    base, adapter = result(tmp_path, BASE, 0.0), result(tmp_path, ADAPTER, 0.3)
    assert header(capsys, adapter, base) == ["task", "metric", "A: tiny-lora-2c3d", "B: tiny-base-0a1b (base)",
                                             "B − A", "95% CI"]


def test_the_base_first_is_marked_base(tmp_path, capsys):
    base, adapter = result(tmp_path, BASE, 0.0), result(tmp_path, ADAPTER, 0.3)
    assert header(capsys, base, adapter, "--confidence", "0.9") == [
        "task", "metric", "A: tiny-base-0a1b (base)", "B: tiny-lora-2c3d", "B − A", "90% CI"]


def test_unrelated_models_have_no_base(tmp_path, capsys):
    base, other = result(tmp_path, BASE, 0.0), result(tmp_path, OTHER, 0.3)
    assert header(capsys, tmp_path / BASE["id"], tmp_path / OTHER["id"]) == [
        "task", "metric", "A: tiny-base-0a1b", "B: other-4e5f", "B − A", "95% CI"]
    assert base.is_file() and other.is_file()
