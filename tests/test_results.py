import json

import pytest

from harness.results import ResultError, load_result, load_results, result_path, validate, write_result


def _record(value=0.5, task="men"):
    return {"schema_version": 1, "task": task, "variant": "", "main_metric": "spearman",
            "model": {"id": "m-1", "name": "m", "spec": "m"}, "metrics": {"spearman": value},
            "items": {"ids": ["a", "b"], "columns": {"human": [1, 2], "cosine": [0.1, 0.2]}}}


def test_write_is_atomic_and_keeps_history(tmp_path):
    path = result_path(tmp_path, "m-1", "men")
    write_result(path, _record(0.5))
    write_result(path, _record(0.7))
    assert load_result(path).metrics["spearman"] == 0.7
    old = list((path.parent / "history").glob("men.*.json"))
    assert len(old) == 1 and json.loads(old[0].read_text())["metrics"]["spearman"] == 0.5
    assert not list(path.parent.glob(".*tmp"))
    assert [r.metrics["spearman"] for r in load_results(tmp_path)] == [0.7]  # history is not a result


def test_validation_names_problems(tmp_path):
    bad = _record()
    del bad["metrics"]
    assert "missing key 'metrics'" in validate(bad)
    bad = _record()
    bad["main_metric"] = "accuracy"
    assert any("main_metric" in p for p in validate(bad))
    bad = _record()
    bad["items"]["columns"]["human"] = [1]
    assert any("differ in length" in p for p in validate(bad))
    with pytest.raises(ResultError):
        write_result(tmp_path / "x.json", bad)
    assert not (tmp_path / "x.json").exists()
    for clusters in ([0], [0, True], [0, 1.5], "ab"):  # one integer or string per id
        bad = _record()
        bad["items"]["clusters"] = clusters
        assert any("clusters" in p for p in validate(bad))
    good = _record()
    good["items"]["clusters"] = [0, "s1"]
    assert validate(good) == []


def test_corrupt_file_reported_through_on_error(tmp_path):
    write_result(result_path(tmp_path, "m-1", "men"), _record())
    (tmp_path / "m-1" / "broken.json").write_text("{not json")
    seen = []
    ok = load_results(tmp_path, on_error=lambda p, msg: seen.append(p.name))
    assert [r.task for r in ok] == ["men"] and seen == ["broken.json"]


def test_items_are_written_last_and_summaries_skip_them(tmp_path):
    rec = _record(0.5)
    rec["comparison"] = {"against": "base", "metrics": {}}  # a key that comes after items in the dict
    path = write_result(result_path(tmp_path, "m-1", "men"), rec)
    full = load_result(path).record
    assert list(full)[-1] == "items" and full["comparison"] == rec["comparison"]
    summary = load_result(path, summary_only=True).record
    assert "items" not in summary and {k: v for k, v in full.items() if k != "items"} == summary
    # a file whose items are not last (written by another tool) is read whole
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**{k: v for k, v in rec.items() if k != "comparison"}, "zz": 1}, indent=1))
    assert load_result(other, summary_only=True).record["items"] == rec["items"]
