"""An unusable ``HARNESS_CACHE`` (a file, a path under a file, a folder one may not write in): a command
that writes to the cache ends in one line naming it, exit 2; ``harness doctor`` reports it in its table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli import main


def unusable_cache(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A cache root of ``kind`` and the words the one-line error must hold."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    if kind == "file":
        return blocker, f"HARNESS_CACHE {blocker} is a file, not a folder"
    return blocker / "cache", f"HARNESS_CACHE {blocker / 'cache'} lies under {blocker}, which is a file"


def last_line(err: str) -> str:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.strip()][-1]


@pytest.mark.parametrize("kind", ["file", "under a file"])
def test_eval_names_the_cache(capsys, monkeypatch, tmp_path, kind):
    cache, words = unusable_cache(tmp_path, kind)
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    code = main(["eval", "--model", "smollm2-135m", "--tasks", "men", "--limit", "5",
                 "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert last_line(err) == f"harness: error: {words}"
    assert not (tmp_path / "r").exists()
    assert (tmp_path / "a-file").read_text() == "not a folder\n"


@pytest.mark.parametrize("kind", ["file", "under a file"])
def test_doctor_reports_the_cache_in_its_table(capsys, monkeypatch, tmp_path, kind):
    cache, words = unusable_cache(tmp_path, kind)
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    code = main(["doctor"])
    out, err = capsys.readouterr()
    assert code == 2
    row = next(line for line in out.splitlines() if line.startswith("cache folder"))
    assert " missing " in row and words in row and "set HARNESS_CACHE" in row
    assert "cache folder" in last_line(err)


def test_a_cache_folder_one_may_not_write_in(monkeypatch, tmp_path):
    """Root writes anywhere, so the permission is taken away where the harness asks for it."""
    from harness.errors import UserError
    from harness.paths import cache_dir

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    with pytest.raises(UserError, match=f"^HARNESS_CACHE {tmp_path}: no permission to write in it$"):
        cache_dir("models")
    assert not (tmp_path / "models").exists()


def test_the_default_cache_names_the_variable_to_set(monkeypatch, tmp_path):
    from harness.errors import UserError
    from harness.paths import cache_dir

    (tmp_path / ".cache").write_text("")
    monkeypatch.delenv("HARNESS_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UserError, match="set HARNESS_CACHE"):
        cache_dir("data")
