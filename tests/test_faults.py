"""Faults (issue 12): concurrent runs into one folder, runs that fail or are killed before their first
checkpoint, SIGINT, a full disk and a read-only folder. Each ends in one line (or a retry that works) and
leaves nothing lost and nothing that blocks a retry.

The full disk and the read-only folder are real: a small tmpfs, mounted inside a user and mount namespace
(``unshare -rm``, no root needed) where the kernel allows one; elsewhere those tests are skipped (the
simulated full disk of ``test_results_untrusted.py`` still runs).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from leaderboard.render import MARKDOWN_MARKER
from test_leaderboard_helpers import ROOT, model_block, write_file
from trainer_fixtures import write_concept_file, write_tiny_model
from trainers.run_folder import LOCK_FILE, RUN_FILE


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, smollm2_tokenizer) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model", smollm2_tokenizer)


@pytest.fixture(scope="module")
def concepts(tmp_path_factory, smollm2_tokenizer) -> Path:
    return write_concept_file(tmp_path_factory.mktemp("concepts") / "c.jsonl", smollm2_tokenizer, n_seq=4)


def train_argv(model: Path, concepts: Path, out: Path, *more: str) -> list[str]:
    return ["train", "--model", str(model), "--concepts", str(concepts), "--lambda", "0.25", "--out", str(out),
            "--max-steps", "1", "--batch-size", "4", "--no-progress", "--device", "cpu", *more]


def run(argv: list[str], capsys) -> tuple[int, str]:
    code = cli_main(argv)
    return code, capsys.readouterr().err


def test_a_second_process_cannot_train_into_a_locked_folder(tiny_folder, concepts, tmp_path, capsys):
    """Another process holds the run folder's lock: this one ends in one line and writes nothing there."""
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, sys, time
        f = open({str(out / LOCK_FILE)!r}, "a")
        fcntl.flock(f, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(120)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, err = run(train_argv(tiny_folder, concepts, out), capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and err.strip().count("\n") == 0 and "being trained into by another process" in err
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]
    assert run(train_argv(tiny_folder, concepts, out), capsys)[0] == 0  # the lock went with its process


def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing(tiny_folder, concepts, tmp_path):
    from transformers import TrainerCallback

    from trainers.objectives import ObjectiveSettings
    from trainers.recipe import TrainConfig, train

    class Boom(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            raise RuntimeError("a fault in the first step")

    out = tmp_path / "run"
    cfg = TrainConfig(model=str(tiny_folder), concepts=concepts, out=out, settings=ObjectiveSettings(lam=0.25),
                      device="cpu", dtype="float32", progress=False, overrides={"max_steps": 1, "batch_size": 4})
    with pytest.raises(RuntimeError, match="a fault in the first step"):
        train(cfg, callbacks=[Boom()])
    assert not out.exists()  # run.json, checkpoints/, the log and the folder it created: all gone
    other = TrainConfig(**{**cfg.__dict__, "overrides": {"max_steps": 1, "batch_size": 4, "lr": 1e-3}})
    assert (train(other).adapter / "adapter_model.safetensors").is_file()  # the retry, with other settings


def test_leftovers_of_a_killed_run_do_not_block_a_retry_with_other_settings(tiny_folder, concepts, tmp_path, capsys):
    """SIGKILL after run.json is written and before any checkpoint (no cleanup can run): a retry with another
    learning rate takes the folder, since nothing in it is worth keeping."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", *train_argv(tiny_folder, concepts, out, "--max-steps",
                                                                              "100000", "--save-steps", "100000")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out / RUN_FILE).is_file() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (out / RUN_FILE).is_file(), proc.stderr.read() if proc.poll() is not None else "no run.json in time"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (out / "adapter_model.safetensors").exists()
    code, err = run(train_argv(tiny_folder, concepts, out, "--lr", "0.001"), capsys)
    assert code == 0, err
    assert json.loads((out / RUN_FILE).read_text())["hyperparameters"]["lr"] == 0.001


def test_sigint_during_eval_writes_no_half_file_and_exits_130(tiny_folder, tmp_path):
    """Interrupted while evaluating: exit 130 with one line, and no result or temporary file left."""
    results = tmp_path / "results"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "eval", "--model", str(tiny_folder), "--tasks",
                             "men,simlex999,wordsim353", "--device", "cpu", "--results-dir", str(results)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not results.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the first result file's folder: the model is loaded and evaluating
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode in (0, 130), err  # 0 when all three finished first
    assert "Traceback" not in err
    if proc.returncode == 130:
        assert err.strip().splitlines()[-1] == "harness: interrupted"
    leftovers = [p for p in results.rglob("*") if p.is_file() and (p.name.startswith(".") or p.suffix == ".tmp")]
    assert leftovers == []
    for p in results.rglob("*.json"):
        json.loads(p.read_text())  # every file there is whole


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(not _unshare_works(), reason="no user+mount namespace here (unshare -rm) to mount "
                                                              "a small tmpfs without root")


def in_namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) in a private user+mount namespace with ``$T`` a fresh mount point, ``$PY`` Python."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), T=str(mnt), PY=sys.executable)
    return subprocess.run(["unshare", "-rm", "sh", "-ec", script], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


@needs_tmpfs
def test_full_disk_keeps_the_leaderboard_and_ends_in_one_line(tmp_path):
    results = tmp_path / "results"
    for i in range(40):  # a leaderboard larger than the room left on the disk
        write_file(results, model_block(f"tiny-m{i:02d}-00000001", f"tiny-m{i:02d}"), "men", 0.3 + i / 100)
    proc = in_namespace(f"""
        mount -t tmpfs -o size=64k tmpfs "$T"
        printf '%s\\n# Leaderboard\\nold\\n' '{MARKDOWN_MARKER}' > "$T/lb.md"
        cp "$T/lb.md" old.md
        head -c 60000 /dev/zero > "$T/filler" || true
        set +e
        "$PY" -m harness.cli leaderboard build {results} --out "$T/lb.md" --no-plots 2> err.txt
        echo "rc=$?"
        cmp "$T/lb.md" old.md && echo same
        ls -A "$T"
    """, tmp_path)
    err = (tmp_path / "err.txt").read_text()
    assert "rc=2" in proc.stdout and "same" in proc.stdout, (proc.stdout, proc.stderr, err)
    assert err.strip().count("\n") == 0 and "No space left on device" in err and "unchanged" in err
    assert sorted(proc.stdout.split("same", 1)[1].split()) == ["filler", "lb.md"]  # no temporary file left


@needs_tmpfs
def test_read_only_results_folder_is_refused_before_the_evaluation(tiny_folder, tmp_path):
    proc = in_namespace(f"""
        mount -t tmpfs -o size=64k,ro tmpfs "$T"
        set +e
        "$PY" -m harness.cli eval --model {tiny_folder} --tasks men --limit 5 --device cpu --results-dir "$T/results" \\
            2> err.txt
        echo "rc=$?"
    """, tmp_path)
    err = (tmp_path / "err.txt").read_text()
    assert "rc=2" in proc.stdout, (proc.stdout, proc.stderr, err)
    assert err.strip().count("\n") == 0 and "no permission to write in" in err
    assert "Loading weights" not in err  # refused before the model was read


@needs_tmpfs
def test_full_disk_while_writing_a_result_keeps_the_current_one(tiny_folder, tmp_path):
    """The disk fills up before a result is replaced: one line (after the progress output), exit 2, and the
    current result file, its history and the folder are as they were."""
    from harness.models import describe_spec

    model_id = describe_spec(str(tiny_folder)).id
    proc = in_namespace(f"""
        mount -t tmpfs -o size=128k tmpfs "$T"
        mkdir -p "$T/results/{model_id}"
        echo '{{"an": "earlier result"}}' > "$T/results/{model_id}/men.json"
        head -c 1000000 /dev/zero > "$T/filler" 2>/dev/null || true
        ls -RA "$T/results" > before.txt
        set +e
        "$PY" -m harness.cli eval --model {tiny_folder} --tasks men --limit 5 --device cpu --results-dir "$T/results" \\
            > /dev/null 2> err.txt
        echo "rc=$?"
        cat "$T/results/{model_id}/men.json"
        ls -RA "$T/results" > after.txt
        cmp before.txt after.txt && echo same-files
    """, tmp_path)
    err = (tmp_path / "err.txt").read_text()
    assert "rc=2" in proc.stdout and '"earlier result"' in proc.stdout and "same-files" in proc.stdout, \
        (proc.stdout, proc.stderr, err)
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("harness: error: cannot write result") and "No space left on device" in last
    assert "the current result is unchanged" in last
