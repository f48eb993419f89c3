"""``train_and_eval`` on a tiny random Llama: trains, evaluates base then adapter with the same options, attaches
the paired comparison, loads the base model once (training trains the loaded base in place and gives it back
unchanged), and reuses the finished run and the base results on a
second call."""

from __future__ import annotations

import json
from pathlib import Path

from harness.task import EvalOptions
from test_concept_builder import PARAGRAPHS
from trainer_fixtures import write_concept_file, write_tiny_model
from trainers.objectives import ObjectiveSettings
from trainers.profiles import resolve_profile
from trainers.recipe import TrainConfig
from workflows.train_and_eval import TrainAndEval, train_and_eval


def count_model_loads(monkeypatch) -> list[str]:
    """Every causal LM read from disk (whatever code path asks for it) appends its source here."""
    from transformers import AutoModelForCausalLM

    loads: list[str] = []
    original = AutoModelForCausalLM.from_pretrained
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained",
                        lambda source, *a, **k: loads.append(str(source)) or original(source, *a, **k))
    return loads


def test_train_and_eval_on_a_tiny_model(tmp_path, smollm2_tokenizer, capsys, monkeypatch):
    model = write_tiny_model(tmp_path / "model", smollm2_tokenizer)
    concepts = write_concept_file(tmp_path / "c.jsonl", smollm2_tokenizer, n_seq=4)
    results = tmp_path / "results"
    train = TrainConfig(model=str(model), concepts=concepts, out=tmp_path / "adapter",
                        settings=ObjectiveSettings(lam=0.25), device="cpu", dtype="float32", progress=False,
                        overrides={"max_steps": 2, "batch_size": 4, "save_steps": 1})
    cfg = TrainAndEval(train=train, tasks="wordsim353", leaderboard=False,
                       options=EvalOptions(results_dir=results, n_resamples=50, limit=12))
    loads = count_model_loads(monkeypatch)
    first = train_and_eval(cfg)
    assert loads == [str(model)]  # once for everything: concepts, training (in place), both evaluations
    printed = capsys.readouterr().out
    assert "paired bootstrap against the base model" in printed
    (base_file,) = results.glob(f"{first.train.record['base_id']}/wordsim353.json")
    (adapter_rec,) = first.adapter.records
    base_rec = json.loads(base_file.read_text())
    assert adapter_rec.options == base_rec["options"] and base_rec["options"]["limit"] == 12
    assert adapter_rec.comparison.against == base_rec["model"]["id"]
    assert adapter_rec.model.training["method"] == "concept"
    # the comparison's A side is the base result on disk
    assert adapter_rec.comparison.metrics["spearman"].a == base_rec["metrics"]["spearman"]

    second = train_and_eval(cfg)
    assert second.train.reused and second.base is None  # nothing retrained, base not re-evaluated
    assert "evaluating nothing (results exist)" in capsys.readouterr().out
    assert (Path(train.out) / "adapter_model.safetensors").is_file()
    # the adapter put on the loaded base gives the results of loading base and adapter afresh
    from harness.runner import evaluate

    (fresh,) = evaluate(str(train.out), "wordsim353", EvalOptions(results_dir=tmp_path / "fresh", limit=12),
                        device="cpu", dtype="float32").records
    assert fresh.metrics == adapter_rec.metrics and fresh.items.columns == adapter_rec.items.columns
    # the base, evaluated after it was trained in place, gives the results of the base loaded afresh
    (fresh_base,) = evaluate(str(model), "wordsim353", EvalOptions(results_dir=tmp_path / "fresh", limit=12),
                             device="cpu", dtype="float32").records
    assert fresh_base.metrics == base_rec["metrics"] and fresh_base.items.columns == base_rec["items"]["columns"]


def test_the_concept_file_is_built_in_a_child_process(tmp_path, smollm2_tokenizer, capsys, monkeypatch):
    """Without ``--concepts``, the concept file is built by a spawned child process with its own model (the
    parent loads the base once, after the build, so training does not carry the build's state); the file
    equals the one an in-process build of the same settings writes, byte for byte."""
    from concepts.builder import build_concepts

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    model = write_tiny_model(tmp_path / "model", smollm2_tokenizer)
    corpus = tmp_path / "mini.txt"
    corpus.write_text("\n\n".join(PARAGRAPHS) + "\n", encoding="utf-8")
    train = TrainConfig(model=str(model), out=tmp_path / "adapter", settings=ObjectiveSettings(lam=0.25),
                        device="cpu", dtype="float32", progress=False,
                        overrides={"max_steps": 1, "batch_size": 2, "save_steps": 1, "heldout_limit": 2})
    cfg = TrainAndEval(train=train, train_corpus=str(corpus), selector="wordnet", concept_sequences=4,
                       tasks="wordsim353", leaderboard=False,
                       options=EvalOptions(results_dir=tmp_path / "results", n_resamples=20, limit=8,
                                           task_options={"heldout_size": 2}))
    loads = count_model_loads(monkeypatch)
    result = train_and_eval(cfg)
    assert loads == [str(model)]  # the parent's one load, after the build
    settings = dict(limit=4, max_synonyms=resolve_profile("cpu").max_synonyms, heldout_size=2)
    assert result.concepts.parent == tmp_path / "cache" / "concepts"
    in_process = tmp_path / "in_process.jsonl"
    build_concepts(str(model), str(corpus), "wordnet", in_process, device="cpu", dtype="float32", **settings)
    assert result.concepts.read_bytes() == in_process.read_bytes()
