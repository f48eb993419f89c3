"""harness.atomic.atomic_path: the temporary file or folder beside the target becomes the target on success
and disappears on failure, leaving what was there."""

import pytest

from harness.atomic import atomic_path


def test_a_file_replaces_the_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # readers still see the old file while the block writes
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_a_failed_block_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_folder_becomes_the_target_and_a_failed_one_is_removed(tmp_path):
    target = tmp_path / "model"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "config.json").write_text("{}")
    assert (target / "config.json").read_text() == "{}"
    other = tmp_path / "other"
    with pytest.raises(ValueError):
        with atomic_path(other) as tmp:
            tmp.mkdir()
            (tmp / "x").write_text("1")
            raise ValueError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
