"""Our tasks inside lm-eval (``harness lm-eval-path``): lm-eval's ``hf`` model on the shipped task folder gives
the numbers ``harness eval`` gives on the same held-out sequences (|Δ| ≤ 1e-4)."""

from __future__ import annotations

import pytest

pytest.importorskip("lm_eval")

N_SEQ = 4
TASKS = {"global_ppl": "harness_global_ppl", "content_word_ppl": "harness_content_word_ppl"}
SIMILARITY = ("men", "wordsim353", "simlex999", "stsb")


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, smollm2_tokenizer):
    from trainer_fixtures import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model", smollm2_tokenizer)


def ours(spec: str, tmp_path, n: int) -> dict:
    """harness eval's metrics; content words recomputed from its per-token items over the tokens the lm-eval
    task scores (it leaves out the rare content token after a white-space-only token: see its utils.py)."""
    import importlib.util
    import math

    from harness.commands.lm_eval_path import task_folder
    from harness.runner import evaluate
    from harness.task import EvalOptions

    options = EvalOptions(results_dir=tmp_path / "r", limit=n, task_options={"corpus": "wiki"})
    summary = evaluate(spec, ",".join(TASKS), options, device="cpu", dtype="float32")
    out = {r.task: dict(r.metrics) for r in summary.records}
    spec_ = importlib.util.spec_from_file_location("harness_lm_eval_utils", task_folder() / "utils.py")
    utils = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(utils)
    kept = {f"{d['seq']}:{d['pos']}" for d in utils.content_word_docs(tokenizer=spec, corpus="wiki", heldout_limit=n)["test"]}
    (record,) = [r for r in summary.records if r.task == "content_word_ppl"]
    rows = [i for i, item in enumerate(record.items.ids) if item in kept]
    assert len(rows) >= 0.95 * len(record.items.ids)  # leaving out is rare
    nll = sum(record.items.columns["nll"][i] for i in rows) / len(rows)
    out["content_word_ppl"].update(nll=nll, perplexity=math.exp(nll),
                                   accuracy=sum(record.items.columns["correct"][i] for i in rows) / len(rows))
    return out


def through_lm_eval(model: str, model_args: str, tokenizer: str, n: int) -> dict:
    import lm_eval
    from lm_eval.tasks import TaskManager

    from harness.commands.lm_eval_path import task_folder

    manager = TaskManager(include_path=str(task_folder()),
                          metadata={"tokenizer": tokenizer, "corpus": "wiki", "heldout_limit": n})
    out = lm_eval.simple_evaluate(model=model, model_args=model_args, tasks=list(TASKS.values()), device="cpu",
                                  batch_size=8, task_manager=manager, bootstrap_iters=0)
    return out["results"]


def check(mine: dict, theirs: dict) -> None:
    for task, name in TASKS.items():
        got = theirs[name]
        assert abs(got["nll,none"] - mine[task]["nll"]) <= 1e-4, (task, got, mine[task])
        assert abs(got["perplexity,none"] - mine[task]["perplexity"]) <= 1e-4 * mine[task]["perplexity"], task
    assert abs(theirs[TASKS["content_word_ppl"]]["accuracy,none"] - mine["content_word_ppl"]["accuracy"]) <= 1e-4


def test_the_task_folder_is_printed(capsys):
    from harness.cli import main

    assert main(["lm-eval-path"]) == 0
    from pathlib import Path

    folder = Path(capsys.readouterr().out.strip())
    names = {*TASKS.values(), *(f"harness_{t}" for t in SIMILARITY)}
    assert {p.name for p in folder.glob("*.yaml")} == {f"{t}.yaml" for t in names}


def test_our_lm_tasks_in_lm_eval_equal_harness_eval_on_the_tiny_model(tiny_folder, tmp_path):
    mine = ours(str(tiny_folder), tmp_path, N_SEQ)
    check(mine, through_lm_eval("hf", f"pretrained={tiny_folder},dtype=float32", str(tiny_folder), N_SEQ))
    import harness.interop.lm_eval_model  # noqa: F401  registers --model harness

    check(mine, through_lm_eval("harness", f"spec={tiny_folder},dtype=float32", str(tiny_folder), N_SEQ))


@pytest.mark.slow
def test_our_lm_tasks_in_lm_eval_equal_harness_eval_on_the_embedded_default(smollm2_folder, tmp_path):
    mine = ours("smollm2-135m", tmp_path, 3)
    check(mine, through_lm_eval("hf", f"pretrained={smollm2_folder},dtype=float32", "smollm2-135m", 3))


@pytest.mark.parametrize("spec_name,task,limit", [
    ("minilm", "stsb", 120), ("tiny", "wordsim353", 60),
    pytest.param("smollm2-135m", "men", 40, marks=pytest.mark.slow),
    pytest.param("smollm2-135m", "simlex999", 40, marks=pytest.mark.slow)])
def test_similarity_tasks_in_lm_eval_through_the_harness_model_equal_harness_eval(spec_name, task, limit, tiny_folder,
                                                                                   tmp_path):
    """The hidden-state bridge: lm-eval's evaluator, our registered model answering the pairs' cosine requests."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    import harness.interop.lm_eval_model  # noqa: F401  registers --model harness
    from harness.commands.lm_eval_path import task_folder
    from harness.runner import evaluate
    from harness.task import EvalOptions

    spec = {"minilm": "all-minilm-l6-v2", "tiny": str(tiny_folder)}.get(spec_name, spec_name)
    (record,) = evaluate(spec, task, EvalOptions(results_dir=tmp_path / "r", limit=limit), device="cpu",
                         dtype="float32").records
    out = lm_eval.simple_evaluate(model="harness", model_args=f"spec={spec},dtype=float32", device="cpu",
                                  tasks=[f"harness_{task}"], limit=limit, bootstrap_iters=0,
                                  task_manager=TaskManager(include_path=str(task_folder())))
    got = out["results"][f"harness_{task}"]["spearman,none"]
    assert abs(got - record.metrics["spearman"]) <= 1e-4, (got, record.metrics["spearman"])
