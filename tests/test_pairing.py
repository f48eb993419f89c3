"""A base result measured under another embedding protocol is never the reference of a comparison.

The case this guards: a results folder that holds a base result of an older harness (``--bos context`` meant the
declared BOS then, and the context token was not recorded) beside a new adapter result; pairing the two would
report the protocol change as the adapter's effect.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.embedding import EmbeddingProtocol, protocol_record
from harness.pairing import (CURRENT_ONLY_KEYS, EMBEDDING_SETTINGS, ProtocolMismatch, measured_by_older_protocol,
                             protocol_differences, reference_bootstrap)
from harness.results import ResultModel, ResultRecord
from harness.runner import evaluate
from harness.task import TASKS, EvalOptions


def test_keys_are_the_protocols_own(smollm2_tokenizer):
    assert set(EMBEDDING_SETTINGS) == {f.name for f in dataclasses.fields(EmbeddingProtocol)}
    recorded = protocol_record(smollm2_tokenizer, EmbeddingProtocol())
    assert set(CURRENT_ONLY_KEYS) <= set(recorded) and set(EMBEDDING_SETTINGS) <= set(recorded)


def record(**protocol) -> ResultRecord:
    return ResultRecord(task="wordsim353", variant="", model=ResultModel(id="m", name="m", spec="m"), metrics={}, main_metric="spearman",
                        protocol=protocol)


def test_differences_by_key():
    new = {"bos": "context", "layer": -1, "context_token": "<|endoftext|>", "tokenizer_prefix": []}
    assert protocol_differences(record(**new), record(**new)) == []
    old = {k: v for k, v in new.items() if k not in CURRENT_ONLY_KEYS}
    assert protocol_differences(record(**old), record(**new)) == ["context_token", "tokenizer_prefix"]
    assert protocol_differences(record(**new), record(**{**new, "layer": 9})) == ["layer"]
    assert measured_by_older_protocol(record(**old)) and not measured_by_older_protocol(record(**new))
    lm_task = {"kind": "global_next_token", "domain": {"training_corpus": "wiki"}}  # embeds nothing: never refused
    assert protocol_differences(record(**lm_task), record(**{**lm_task, "domain": None})) == []
    assert not measured_by_older_protocol(record(**lm_task))
    with pytest.raises(ProtocolMismatch, match="context_token None vs '<|endoftext|>'"):
        reference_bootstrap(record(**old), record(**new))


def test_an_old_base_result_is_neither_reference_nor_reused(tiny_llama, tmp_path, capsys):
    from peft import LoraConfig

    from harness.lm.hf_load import wrap_lora
    from harness.testing import tiny_llama_model, tiny_lm
    from workflows.base_results import missing_base_tasks

    options = EvalOptions(results_dir=tmp_path / "results", limit=20)
    base = evaluate("tiny-llama", "wordsim353", options, lm=tiny_llama)
    peft_model = wrap_lora(tiny_llama_model(len(tiny_llama.tokenizer)),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).eval()
    adapter = tiny_lm(tiny_llama.tokenizer, name="tiny-adapter", module=peft_model, kind="adapter", base="tiny-llama",
                      base_id=tiny_llama.info.id)
    assert evaluate("tiny-adapter", "wordsim353", options, lm=adapter).records[0].comparison is not None
    assert missing_base_tasks(tiny_llama.info, [TASKS.get("wordsim353")], options) == []

    path = base.paths[0]  # as an older harness wrote it: no context token recorded
    old = json.loads(path.read_text())
    for key in CURRENT_ONLY_KEYS:
        del old["protocol"][key]
    path.write_text(json.dumps(old))
    capsys.readouterr()
    again = evaluate("tiny-adapter", "wordsim353", options, lm=adapter)
    assert again.records[0].comparison is None
    assert "not compared with the base" in capsys.readouterr().err
    assert missing_base_tasks(tiny_llama.info, [TASKS.get("wordsim353")], options) == ["wordsim353"]

    from leaderboard.build import build

    report = build(options.results_dir, tmp_path / "leaderboard.md", plots=False, bootstrap=True)
    assert report.bootstrapped == 0
    assert "measured under another protocol" in capsys.readouterr().err
