"""Adding a similarity benchmark is one small file in tasks/ and nothing else (acceptance 4).

The test writes such a file into a temporary folder that joins the ``tasks`` package's path (as a
file dropped into tasks/ would), and a data file for it, then runs the real CLI in a fresh process:
``harness list`` lists the task, ``harness doctor`` checks its data file, ``harness eval`` runs it
(with the ``--split`` option its two splits give it) and the Spearman ρ in its result equals one
computed here from the model's hidden states with transformers and scipy directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainer_fixtures import write_tiny_model

NEW_TASK = '''"""Toy pairs: a benchmark added by one file."""

from harness.data import DataFile
from tasks.pairs import PairSimilarity, pair_reader

TSV = pair_reader("\\t", score=2, header="first")  # word1, word2, score; a header line
PairSimilarity("toy_pairs", "Toy pairs: word pairs rated 0-10", {
    split: DataFile(f"toy_pairs-{split}", f"toy/{split}.tsv", TSV, sha256=None,
                    url=f"https://example.org/toy-{split}.zip", member=f"{split}.tsv")
    for split in ("test", "dev")}).register()
'''
DEV = [("car", "automobile", 9.0), ("cup", "mug", 8.0), ("king", "queen", 6.5), ("bird", "crane", 5.0),
       ("food", "fruit", 4.5), ("noon", "string", 0.5), ("forest", "graveyard", 1.5)]


def harness(tmp: Path, *argv: str) -> subprocess.CompletedProcess:
    code = ("import sys, tasks; tasks.__path__.append(sys.argv[1]); from harness.cli import main; "
            "sys.exit(main(sys.argv[2:]))")
    env = dict(os.environ, HARNESS_DATA_DIR=str(tmp / "data"), HARNESS_CACHE=str(tmp / "cache"))
    return subprocess.run([sys.executable, "-c", code, str(tmp / "new_tasks"), *argv], capture_output=True,
                          text=True, env=env, timeout=300)


def spearman_by_hand(model_dir: Path, pairs: list[tuple[str, str, float]]) -> float:
    """BOS in front as context (the default protocol), final-layer hidden states mean-pooled over each text's
    own tokens, cosine per pair, Spearman vs the scores."""
    import numpy as np
    import torch
    from scipy.stats import spearmanr
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()

    def vector(text: str) -> np.ndarray:
        with torch.no_grad():
            ids = [tok.convert_tokens_to_ids("<|endoftext|>")] + tok(text)["input_ids"]  # the document separator in front
            out = model(input_ids=torch.tensor([ids]), output_hidden_states=True)
        return out.hidden_states[-1][0, 1:].mean(0).double().numpy()

    cosine = [float(np.dot(u := vector(a), v := vector(b)) / (np.linalg.norm(u) * np.linalg.norm(v)))
              for a, b, _ in pairs]
    return float(spearmanr([s for *_, s in pairs], cosine).statistic)


def test_a_new_similarity_task_is_one_file(tmp_path, smollm2_tokenizer):
    (tmp_path / "new_tasks").mkdir()
    (tmp_path / "new_tasks" / "toy_pairs.py").write_text(NEW_TASK)
    (tmp_path / "data" / "toy").mkdir(parents=True)
    for split, pairs in (("test", DEV[:5]), ("dev", DEV)):
        rows = "".join(f"{a}\t{b}\t{s}\n" for a, b, s in pairs)
        (tmp_path / "data" / "toy" / f"{split}.tsv").write_text("word1\tword2\tscore\n" + rows)
    model = write_tiny_model(tmp_path / "model", smollm2_tokenizer)

    listed = harness(tmp_path, "list")
    assert listed.returncode == 0 and "toy_pairs" in listed.stdout and "Toy pairs" in listed.stdout
    doctor = harness(tmp_path, "doctor")
    assert "benchmark toy_pairs-test" in doctor.stdout and "benchmark toy_pairs-dev" in doctor.stdout
    ran = harness(tmp_path, "eval", "--model", str(model), "--tasks", "toy_pairs", "--split", "dev",
                  "--results-dir", str(tmp_path / "results"), "--device", "cpu", "--dtype", "float32")
    assert ran.returncode == 0, ran.stderr
    (path,) = (tmp_path / "results").glob("*/toy_pairs.json")
    record = json.loads(path.read_text())
    assert record["protocol"]["split"] == "dev" and record["data"]["file"] == "toy_pairs-dev"
    assert len(record["items"]["ids"]) == len(DEV)
    assert record["metrics"]["spearman"] == pytest.approx(spearman_by_hand(model, DEV), abs=1e-6)
