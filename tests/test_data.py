"""Benchmark resolution order (harness.data) and the parsers of the original formats, which the
similarity tasks declare with their data files (tasks.similarity)."""

import os
from pathlib import Path

import pytest

from harness.data import DataFile, resolve
from harness.errors import UserError
from harness.task import declared_data

SHARED = Path(os.environ.get("HARNESS_DATA_DIR", ""))
needs_shared = pytest.mark.skipif(not (SHARED / "men").is_dir(), reason="shared/data not beside the project")


def data_file(key: str) -> DataFile:
    """The benchmark file ``key`` as a registered task declares it."""
    return {df.key: df for _, _, df in declared_data()}[key]


def parse_as(key: str, path: Path) -> list:
    """``path`` read with the parser of benchmark file ``key``."""
    return data_file(key).parse(path)


def test_benchmark_files_come_from_the_tasks():
    assert sorted((t.name, split, df.key) for t, split, df in declared_data()) == [
        ("men", "test", "men"), ("simlex999", "test", "simlex999"), ("stsb", "dev", "stsb-dev"),
        ("stsb", "test", "stsb-test"), ("wordsim353", "test", "wordsim353")]


@needs_shared
@pytest.mark.parametrize("key,rows,first", [
    ("men", 3000, ("sun", "sunlight", 50.0)),
    ("wordsim353", 353, ("love", "sex", 6.77)),
    ("simlex999", 999, ("old", "new", 1.58)),
    ("stsb-test", 1379, ("A girl is styling her hair.", "A girl is brushing her hair.", 2.5)),
    ("stsb-dev", 1500, None),
])
def test_original_files_parse_with_expected_sizes(key, rows, first):
    res = resolve(data_file(key), SHARED)
    assert res.source == "data-dir"
    pairs = res.read()
    assert len(pairs) == rows
    if first:
        assert (pairs[0].a, pairs[0].b, pairs[0].score) == first
    if data_file(key).sha256:
        assert res.sha256 == data_file(key).sha256


@needs_shared
def test_stsb_rows_with_extra_fields_and_literal_quotes():
    pairs = resolve(data_file("stsb-test"), SHARED).read()
    assert all(0.0 <= p.score <= 5.0 for p in pairs)
    assert any('"' in p.a or '"' in p.b for p in pairs)  # quotes kept literally, no CSV quoting


def test_package_copies_are_used_without_a_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    res = resolve(data_file("wordsim353"))
    assert res.source == "package:gensim"
    assert len(res.read()) == 353
    res = resolve(data_file("simlex999"))
    assert res.source == "package:gensim" and len(res.read()) == 999


def test_data_dir_comes_before_cache_and_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    user = tmp_path / "data"
    (user / "wordsim353").mkdir(parents=True)
    (user / "wordsim353" / "combined.tab").write_text("Word 1\tWord 2\tHuman (mean)\ncat\tdog\t7.0\na\tb\t1\n")
    res = resolve(data_file("wordsim353"), user)
    assert res.source == "data-dir"
    assert [(p.a, p.b, p.score) for p in res.read()] == [("cat", "dog", 7.0), ("a", "b", 1.0)]


def test_missing_file_offline_is_one_clear_user_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as exc:
        resolve(data_file("men"), tmp_path)
    msg = str(exc.value)
    assert "men/MEN_dataset_natural_form_full" in msg and "--data-dir" in msg and "\n" not in msg


@pytest.mark.parametrize("key,text,line", [
    ("men", "word1 word2 score\nsun sunlight 50\ncar auto\n", 3),
    ("men", "sun sunlight 50\ncar auto x\n", 2),
    ("wordsim353", "h\nlove\tsex\tmuch\n", 2),
    ("simlex999", "h\nold\tnew\tA\n", 2),
    ("stsb-test", "g\tf\t2012\t1\t2.5\tA.\n", 1),
])
def test_malformed_line_reports_file_and_line(tmp_path, key, text, line):
    path = tmp_path / "bench.txt"
    path.write_text(text)
    with pytest.raises(UserError) as exc:
        parse_as(key, path)
    assert f"{path}:{line}:" in str(exc.value)


def test_non_utf8_file_is_a_user_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9 cafe 3\n")
    with pytest.raises(UserError):
        parse_as("men", path)
