"""The catalogue of bad inputs (issue 12): each case runs through the CLI (``harness.cli.main``, in process,
so the catalogue takes seconds) and must end with exit status 2, one line on stderr after any notes or
progress, no traceback, and every file under the test's folder unchanged (nothing written, replaced or
created, no folder left behind).

A case is (id, argv built from the prepared folder ``w``). The first group is the issue's list, the
second our own; a third (issue 25) is in ``test_bad_inputs_more.py``, and the helpers both use in
``bad_input_helpers.py``. Faults (signals, concurrency, a full disk) are in ``test_faults.py``; the inputs
that are accepted, with a note, are at the end of this file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from bad_input_helpers import assert_refused, build, evaluate, run_case, train
from leaderboard.render import MARKDOWN_MARKER
from test_leaderboard_helpers import model_block, write_file
from trainer_fixtures import write_concept_file, write_tiny_model

MEN = "men/MEN_dataset_natural_form_full"


@pytest.fixture(scope="module")
def w(tmp_path_factory, smollm2_tokenizer) -> SimpleNamespace:
    """A folder holding what the cases point at (the snapshot of each case covers all of it)."""
    root = tmp_path_factory.mktemp("catalogue")
    model = write_tiny_model(root / "tiny", smollm2_tokenizer)
    concepts = write_concept_file(root / "c.jsonl", smollm2_tokenizer)
    bad_ids = root / "bad-ids.jsonl"
    lines = concepts.read_text().splitlines()
    record = json.loads(lines[1])
    record["targets"][0]["set_ids"].append(len(smollm2_tokenizer) + 5)  # one synonym outside the vocabulary
    bad_ids.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    negative = root / "negative.jsonl"
    record["targets"][0]["set_ids"][-1] = -3
    negative.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")

    truncated = root / "truncated"
    shutil.copytree(model, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    garbage = root / "garbage"
    shutil.copytree(model, garbage)
    (garbage / "model.safetensors").write_bytes(b"\x01\x02")

    def adapter(name: str, config: dict | str, weights: bytes = b"") -> Path:
        folder = root / name
        folder.mkdir()
        (folder / "adapter_config.json").write_text(config if isinstance(config, str) else json.dumps(config))
        if weights:
            (folder / "adapter_model.safetensors").write_bytes(weights)
        return folder

    header = json.dumps({"lm_head": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    cut_adapter = adapter("cut-adapter", {"base_model_name_or_path": str(model), "peft_type": "LORA"},
                          len(header).to_bytes(8, "little") + header + b"\0" * 8)  # 8 of its 16 bytes
    orphan = adapter("orphan", {"base_model_name_or_path": str(root / "gone-base"), "peft_type": "LORA"})
    broken_cfg = adapter("broken-config", "{not json")

    data = root / "data"
    (data / MEN).parent.mkdir(parents=True)
    shared = Path(os.environ["HARNESS_DATA_DIR"]) / MEN
    (data / MEN).write_text(shared.read_text() + "sun moon nan\n")

    results = root / "results"
    write_file(results, model_block("tiny-base-00000001", "tiny-base", kind="causal_lm", base="tiny-base"), "men", 0.3)
    empty_results = root / "empty-results"
    empty_results.mkdir()
    (root / "leaderboard.md").write_text(f"{MARKDOWN_MARKER}\n# Leaderboard\n\nan earlier build\n")
    (root / "report.md").write_text("my own notes\n")
    (root / "report.csv").write_text("my,own,table\n")
    (root / "notes_paper.csv").write_text("my,own,table\n")  # where --out notes.md puts the paper tables' CSV
    (root / "afile").write_text("a file\n")
    (root / "existing.jsonl").write_text("the user's\n")
    hostile = root / "hostile"
    path = write_file(hostile, model_block("tiny-x-00000001", "tiny-x"), "men", 0.5)
    rec = json.loads(path.read_text())
    rec["metrics"]["spearman"] = float("nan")
    path.write_text(json.dumps(rec))
    return SimpleNamespace(root=root, model=str(model), concepts=str(concepts), bad_ids=str(bad_ids),
                           negative=str(negative), truncated=str(truncated), garbage=str(garbage),
                           cut_adapter=str(cut_adapter), orphan=str(orphan), broken_cfg=str(broken_cfg),
                           data=str(data), results=str(results), empty_results=str(empty_results),
                           afile=str(root / "afile"), hostile=str(hostile), long="x" * 300)


# (id, argv, words the one line must hold)
ISSUE_CASES = [
    ("layer 999", lambda w: evaluate(w, "--layer", "999"), "--layer 999"),
    ("device tpu", lambda w: evaluate(w, "--device", "tpu"), "unknown device 'tpu'"),
    ("seed -1", lambda w: evaluate(w, "--seed", "-1"), "--seed: must be at least 0"),
    ("results-dir is a file", lambda w: evaluate(w, "--results-dir", w.afile), "is a file, not a folder"),
    ("results-dir name too long", lambda w: evaluate(w, "--results-dir", str(w.root / w.long)), "File name too long"),
    ("truncated model weights", lambda w: evaluate(w, "--model", w.truncated), "is truncated"),
    ("truncated adapter weights", lambda w: evaluate(w, "--model", w.cut_adapter), "is truncated"),
    ("model path too long", lambda w: evaluate(w, "--model", "/tmp/" + w.long), "File name too long"),
    ("concept ids outside vocabulary: train", lambda w: train(w, concepts=w.bad_ids), "outside the tokenizer's vocabulary"),
    ("concept ids outside vocabulary: train-and-eval",
     lambda w: ["train-and-eval", "--model", w.model, "--concepts", w.bad_ids, "--tasks", "men", "--limit", "5",
                "--max-steps", "1", "--device", "cpu", "--results-dir", str(w.root / "new-results"),
                "--out", str(w.root / "run"), "--no-leaderboard", "--no-progress"],
     "outside the tokenizer's vocabulary"),
    ("concept ids outside vocabulary: concepts show --model",
     lambda w: ["concepts", "show", w.bad_ids, "--model", w.model], "outside the tokenizer's vocabulary"),
    ("lr nan", lambda w: train(w, "--lr", "nan"), "--lr: must be a finite number"),
    ("leaderboard out is a folder", lambda w: build(w, "--out", w.results), "is a folder, not a file"),
    ("leaderboard out under a file", lambda w: build(w, "--out", w.afile + "/lb.md"), "which is a file"),
    ("benchmark score nan", lambda w: evaluate(w, "--data-dir", w.data), "is not a finite number"),
    ("bootstrap-resamples 0", lambda w: build(w, "--bootstrap", "--bootstrap-resamples", "0"), "must be at least 1"),
    ("compare resamples 0", lambda w: ["compare", w.results, w.results, "--resamples", "0"], "must be at least 1"),
    ("tasks empty", lambda w: evaluate(w, "--tasks", ""), "names nothing"),
    ("tasks commas", lambda w: evaluate(w, "--tasks", ",,,"), "names nothing"),
    ("heldout-limit 0", lambda w: evaluate(w, "--heldout-limit", "0"), "must be at least 1"),
    ("max-steps -1", lambda w: train(w, "--max-steps", "-1"), "must be at least 0"),
    ("max-batch-tokens 0", lambda w: evaluate(w, "--max-batch-tokens", "0"), "must be at least 1"),
    ("base on a non-adapter", lambda w: evaluate(w, "--base", w.model), "--base applies to adapters only"),
    ("missing base named in adapter_config.json", lambda w: evaluate(w, "--model", w.orphan),
     "base_model_name_or_path in"),
    ("data folder is a file", lambda w: evaluate(w, "--data-dir", w.afile), "is a file, not a folder"),
    ("concepts randomize onto an existing file",
     lambda w: ["concepts", "randomize", w.concepts, str(w.root / "existing.jsonl")], "pass --overwrite"),
    ("leaderboard out beside a user's csv", lambda w: build(w, "--out", str(w.root / "report.md")),
     "was not written by this harness"),
    ("leaderboard paper csv beside --out is a user's file", lambda w: build(w, "--out", str(w.root / "notes.md")),
     "the paper tables' CSV"),
    ("leaderboard out is its own csv", lambda w: build(w, "--out", str(w.root / "same.csv")), "would also be the CSV"),
    ("empty results folder keeps the leaderboard",
     lambda w: ["leaderboard", "build", w.empty_results, "--no-plots", "--out", str(w.root / "leaderboard.md"),
                "--csv", str(w.root / "lb-new.csv")], "is left as it is"),
    ("failed leaderboard add --name leaves no folder",
     lambda w: ["leaderboard", "add", "--model", str(w.root / "nothing-here"), "--name", "X", "--results-dir",
                str(w.root / "fresh-results"), "--out", str(w.root / "fresh.md"), "--no-plots"], "does not exist"),
]
if not __import__("torch").cuda.is_available():
    ISSUE_CASES.append(("device cuda on a CPU-only torch", lambda w: evaluate(w, "--device", "cuda"),
                        "no CUDA device is available"))

OWN_CASES = [
    ("limit 0", lambda w: evaluate(w, "--limit", "0"), "must be at least 1"),
    ("confidence 1.5", lambda w: ["compare", w.results, w.results, "--confidence", "1.5"], "must be less than 1"),
    ("lambdas out of range", lambda w: ["sweep", "--lambdas", "0,2", "--dry-run"], "must be at most 1"),
    ("lambda inf", lambda w: train(w, "--lambda", "inf"), "must be a finite number"),
    ("lora-dropout 1", lambda w: train(w, "--lora-dropout", "1"), "must be less than 1"),
    ("val-fraction 1", lambda w: train(w, "--val-fraction", "1"), "must be less than 1"),
    ("batch-size 0", lambda w: train(w, "--batch-size", "0"), "must be at least 1"),
    ("mass-threshold 0", lambda w: train(w, "--mass-threshold", "0"), "must be greater than 0"),
    ("target-modules empty", lambda w: train(w, "--target-modules", ","), "names nothing"),
    ("train out is a file", lambda w: train(w, "--out", w.afile), "is a file, not a folder"),
    ("dtype float8", lambda w: evaluate(w, "--dtype", "float8"), "invalid choice"),
    ("device cuda:x", lambda w: evaluate(w, "--device", "cuda:x"), "unknown device"),
    ("split-seed beyond 32 bits", lambda w: evaluate(w, "--split-seed", str(2**33)), "must be at most"),
    ("geometry-samples 0", lambda w: evaluate(w, "--geometry-samples", "0"), "must be at least 1"),
    ("heldout-size 0", lambda w: evaluate(w, "--heldout-size", "0"), "must be at least 1"),
    ("seed not a number", lambda w: evaluate(w, "--seed", "one"), "must be an integer"),
    ("unknown task", lambda w: evaluate(w, "--tasks", "menn"), "menn"),
    ("garbage model weights", lambda w: evaluate(w, "--model", w.garbage), "damaged or truncated"),
    ("unreadable adapter_config.json", lambda w: evaluate(w, "--model", w.broken_cfg), "cannot be read"),
    ("negative concept id without a model", lambda w: ["concepts", "show", w.negative], "token id -3"),
    ("csv same as out", lambda w: build(w, "--out", str(w.root / "x.md"), "--csv", str(w.root / "x.md")),
     "would also be the CSV"),
    ("plots-dir is a file", lambda w: ["leaderboard", "build", w.results, "--plots-dir", w.afile, "--out",
                                       str(w.root / "y.md")], "is a file, not a folder"),
    ("randomize onto its input", lambda w: ["concepts", "randomize", w.concepts, w.concepts], "is the input file"),
    ("hostile NaN result imported", lambda w: ["leaderboard", "add", "--results", w.hostile, "--results-dir",
                                               w.results, "--out", str(w.root / "z.md"), "--no-plots"], "finite"),
    ("compare a missing file", lambda w: ["compare", str(w.root / "none.json"), w.results], "does not exist"),
    ("concepts build k 0", lambda w: ["concepts", "build", "--selector", "wordnet", "--out",
                                      str(w.root / "b.jsonl"), "--k", "0"], "must be at least 1"),
    ("leaderboard add results-dir is a file", lambda w: ["leaderboard", "add", "--results", w.hostile,
                                                         "--results-dir", w.afile], "is a file, not a folder"),
    ("concepts stats of a missing file", lambda w: ["concepts", "stats", str(w.root / "none.jsonl"), "--no-mass"],
     "does not exist"),
    ("concepts stats of a non-concept file", lambda w: ["concepts", "stats", w.afile, "--no-mass"],
     "malformed concept file line"),
    ("concepts stats onto a user's report", lambda w: ["concepts", "stats", w.concepts, "--no-mass", "--out",
                                                       str(w.root / "report")], "pass --overwrite"),
    ("concepts stats threshold 0", lambda w: ["concepts", "stats", w.concepts, "--threshold", "0"],
     "must be greater than 0"),
    ("concepts score of a file not built from lexsub XML", lambda w: ["concepts", "score", w.concepts, "--gold",
                                                                     w.afile], "pass --contexts"),
    ("concepts score with a malformed gold file", lambda w: ["concepts", "score", w.concepts, "--gold", w.afile,
                                                             "--contexts", str(w.root / "none.xml")],
     "not a lexical-substitution gold line"),
]


@pytest.mark.parametrize("case", ISSUE_CASES + OWN_CASES, ids=[c[0] for c in ISSUE_CASES + OWN_CASES])
def test_bad_input_ends_in_one_line_and_changes_nothing(case, w, capsys, monkeypatch):
    _, argv, words = case
    monkeypatch.chdir(w.root)
    assert_refused(argv(w), words, w.root, capsys)


def test_the_catalogue_holds_the_issue_list_and_ten_more():
    assert len(ISSUE_CASES) >= 30 and len(OWN_CASES) >= 10


# ------------------------------------------------------------------ accepted, with a note


def test_a_repeated_task_is_run_once_with_a_note(w, capsys, tmp_path):
    code, err = run_case(evaluate(w, "--tasks", "men,men", "--results-dir", str(tmp_path / "r")), capsys)
    assert code == 0, err
    assert "--tasks names men more than once; each is used once" in err
    assert [p.name for p in (tmp_path / "r").rglob("*.json")] == ["men.json"]


def test_a_model_folder_with_spaces_and_other_letters_gives_importable_results(w, capsys, tmp_path):
    """The tool's own output from a folder named with spaces and non-ASCII letters imports cleanly."""
    odd = tmp_path / "mon modèle 1"
    shutil.copytree(w.model, odd)
    code, err = run_case(evaluate(w, "--model", str(odd), "--results-dir", str(tmp_path / "elsewhere")), capsys)
    assert code == 0, err
    code, err = run_case(["leaderboard", "add", "--results", str(tmp_path / "elsewhere"), "--results-dir",
                          str(tmp_path / "board"), "--out", str(tmp_path / "lb.md"), "--no-plots"], capsys)
    assert code == 0, err
    (folder,) = (tmp_path / "board").glob("mon-mod-le-1-*")
    assert (folder / "men.json").is_file()


def test_an_undefined_metric_is_recorded_with_its_reason_never_as_nan(w, capsys, tmp_path):
    """Spearman over one pair is undefined: stored as null with the reason, and the file is strict JSON."""
    code, err = run_case(evaluate(w, "--limit", "1", "--results-dir", str(tmp_path / "r")), capsys)
    assert code == 0, err
    (path,) = (tmp_path / "r").rglob("men.json")
    text = path.read_text()
    record = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in a result file"))
    assert record["metrics"]["spearman"] is None
    assert "over 1 item(s)" in record["undefined"]["spearman"]
    assert "spearman is undefined" in err
    code, err = run_case(["leaderboard", "build", str(tmp_path / "r"), "--out", str(tmp_path / "lb.md"),
                          "--no-plots"], capsys)
    assert code == 0, err


def test_compare_says_which_items_it_leaves_out(w, capsys, tmp_path):
    for limit, folder in (("5", "a"), ("8", "b")):
        assert run_case(evaluate(w, "--limit", limit, "--results-dir", str(tmp_path / folder)), capsys)[0] == 0
    a, b = (next((tmp_path / f).rglob("men.json")) for f in "ab")
    code, err = run_case(["compare", str(a), str(b), "--resamples", "50"], capsys)
    assert code == 0, err
    assert "A holds 5 items and B 8; only the 5 they share are compared" in err


def test_leaderboard_replaces_its_own_output_and_a_users_file_only_with_overwrite(w, capsys, tmp_path):
    out = tmp_path / "report.md"
    out.write_text("mine\n")
    argv = ["leaderboard", "build", w.results, "--out", str(out), "--no-plots"]
    assert run_case(argv, capsys)[0] == 2 and out.read_text() == "mine\n"
    assert run_case(argv + ["--overwrite"], capsys)[0] == 0
    first = out.read_text()
    assert first.startswith("<!-- harness leaderboard build")
    assert run_case(argv, capsys)[0] == 0  # its own output: rebuilt without --overwrite
    assert out.read_text() == first and (tmp_path / "report.csv").read_text().startswith("base_model,method")
