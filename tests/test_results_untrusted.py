"""Result files from strangers and failing disks: a hostile file imported with ``leaderboard add
--results`` writes nothing (inside or outside the results folder) and ends in one line, exit 2;
a replacement that cannot be written (disk full) leaves the current result in place."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_leaderboard_helpers import ROOT, model_block, run_cli, write_file

MODEL = model_block("tiny-concept-00000001", "tiny-concept")


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def hostile(tmp_path: Path, case: str) -> Path:
    """A result folder holding one hostile file; the file is a valid result but for ``case``."""
    src = tmp_path / "src"
    path = write_file(src, MODEL, "men", 0.41)
    record = json.loads(path.read_text())
    text = None
    if case == "traversal task":
        record["task"] = "../../../victim"
    elif case == "absolute task":
        record["task"] = str(tmp_path / "outside" / "abs-victim")
    elif case == "traversal model id":
        record["model"]["id"] = "../../victim"
    elif case in ("NaN metric", "Infinity metric", "-Infinity metric"):
        record["metrics"]["spearman"] = float(case.split()[0])
        text = json.dumps(record)  # writes the bare NaN / Infinity tokens Python's json reads back
        assert case.split()[0] in text
    elif case == "NaN per-item value":
        record["items"]["columns"]["x"][1] = float("nan")
    elif case == "NaN in comparison":
        record["comparison"] = {"against": "tiny-base-00000001", "metrics": {"spearman": {"diff": float("nan")}}}
    elif case == "oversized display name":
        record["model"]["display_name"] = "x" * 100_000
    elif case == "oversized task name":
        record["task"] = "t" * 10_000
    elif case == "too many metrics":
        record["metrics"].update({f"m{i}": 0.5 for i in range(1000)})
    elif case == "metric as string":
        record["metrics"]["spearman"] = "0.41"
    elif case == "schema_version as string":
        record["schema_version"] = "1"
    elif case == "task as number":
        record["task"] = 7
    elif case == "main_metric as list":
        record["main_metric"] = ["spearman"]
    elif case == "items column not a list":
        record["items"]["columns"]["x"] = 5
    elif case == "model name as object":
        record["model"]["name"] = {"a": 1}
    elif case == "comparison as list":
        record["comparison"] = [1, 2]
    elif case == "deeply nested":
        text = json.dumps(record)[:-1] + ', "protocol": ' + "[" * 100_000 + "]" * 100_000 + "}"
    else:
        raise AssertionError(case)
    path.write_text(text if text is not None else json.dumps(record))
    return src


CASES = ["traversal task", "absolute task", "traversal model id", "NaN metric", "Infinity metric", "-Infinity metric",
         "NaN per-item value", "NaN in comparison", "oversized display name", "oversized task name",
         "too many metrics", "metric as string", "schema_version as string", "task as number",
         "main_metric as list", "items column not a list", "model name as object", "comparison as list",
         "deeply nested"]


@pytest.mark.parametrize("case", CASES)
def test_hostile_result_file_writes_nothing(tmp_path, case):
    results = tmp_path / "board" / "results"
    write_file(results, model_block("tiny-base-00000001", "tiny-base", kind="causal_lm"), "men", 0.30)
    (tmp_path / "victim.json").write_text('{"mine": true}\n')
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "abs-victim.json").write_text('{"mine": true}\n')
    src = hostile(tmp_path, case)
    before = snapshot(tmp_path)
    proc = run_cli("leaderboard", "add", "--results", str(src), "--results-dir", str(results),
                   "--out", str(tmp_path / "board" / "lb.md"), "--no-plots", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("harness: error: not imported") and len(proc.stderr) < 1000
    after = snapshot(tmp_path)
    assert after == before  # nothing written, replaced or created anywhere (history/ neither)
    assert not (tmp_path / "outside" / "history").exists() and not (tmp_path / "history").exists()


def test_variant_is_slugged_into_the_file_name(tmp_path):
    """A variant is free text (a corpus may be a path): it is slugged, so it cannot leave the folder."""
    src, results = tmp_path / "src", tmp_path / "results"
    path = write_file(src, MODEL, "men", 0.41)
    record = json.loads(path.read_text())
    record["variant"] = "../../../victim"
    path.write_text(json.dumps(record))
    run_cli("leaderboard", "add", "--results", str(src), "--results-dir", str(results),
            "--out", str(tmp_path / "lb.md"), "--no-plots")
    assert sorted(p.relative_to(results).as_posix() for p in results.glob("*/*.json")) == [
        "tiny-concept-00000001/men@victim.json"]  # '/' -> '-', leading dots dropped: one file in the model's folder
    assert not (tmp_path / "victim.json").exists()


def test_results_folder_symlinked_out_is_refused(tmp_path):
    """A model folder inside the results folder that links elsewhere is not written through."""
    src, results, elsewhere = tmp_path / "src", tmp_path / "results", tmp_path / "elsewhere"
    write_file(src, MODEL, "men", 0.41)
    elsewhere.mkdir()
    results.mkdir()
    (results / MODEL["id"]).symlink_to(elsewhere, target_is_directory=True)
    proc = run_cli("leaderboard", "add", "--results", str(src), "--results-dir", str(results),
                   "--out", str(tmp_path / "lb.md"), "--no-plots", check=False)
    assert proc.returncode == 2 and "outside the results folder" in proc.stderr and proc.stderr.count("\n") == 1
    assert list(elsewhere.iterdir()) == []


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    from harness import result_files
    from harness.errors import UserError
    from leaderboard.store import load_importable

    path = write_file(tmp_path / "src", MODEL, "men", 0.41)
    monkeypatch.setattr(result_files, "MAX_IMPORT_BYTES", path.stat().st_size - 1)
    with pytest.raises(UserError, match=f"{path.stat().st_size} bytes"):
        load_importable(tmp_path / "src")


# ------------------------------------------------------------------ atomic replacement


def _record(value: float):
    from harness.results import ResultRecord

    return ResultRecord.from_dict({
        "schema_version": 1, "task": "men", "variant": "", "main_metric": "spearman",
        "model": {"id": "m-1", "name": "m", "spec": "m"}, "metrics": {"spearman": value},
        "items": {"ids": ["a", "b"], "columns": {"human": [1.0, 2.0], "cosine": [0.1, 0.2]}}})


def test_failed_replacement_keeps_the_current_result(tmp_path, monkeypatch):
    """Disk full while the new file is written (fsync fails with ENOSPC): the old file stays, no history
    entry and no temporary file are left, and the error is one line."""
    from harness.errors import UserError
    from harness.result_files import load_result, result_path, write_result

    path = result_path(tmp_path, "m-1", "men")
    write_result(path, _record(0.5))
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(UserError) as e:
        write_result(path, _record(0.7))
    assert "No space left on device" in str(e.value) and "unchanged" in str(e.value) and "\n" not in str(e.value)
    assert path.read_bytes() == before and load_result(path).record.metrics["spearman"] == 0.5
    assert sorted(p.name for p in path.parent.iterdir()) == ["men.json"]  # no history/, no temporary file


def test_replacement_links_the_old_file_into_history_before_renaming(tmp_path):
    """While a replacement is under way the current path always holds a complete result: the old file
    is hard-linked into history/ (same inode), then the new one is renamed over the path."""
    from harness.result_files import result_path, write_result

    path = result_path(tmp_path, "m-1", "men")
    write_result(path, _record(0.5))
    old_inode = path.stat().st_ino
    write_result(path, _record(0.7))
    (kept,) = (path.parent / "history").iterdir()
    assert kept.stat().st_ino == old_inode and path.stat().st_ino != old_inode
    assert json.loads(kept.read_text())["metrics"]["spearman"] == 0.5


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="no user and mount namespaces to mount a small tmpfs in")
def test_disk_full_on_import_keeps_the_current_result(tmp_path):
    """A real full disk: the results folder on a 64 KiB tmpfs (private mount namespace). The first import
    fits; the second one's file (per-item values of 200 KB) does not: one line, exit 2, old result kept."""
    small, big = tmp_path / "small", tmp_path / "big"
    write_file(small, MODEL, "men", 0.41)
    n = 20_000
    write_file(big, MODEL, "men", 0.47, items={"ids": [str(i) for i in range(n)],
                                               "columns": {"x": [i / n for i in range(n)], "y": [1.0] * n}})
    results = tmp_path / "mnt" / "results"
    results.parent.mkdir()
    add = [sys.executable, "-m", "harness.cli", "leaderboard", "add", "--results-dir", str(results),
           "--out", str(tmp_path / "lb.md"), "--no-plots", "--results"]
    report = ("import json, pathlib, sys; f = pathlib.Path(sys.argv[1]) / 'men.json'; "
              "print(json.dumps({'spearman': json.loads(f.read_text())['metrics']['spearman'], "
              "'files': sorted(p.name for p in f.parent.rglob('*'))}))")
    script = (f"mount -t tmpfs -o size=64k tmpfs {tmp_path / 'mnt'} && mkdir {results} && "
              f"{' '.join(add)} {small} >/dev/null 2>&1 && "
              f"{{ {' '.join(add)} {big} 2>{tmp_path / 'err.txt'}; echo rc=$?; }} && "
              f"{sys.executable} -c \"{report}\" {results / MODEL['id']}")
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr
    rc_line, state = proc.stdout.strip().splitlines()[-2:]
    err = (tmp_path / "err.txt").read_text()
    assert rc_line == "rc=2" and "Traceback" not in err and err.count("\n") == 1
    assert "No space left on device" in err and "unchanged" in err
    assert json.loads(state) == {"spearman": 0.41, "files": ["men.json"]}  # no temporary file, no history entry
