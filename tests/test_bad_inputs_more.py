"""The catalogue of bad inputs, issue 25's group: each case runs through the CLI as those of
``test_bad_inputs.py`` do (:func:`bad_input_helpers.assert_refused`: exit status 2, one line on stderr after
any notes or progress, no traceback, every file under the test's folder unchanged).

The cases are inputs a user can give by mistake that earlier rounds did not try: a negative number list
read as a flag, concept files that name a position twice or end cut off, model folders whose
config is no object, names an unknown architecture or an adapter as its base, a logging integration that is
misspelt or not installed, output places that are files (checked before the concept build and training), a
comparison of a file with itself. A set that lists a token twice is accepted, counted once, with a note.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from types import SimpleNamespace

import pytest

from bad_input_helpers import assert_refused, edited_concepts, evaluate, run_case, train
from test_leaderboard_helpers import model_block, write_file
from trainer_fixtures import write_concept_file, write_tiny_model


@pytest.fixture(scope="module")
def w(tmp_path_factory, smollm2_tokenizer) -> SimpleNamespace:
    """A folder holding what the cases point at (the snapshot of each case covers all of it)."""
    root = tmp_path_factory.mktemp("catalogue-more")
    model = write_tiny_model(root / "tiny", smollm2_tokenizer)
    concepts = write_concept_file(root / "c.jsonl", smollm2_tokenizer)

    def repeat_target(record: dict) -> None:
        record["targets"].append(dict(record["targets"][0]))

    def repeat_member(record: dict) -> None:
        target = record["targets"][0]
        target["set_ids"].append(target["set_ids"][0])  # the original token, listed again
        target["set_words"].append(target["set_words"][0])

    twice = edited_concepts(concepts, root / "position-twice.jsonl", repeat_target)
    member = edited_concepts(concepts, root / "member-twice.jsonl", repeat_member)
    cut = root / "cut.jsonl"
    cut.write_text(concepts.read_text()[:-40])  # a build stopped mid-line
    other = write_concept_file(root / "other-tokenizer.jsonl", smollm2_tokenizer,
                               header_extra={"tokenizer": {"name": "gpt2", "fingerprint": "0" * 64}})

    def model_copy(name: str, edit) -> str:
        folder = root / name
        shutil.copytree(model, folder)
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(edit(config)))
        return str(folder)

    listed = model_copy("listed-config", lambda c: [c])
    newer = model_copy("newer-architecture", lambda c: {**c, "model_type": "llama99", "architectures": ["X"]})
    itself = root / "own-base"
    itself.mkdir()
    (itself / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(itself),
                                                            "peft_type": "LORA"}))
    listed_adapter = root / "listed-adapter"
    listed_adapter.mkdir()
    (listed_adapter / "adapter_config.json").write_text(json.dumps([{"base_model_name_or_path": str(model)}]))

    results = root / "results"
    result = write_file(results, model_block("tiny-base-00000001", "tiny-base", kind="causal_lm"), "men", 0.3)
    cut_result = root / "cut-result.json"
    cut_result.write_text(result.read_text()[:200])
    (root / "afile").write_text("a file\n")
    (root / "corpus-folder").mkdir()
    (root / "latin1.txt").write_bytes("Le café est une boisson que beaucoup aiment le matin.\n".encode("latin-1"))
    (root / "small.txt").write_text("The big dog ran across the wide green field.\n" * 12)
    return SimpleNamespace(root=root, model=str(model), concepts=str(concepts), twice=str(twice), member=str(member),
                           cut=str(cut), other=str(other), listed=listed, newer=newer, itself=str(itself),
                           listed_adapter=str(listed_adapter), result=str(result), cut_result=str(cut_result),
                           afile=str(root / "afile"))


def sweep(w, *more: str) -> list[str]:
    return ["sweep", "--lambdas", "0.5", "--model", w.model, "--concepts", w.concepts, "--tasks", "men", "--limit",
            "3", "--max-steps", "1", "--device", "cpu", "--no-progress", "--results-dir", str(w.root / "res"),
            "--leaderboard", str(w.root / "lb.md"), "--no-plots", *more]


def build_concepts(w, *more: str) -> list[str]:
    return ["concepts", "build", "--selector", "wordnet", "--model", w.model, "--device", "cpu", "--limit", "2",
            "--k", "3", "--out", str(w.root / "built.jsonl"), *more]


# (id, argv, words the one line must hold)
MORE_CASES = [
    ("layers: a list of negative numbers", lambda w: evaluate(w, "--layers", "-2,-99"), "--layers -99 is out of range"),
    ("lambdas: a list starting with a negative number", lambda w: ["sweep", "--lambdas", "-0.5,0.5", "--dry-run"],
     "must be at least 0"),
    ("concept file: one position a target twice", lambda w: train(w, concepts=w.twice), "is a target twice"),
    ("concept file: cut off mid-line", lambda w: train(w, concepts=w.cut), "ends in a cut-off line"),
    ("concept file for another tokenizer: train", lambda w: train(w, concepts=w.other), "was built for tokenizer gpt2"),
    ("adapter whose base is itself", lambda w: evaluate(w, "--model", w.itself), "is itself, not a causal LM"),
    ("adapter_config.json a JSON list", lambda w: evaluate(w, "--model", w.listed_adapter), "holds a JSON list"),
    ("config.json a JSON list", lambda w: evaluate(w, "--model", w.listed), "holds a JSON list"),
    ("config.json of an unknown architecture: eval", lambda w: evaluate(w, "--model", w.newer),
     "model type 'llama99', which transformers"),
    ("config.json of an unknown architecture: train", lambda w: train(w, "--model", w.newer), "model type 'llama99'"),
    ("report-to misspelt", lambda w: train(w, "--report-to", "wandbb"), "unknown integration 'wandbb'"),
    ("report-to none in a list", lambda w: train(w, "--report-to", "none,tensorboard"), "none and all stand alone"),
    ("job-timeout-min 0", lambda w: ["sweep", "--lambdas", "0.5", "--dry-run", "--job-timeout-min", "0"],
     "must be at least 1"),
    ("sweep runs-dir is a file", lambda w: sweep(w, "--runs-dir", w.afile), "--runs-dir"),
    ("train-and-eval out is a file",
     lambda w: ["train-and-eval", "--model", w.model, "--concepts", w.concepts, "--tasks", "men", "--limit", "3",
                "--max-steps", "1", "--device", "cpu", "--results-dir", str(w.root / "res"), "--out", w.afile,
                "--no-leaderboard", "--no-progress"], "--out"),
    ("compare a file with itself", lambda w: ["compare", w.result, w.result], "A and B are both"),
    ("compare a cut-off result file", lambda w: ["compare", w.cut_result, w.result], "cannot read"),
    ("corpus is a folder", lambda w: build_concepts(w, "--corpus", str(w.root / "corpus-folder")), "is not a file"),
    ("corpus in Latin-1", lambda w: build_concepts(w, "--corpus", str(w.root / "latin1.txt")), "is not UTF-8 text"),
    ("geometry selector misspelt", lambda w: evaluate(w, "--tasks", "clustering", "--geometry-corpus",
                                                      str(w.root / "small.txt"), "--geometry-selector", "wordnett"),
     "unknown selector 'wordnett'"),
]
if importlib.util.find_spec("wandb") is None:
    MORE_CASES.append(("report-to an integration not installed", lambda w: train(w, "--report-to", "wandb"),
                       "wandb is not installed here"))


@pytest.mark.parametrize("case", MORE_CASES, ids=[c[0] for c in MORE_CASES])
def test_bad_input_ends_in_one_line_and_changes_nothing(case, w, capsys, monkeypatch):
    _, argv, words = case
    monkeypatch.chdir(w.root)
    assert_refused(argv(w), words, w.root, capsys)


def test_the_group_holds_ten_cases_or_more():
    assert len(MORE_CASES) >= 10


def test_a_list_of_negative_layers_is_a_value_not_a_flag(w, capsys, tmp_path):
    """``--layers -2,-1`` is read as argparse reads ``--layer -1``: scored at the last two layers (of 0-2)."""
    code, err = run_case(evaluate(w, "--layers", "-2,-1", "--results-dir", str(tmp_path / "r")), capsys)
    assert code == 0, err
    (path,) = (tmp_path / "r").rglob("men.json")
    record = json.loads(path.read_text())
    assert record["protocol"]["layers"] == [1, 2]
    assert {"spearman.L1", "spearman.L2"} <= set(record["metrics"])


def test_a_set_that_lists_a_token_twice_counts_it_once_with_a_note(w, capsys):
    """T* is a set (the builder de-duplicates; ``set_log_probs`` counts a token once): the reader drops the repeat,
    so the trainer's loss cannot count its probability twice."""
    from concepts.concept_file import load_concept_file

    cf = load_concept_file(w.member)
    assert "1 concept set(s) list a token more than once; each counts once" in capsys.readouterr().err
    ids, words = cf.records[0].targets[0].set_ids, cf.records[0].targets[0].set_words
    assert len(set(ids)) == len(ids) == len(words)
    code, err = run_case(["concepts", "show", w.member], capsys)
    assert code == 0 and "each counts once" in err, err
