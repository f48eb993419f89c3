"""``train_and_eval`` on a tiny random Llama: trains, evaluates base then adapter with the same options, attaches
the paired comparison, and reuses the finished run and the base results on a second call."""

from __future__ import annotations

import json
from pathlib import Path

from harness.runner import EvalOptions
from trainer_fixtures import write_concept_file, write_tiny_model
from trainers.pipeline import TrainAndEval, train_and_eval


def test_train_and_eval_on_a_tiny_model(tmp_path, smollm2_tokenizer, capsys):
    model = write_tiny_model(tmp_path / "model", smollm2_tokenizer)
    concepts = write_concept_file(tmp_path / "c.jsonl", smollm2_tokenizer, n_seq=4)
    results = tmp_path / "results"
    cfg = TrainAndEval(model=str(model), lam=0.25, concepts=concepts, out=tmp_path / "adapter", tasks="wordsim353",
                       options=EvalOptions(results_dir=results, n_resamples=50), limit=12, device="cpu",
                       dtype="float32", progress=False, leaderboard=False,
                       overrides={"max_steps": 2, "batch_size": 4, "save_steps": 1})
    first = train_and_eval(cfg)
    printed = capsys.readouterr().out
    assert "paired bootstrap against the base model" in printed
    (base_file,) = results.glob(f"{first.train.record['base_id']}/wordsim353.json")
    (adapter_rec,) = first.adapter.records
    base_rec = json.loads(base_file.read_text())
    assert adapter_rec["options"] == base_rec["options"] and base_rec["options"]["limit"] == 12
    assert adapter_rec["comparison"]["against"] == base_rec["model"]["id"]
    assert adapter_rec["model"]["training"]["method"] == "concept"
    # the comparison's A side is the base result on disk
    assert adapter_rec["comparison"]["metrics"]["spearman"]["a"] == base_rec["metrics"]["spearman"]

    second = train_and_eval(cfg)
    assert second.train.reused and second.base is None  # nothing retrained, base not re-evaluated
    assert "evaluating nothing (results exist)" in capsys.readouterr().out
    weights = Path(cfg.out) / "adapter_model.safetensors"
    assert weights.is_file()
