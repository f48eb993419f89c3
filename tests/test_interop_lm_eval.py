"""lm-eval tasks in the harness: ``harness eval --lm-eval`` on local task YAMLs written here.

Expected numbers come from lm-eval's own ``hf`` model (HFLM) on the same weights, never from the bridge.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("lm_eval")

from harness.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, smollm2_tokenizer) -> Path:
    from trainer_fixtures import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model", smollm2_tokenizer)

QUESTIONS = [
    ("The capital of France is", [" Paris", " Rome", " a banana"], 0),
    ("Two plus two equals", [" four", " seven"], 0),
    ("The sky on a clear day is", [" blue", " green", " loud"], 0),
    ("Cats like to chase", [" mice", " clouds"], 1),
    ("Water freezes at zero degrees", [" Celsius", " Kelvin"], 0),
    ("She opened the door and", [" walked in", " the of the"], 0),
]
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "A journey of a thousand miles begins with a single step, as the proverb says.",
    "Rain fell on the quiet town all night long.",
    "He wrote three letters before breakfast and posted them at noon.",
    "Bright stars shone above the dark hills.",
]


def write_tasks(folder: Path, n_mc: int = len(QUESTIONS)) -> Path:
    """Two lm-eval tasks over local JSON Lines: a multiple-choice one (loglikelihood) and a rolling one."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mc.jsonl").write_text("".join(json.dumps({"question": q, "choices": c, "answer": a}) + "\n"
                                             for q, c, a in QUESTIONS[:n_mc]))
    (folder / "ppl.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    (folder / "local_mc.yaml").write_text(f"""task: local_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {folder / 'mc.jsonl'}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
""")
    from harness.interop.lm_eval_run import rolling_task_yaml

    (folder / "local_ppl.yaml").write_text(rolling_task_yaml(
        "local_ppl", folder / "ppl.jsonl", ("word_perplexity", "byte_perplexity", "bits_per_byte")))
    return folder


def hflm_samples(model_folder: Path, tasks_folder: Path, tasks: list[str], peft: Path | None = None) -> dict:
    import lm_eval
    from lm_eval.tasks import TaskManager

    args = f"pretrained={model_folder},dtype=float32" + (f",peft={peft}" if peft else "")
    out = lm_eval.simple_evaluate(model="hf", model_args=args, tasks=tasks, device="cpu", batch_size=4,
                                  task_manager=TaskManager(include_path=str(tasks_folder)), log_samples=True,
                                  bootstrap_iters=0)
    return out


def read_result(results: Path, name: str) -> dict:
    (path,) = [p for p in results.glob(f"*/{name}.json")]
    return json.loads(path.read_text())


def check_parity(result_mc: dict, result_ppl: dict, reference: dict) -> None:
    """Per document: acc equals HFLM's, the rolling log-likelihood too up to float32 rounding of a sum of
    log-probabilities (HFLM sums float32 log-softmax values; |Δ| ≤ 1e-4 + 1e-5·|ll|, 1.3e-4 seen at ll ≈ −49 on
    SmolLM2); the task metrics equal lm-eval's (relative 1e-4)."""
    mc = {int(s["doc_id"]): s for s in reference["samples"]["local_mc"]}
    cols = result_mc["items"]["columns"]
    for i, doc in enumerate(result_mc["items"]["ids"]):
        assert cols["acc"][i] == mc[int(doc)]["acc"]
        assert cols["acc_norm"][i] == mc[int(doc)]["acc_norm"]
        got_ll = [r[0] for r in mc[int(doc)]["filtered_resps"]]
        assert len(got_ll) == len(QUESTIONS[int(doc)][1])
    ppl = {int(s["doc_id"]): s for s in reference["samples"]["local_ppl"]}
    cols = result_ppl["items"]["columns"]
    for i, doc in enumerate(result_ppl["items"]["ids"]):
        ll, words = ppl[int(doc)]["word_perplexity"]
        assert abs(-cols["word_perplexity.nll"][i] - ll) <= 1e-4 + 1e-5 * abs(ll)
        assert cols["word_perplexity.weight"][i] == words
    for name, res in (("local_mc", result_mc), ("local_ppl", result_ppl)):
        for metric, value in res["metrics"].items():
            assert abs(value - reference["results"][name][f"{metric},none"]) <= 1e-4 * max(1.0, abs(value)), metric
    # the stored metric is what its declared aggregation recomputes from the items (what the bootstrap resamples)
    c = result_ppl["items"]["columns"]
    assert result_ppl["metrics"]["word_perplexity"] == pytest.approx(
        math.exp(sum(c["word_perplexity.nll"]) / sum(c["word_perplexity.weight"])), rel=1e-9)
    acc = result_mc["items"]["columns"]["acc"]
    assert result_mc["metrics"]["acc"] == pytest.approx(sum(acc) / len(acc))


def test_lm_eval_tasks_through_harness_eval_equal_lm_evals_hf_model(tiny_folder, tmp_path, capsys):
    tasks = write_tasks(tmp_path / "lm_eval_tasks")
    rc = main(["eval", "--model", str(tiny_folder), "--lm-eval", "local_mc,local_ppl", "--lm-eval-include",
               str(tasks), "--results-dir", str(tmp_path / "r"), "--device", "cpu", "--dtype", "float32"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "lm_eval.local_mc" in captured.out and "lm_eval.local_ppl" in captured.out
    reference = hflm_samples(tiny_folder, tasks, ["local_mc", "local_ppl"])
    check_parity(read_result(tmp_path / "r", "lm_eval.local_mc"), read_result(tmp_path / "r", "lm_eval.local_ppl"),
                 reference)


def write_adapter(base: Path, out: Path) -> Path:
    """A LoRA adapter of ``base`` with random (non-zero) weights, named by its folder."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM

    from harness.lm.hf_load import wrap_lora

    torch.manual_seed(1)
    model = wrap_lora(AutoModelForCausalLM.from_pretrained(base),
                      LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    model.peft_config["default"].base_model_name_or_path = str(base)
    model.save_pretrained(out)
    return out


def test_an_adapters_lm_eval_results_are_bootstrapped_against_its_base_and_on_the_leaderboard(tiny_folder, tmp_path,
                                                                                                 capsys):
    tasks = write_tasks(tmp_path / "lm_eval_tasks")
    adapter = write_adapter(tiny_folder, tmp_path / "adapter")
    results = tmp_path / "r"
    common = ["--lm-eval", "local_mc,local_ppl", "--lm-eval-include", str(tasks), "--results-dir", str(results),
              "--device", "cpu", "--dtype", "float32", "--bootstrap-resamples", "200"]
    assert main(["eval", "--model", str(tiny_folder), *common]) == 0
    assert main(["eval", "--model", str(adapter), *common]) == 0
    capsys.readouterr()
    files = sorted(results.glob("*/lm_eval.local_ppl.json"))
    assert len(files) == 2
    adapted = next(json.loads(p.read_text()) for p in files if json.loads(p.read_text())["model"]["kind"] == "adapter")
    comp = adapted["comparison"]["metrics"]["word_perplexity"]
    assert comp["n_items"] == len(TEXTS) and comp["lower"] <= comp["diff"] <= comp["upper"]
    # the adapter's own numbers are HFLM's with peft= on the same adapter
    reference = hflm_samples(tiny_folder, tasks, ["local_mc", "local_ppl"], peft=adapter)
    ppl = {int(s["doc_id"]): s["word_perplexity"][0] for s in reference["samples"]["local_ppl"]}
    for i, doc in enumerate(adapted["items"]["ids"]):
        assert abs(-adapted["items"]["columns"]["word_perplexity.nll"][i] - ppl[int(doc)]) <= 1e-4 + 1e-5 * abs(ppl[int(doc)])

    base_dir = [p.parent for p in files if json.loads(p.read_text())["model"]["kind"] != "adapter"][0]
    adapter_dir = [p.parent for p in files if json.loads(p.read_text())["model"]["kind"] == "adapter"][0]
    assert main(["compare", str(base_dir), str(adapter_dir), "--resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert "lm_eval.local_ppl" in out and "lm_eval.local_mc" in out and "word_perplexity" in out

    assert main(["eval", "--model", str(tiny_folder), "--tasks", "wordsim353", "--limit", "20", "--results-dir",
                 str(results), "--device", "cpu", "--dtype", "float32"]) == 0
    board = tmp_path / "board.md"
    assert main(["leaderboard", "build", str(results), "--out", str(board), "--no-plots"]) == 0
    text = board.read_text()
    assert "lm_eval.local_ppl" in text and "lm_eval.local_mc" in text and "wordsim353" in text


def test_missing_lm_eval_data_offline_is_one_line(tiny_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    tasks = tmp_path / "t"
    tasks.mkdir()
    (tasks / "gone.yaml").write_text("""task: gone_task
dataset_path: no-such-org/no-such-dataset-for-harness-tests
test_split: test
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{text}}"
metric_list:
  - metric: word_perplexity
""")
    rc = main(["eval", "--model", str(tiny_folder), "--lm-eval", "gone_task", "--lm-eval-include", str(tasks),
               "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "gone_task" in err and "Traceback" not in err, err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.json"))
    rc = main(["eval", "--model", str(tiny_folder), "--lm-eval", "local_mcq", "--lm-eval-include", str(tasks),
               "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "unknown lm-eval task local_mcq" in err, err


@pytest.mark.slow
def test_lm_eval_parity_on_the_embedded_default_over_a_subset(smollm2_folder, tmp_path, capsys):
    tasks = write_tasks(tmp_path / "lm_eval_tasks", n_mc=3)
    rc = main(["eval", "--model", "smollm2-135m", "--lm-eval", "local_mc,local_ppl", "--lm-eval-include",
               str(tasks), "--results-dir", str(tmp_path / "r"), "--device", "cpu", "--dtype", "float32"])
    assert rc == 0, capsys.readouterr().err
    reference = hflm_samples(smollm2_folder, tasks, ["local_mc", "local_ppl"])
    check_parity(read_result(tmp_path / "r", "lm_eval.local_mc"), read_result(tmp_path / "r", "lm_eval.local_ppl"),
                 reference)


def test_a_document_a_filter_did_not_score_has_no_value_not_nan():
    """lm-eval's samples of one filter may lack a document the other filter scored: its column holds None
    (null in the file), never NaN, so the result file stays standard JSON; a NaN log-likelihood is None too."""
    from types import SimpleNamespace

    from harness.interop.lm_eval_run import convert

    def mean(values):
        return sum(values) / len(values)

    def weighted_perplexity(pairs):
        return 0.0

    task = SimpleNamespace(aggregation=lambda: {"acc": mean, "word_perplexity": weighted_perplexity},
                           config=SimpleNamespace(dataset_path="local", dataset_name=None), VERSION=1)
    samples = [{"doc_id": 0, "filter": "none", "metrics": ["acc", "word_perplexity"], "acc": 1.0,
                "word_perplexity": (-2.0, 4)},
               {"doc_id": 1, "filter": "none", "metrics": ["acc", "word_perplexity"], "acc": 0.0,
                "word_perplexity": (float("nan"), 5)},
               {"doc_id": 0, "filter": "strict", "metrics": ["acc"], "acc": 1.0}]
    _, out = convert("toy", task, {"acc,none": 0.5, "acc,strict": 1.0, "word_perplexity,none": 1.0}, samples,
                     {"acc": True}, 0)
    assert out.items.columns == {"acc": [1.0, 0.0], "word_perplexity.nll": [2.0, None],
                                 "word_perplexity.weight": [4.0, 5.0], "acc.strict": [1.0, None]}
