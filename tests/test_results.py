import json

import pytest

from harness.result_checks import validate
from harness.result_files import ResultError, load_result, load_results, result_path, write_result
from harness.results import Aggregation, Items, ResultRecord


def _record(value=0.5, task="men"):
    return {"schema_version": 1, "task": task, "variant": "", "main_metric": "spearman",
            "model": {"id": "m-1", "name": "m", "spec": "m"}, "metrics": {"spearman": value},
            "items": {"ids": ["a", "b"], "columns": {"human": [1, 2], "cosine": [0.1, 0.2]}}}


def _typed(value=0.5, task="men") -> ResultRecord:
    return ResultRecord.from_dict(_record(value, task))


def test_write_is_atomic_and_keeps_history(tmp_path):
    path = result_path(tmp_path, "m-1", "men")
    write_result(path, _typed(0.5))
    write_result(path, _typed(0.7))
    assert load_result(path).record.metrics["spearman"] == 0.7
    old = list((path.parent / "history").glob("men.*.json"))
    assert len(old) == 1 and json.loads(old[0].read_text())["metrics"]["spearman"] == 0.5
    assert not list(path.parent.glob(".*tmp"))
    assert [r.record.metrics["spearman"] for r in load_results(tmp_path)] == [0.7]  # history is not a result


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
    for clusters in ([0], [0, True], [0, 1.5], "ab"):  # one integer or string per id
        bad = _record()
        bad["items"]["clusters"] = clusters
        assert any("clusters" in p for p in validate(bad))
    good = _record()
    good["items"]["clusters"] = [0, "s1"]
    assert validate(good) == []
    for agg in ({"fn": "median", "columns": ["human"]}, {"fn": "spearman", "columns": ["human", "nope"]}, "mean"):
        bad = {**_record(), "aggregations": {"spearman": agg}}
        assert any("aggregation" in p for p in validate(bad))


def test_an_invalid_record_is_never_written(tmp_path):
    record = _typed()
    record.main_metric = "accuracy"
    with pytest.raises(ResultError):
        write_result(tmp_path / "x.json", record)
    assert not (tmp_path / "x.json").exists()


def test_corrupt_file_reported_through_on_error(tmp_path):
    write_result(result_path(tmp_path, "m-1", "men"), _typed())
    (tmp_path / "m-1" / "broken.json").write_text("{not json")
    seen = []
    ok = load_results(tmp_path, on_error=lambda p, msg: seen.append(p.name))
    assert [r.record.task for r in ok] == ["men"] and seen == ["broken.json"]


def test_a_record_reads_back_as_written(tmp_path):
    """The typed record keeps every key of a file (unknown ones too) and writes it back unchanged."""
    raw = {**_record(), "higher_is_better": {"spearman": True}, "seed": 3, "options": {"limit": 2},
           "aggregations": {"spearman": {"fn": "spearman", "columns": ["human", "cosine"]}},
           "protocol": {"kind": "pair_similarity"}, "data": {"file": "men"}, "device": "cpu", "created": "now",
           "from_elsewhere": 1}
    raw["model"] = {**raw["model"], "kind": "causal_lm", "base": "m", "path": "", "adapter_path": None,
                    "adapter_hash": None, "base_id": None, "training": None, "custom": "x"}
    raw["items"]["clusters"] = [0, 1]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(raw))
    record = load_result(path).record
    assert record.aggregations == {"spearman": Aggregation("spearman", ("human", "cosine"))}
    assert record.items == Items(["a", "b"], {"human": [1, 2], "cosine": [0.1, 0.2]}, [0, 1])
    assert record.model.other == {"custom": "x"} and record.provenance["from_elsewhere"] == 1
    assert record.to_dict() == {k: raw[k] for k in [*(k for k in raw if k != "items"), "items"]}


def test_items_are_written_last_and_summaries_skip_them(tmp_path):
    rec = _record(0.5)
    rec["comparison"] = {"against": "base", "against_file": "b.json", "metrics": {}}  # a key after items
    path = write_result(result_path(tmp_path, "m-1", "men"), ResultRecord.from_dict(rec))
    text = json.loads(path.read_text())
    assert list(text)[-1] == "items" and text["comparison"] == rec["comparison"]
    full = load_result(path).record
    summary = load_result(path, summary_only=True).record
    assert summary.items is None and full.items is not None and summary.metrics == full.metrics
    assert summary.comparison == full.comparison
    # a file whose items are not last (written by another tool) is read whole
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**{k: v for k, v in rec.items() if k != "comparison"}, "zz": 1}, indent=1))
    assert load_result(other, summary_only=True).record.items.ids == rec["items"]["ids"]


@pytest.mark.parametrize("where, value, needle", [
    ("items", float("nan"), "items column 'cosine' holds nan at item 1"),
    ("items", float("-inf"), "items column 'cosine' holds -inf at item 1"),
    ("protocol", float("nan"), "protocol.prompt.weights[1] is nan"),
    ("protocol", float("inf"), "protocol.prompt.weights[1] is inf"),
])
def test_non_finite_per_item_and_protocol_values_are_refused(tmp_path, where, value, needle):
    """Own writes and own reads: NaN or an infinity in an item's column or anywhere in the protocol is invalid;
    the writer writes nothing and a file holding one (written by an older harness) is refused on reading."""
    bad = _record()
    if where == "items":
        bad["items"]["columns"]["cosine"][1] = value
    else:
        bad["protocol"] = {"pooling": "mean", "prompt": {"weights": [0.5, value]}}
    assert any(needle in p for p in validate(bad)), validate(bad)
    path = result_path(tmp_path, "m-1", "men")
    with pytest.raises(ResultError, match="numbers must be finite"):
        write_result(path, ResultRecord.from_dict(bad))
    assert not path.exists()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(bad))  # Python's json writes the bare NaN / Infinity token
    with pytest.raises(ResultError, match="numbers must be finite"):
        load_result(path)


def test_the_writer_refuses_nan_in_any_block_and_writes_standard_json(tmp_path):
    """A block validate does not look into (here ``data``) still never holds NaN in a written file: a bug. An
    item without a value is null, and the file is JSON that a strict reader takes."""
    rec = ResultRecord.from_dict({**_record(), "data": {"sha256": "ab", "share": float("nan")}})
    path = result_path(tmp_path, "m-1", "men")
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_result(path, rec)
    assert not path.exists() and not list(tmp_path.rglob("*.json"))

    def refuse(token):
        raise AssertionError(f"{token} in a result file")

    rec = _record()
    rec["items"]["columns"]["cosine"][1] = None
    assert validate(rec) == []
    write_result(path, ResultRecord.from_dict({**rec, "data": {"sha256": "ab", "share": None}}))
    assert json.loads(path.read_text(), parse_constant=refuse)["items"]["columns"]["cosine"] == [0.1, None]
