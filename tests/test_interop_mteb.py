"""MTEB in both directions: our encoder inside MTEB's own evaluator, and ``harness eval --mteb``.

The MTEB task is defined here over the local STS-B file ($HARNESS_DATA_DIR/stsbenchmark/sts-test.csv), read
by its own few lines (not by the harness's parser), so nothing reaches the hub.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("mteb")

from harness.cli import main  # noqa: E402

N_PAIRS = 300
TASK_FILE = '''
import os
from pathlib import Path

from datasets import Dataset, DatasetDict
from mteb.abstasks.sts import AbsTaskSTS
from mteb.abstasks.task_metadata import TaskMetadata


class LocalSTSB(AbsTaskSTS):
    """STS-B test pairs from the local benchmark file (the first N_PAIRS), scored 0-5."""

    metadata = TaskMetadata(
        name="LocalSTSB", description="STS-B test split from a local file", reference=None,
        dataset={"path": "local/stsbenchmark", "revision": "local"}, type="STS", category="t2t",
        modalities=["text"], eval_splits=["test"], eval_langs=["eng-Latn"], main_score="cosine_spearman",
        date=("2017-01-01", "2017-12-31"), domains=[], task_subtypes=[], license="not specified",
        annotations_creators="human-annotated", dialect=[], sample_creation="found", bibtex_citation="",
    )
    min_score = 0
    max_score = 5

    def load_data(self, **kwargs):
        path = Path(os.environ["HARNESS_DATA_DIR"]) / "stsbenchmark" / "sts-test.csv"
        rows = [line.rstrip("\\r\\n").split("\\t") for line in path.read_text(encoding="utf-8").splitlines()]
        rows = [r for r in rows if len(r) >= 7][:N_PAIRS]
        self.dataset = DatasetDict({"test": Dataset.from_dict({
            "sentence1": [r[5] for r in rows], "sentence2": [r[6] for r in rows],
            "score": [float(r[4]) for r in rows]})})
        self.data_loaded = True
'''.replace("N_PAIRS", str(N_PAIRS))


@pytest.fixture(scope="module")
def task_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mteb_tasks") / "local_sts.py"
    path.write_text(TASK_FILE)
    return path


@pytest.fixture(scope="module")
def minilm():
    from harness.lm.load import load_model

    return load_model("all-minilm-l6-v2", device="cpu", dtype="float32")


def local_task(task_file: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("local_sts_under_test", task_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LocalSTSB()


def test_minilm_stsb_through_mtebs_own_evaluator_equals_ours(minilm, task_file, tmp_path, capsys):
    import mteb

    from harness.interop.mteb_encoder import HarnessEncoder
    from harness.runner import evaluate
    from harness.task import EvalOptions

    assert os.environ.get("HARNESS_DATA_DIR"), "the local STS-B file is needed"
    ours = evaluate("all-minilm-l6-v2", "stsb", EvalOptions(results_dir=tmp_path / "ours", limit=N_PAIRS), lm=minilm)
    (record,) = ours.records
    result = mteb.evaluate(HarnessEncoder(minilm), local_task(task_file), cache=None, show_progress_bar=False)
    theirs = result.task_results[0].scores["test"][0]["cosine_spearman"]
    assert len(record.items.ids) == N_PAIRS
    assert abs(theirs - record.metrics["spearman"]) <= 1e-4, (theirs, record.metrics["spearman"])

    # the same through harness eval --mteb: stored with MTEB's score and the per-pair values it exposes
    rc = main(["eval", "--model", "all-minilm-l6-v2", "--mteb", f"{task_file}:LocalSTSB", "--results-dir",
               str(tmp_path / "r"), "--device", "cpu", "--dtype", "float32"])
    assert rc == 0, capsys.readouterr().err
    (path,) = (tmp_path / "r").glob("*/mteb.LocalSTSB.json")
    stored = json.loads(path.read_text())
    assert stored["main_metric"] == "cosine_spearman"
    assert abs(stored["metrics"]["cosine_spearman"] - theirs) <= 1e-9
    cols = stored["items"]["columns"]
    assert len(cols["cosine"]) == N_PAIRS
    ours_cos = record.items.columns["cosine"]
    assert max(abs(a - b) for a, b in zip(cols["cosine"], ours_cos)) <= 1e-5
    assert stored["aggregations"]["cosine_spearman"] == {"fn": "spearman", "columns": ["gold", "cosine"]}


def test_mteb_results_are_compared_and_on_the_leaderboard(task_file, tmp_path, capsys, smollm2_tokenizer):
    from trainer_fixtures import write_tiny_model

    tiny = write_tiny_model(tmp_path / "tiny", smollm2_tokenizer)
    results = tmp_path / "r"
    for spec in ("all-minilm-l6-v2", str(tiny)):
        rc = main(["eval", "--model", spec, "--mteb", f"{task_file}:LocalSTSB", "--tasks", "wordsim353", "--limit",
                   "30", "--results-dir", str(results), "--device", "cpu", "--dtype", "float32"])
        assert rc == 0, capsys.readouterr().err
    capsys.readouterr()
    folders = sorted({p.parent for p in results.glob("*/mteb.LocalSTSB.json")})
    assert len(folders) == 2 and all((f / "wordsim353.json").is_file() for f in folders)
    assert main(["compare", str(folders[0]), str(folders[1]), "--resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert "mteb.LocalSTSB" in out and "cosine_spearman" in out
    board = tmp_path / "board.md"
    assert main(["leaderboard", "build", str(results), "--out", str(board), "--no-plots"]) == 0
    text = board.read_text()
    assert "mteb.LocalSTSB" in text and "wordsim353" in text


def test_an_adapter_loads_in_the_mteb_encoder(tmp_path, smollm2_tokenizer):
    """``HarnessEncoder.load`` of an adapter folder embeds with the adapter on (not the bare base)."""
    import numpy as np

    from harness.interop.mteb_encoder import HarnessEncoder
    from test_interop_lm_eval import write_adapter
    from trainer_fixtures import write_tiny_model

    tiny = write_tiny_model(tmp_path / "tiny", smollm2_tokenizer)
    adapter = write_adapter(tiny, tmp_path / "adapter")
    texts = ["A man is playing a harp.", "A girl is styling her hair."]
    batches = [{"text": texts[:1]}, {"text": texts[1:]}]
    enc = HarnessEncoder.load(str(adapter), device="cpu", dtype="float32")
    base = HarnessEncoder.load(str(tiny), device="cpu", dtype="float32")
    got, bare = enc.encode(batches), base.encode(batches)
    assert enc.lm.info.kind == "adapter" and got.shape == bare.shape == (2, 32)
    assert not np.allclose(got, bare)
    # the adapter merged into the base weights by peft gives the same vectors
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), str(adapter)).merge_and_unload()
    merged.save_pretrained(tmp_path / "merged")
    smollm2_tokenizer.save_pretrained(tmp_path / "merged")
    np.testing.assert_allclose(HarnessEncoder.load(str(tmp_path / "merged"), device="cpu", dtype="float32")
                               .encode(batches), got, atol=1e-5)


def test_unknown_mteb_task_is_one_line(tmp_path, capsys):
    rc = main(["eval", "--model", "all-minilm-l6-v2", "--mteb", "STSBenchmarkk", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "unknown MTEB task STSBenchmarkk" in err, err
