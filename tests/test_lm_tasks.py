"""content_word_ppl / global_ppl: golden values by hand, one shared pass, comparison, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.runner import evaluate
from harness.task import EvalOptions


def options(tmp_path, **kw):
    task_options = {"corpus": kw.pop("corpus", "lee"), "heldout_size": kw.pop("heldout_size", 100)}
    return EvalOptions(results_dir=tmp_path / "results", limit=kw.pop("limit", 5), task_options=task_options, **kw)


def golden(lm, texts, content_only):
    """Independent reference: each text alone (no padding, no batching), NLL and top-1 by hand."""
    import torch

    from concepts.content_words import find_content_words

    nll, ok = [], []
    for cw in find_content_words(texts, lm.tokenizer):
        ids = torch.tensor([cw.input_ids])
        with torch.no_grad():
            logits = lm.module(input_ids=ids).logits[0].double()
        logp = logits[:-1] - torch.logsumexp(logits[:-1], dim=-1, keepdim=True)
        target = ids[0, 1:]
        tok_nll = -logp[torch.arange(len(target)), target]
        tok_ok = (logits[:-1].argmax(-1) == target).double()
        pos = torch.tensor(cw.positions if content_only else list(range(1, cw.n_tokens)), dtype=torch.long) - 1
        nll += tok_nll[pos].tolist()
        ok += tok_ok[pos].tolist()
    return math.exp(sum(nll) / len(nll)), sum(ok) / len(ok), len(nll)


def heldout_texts(name="lee", heldout_size=100, limit=5):
    from harness.corpora import load_corpus
    from harness.splits import split_corpus

    return split_corpus(load_corpus(name), heldout_size=heldout_size).heldout[:limit]


def test_golden_perplexity_and_accuracy(tiny_llama, tmp_path):
    summary = evaluate("tiny-llama", "content_word_ppl,global_ppl", options(tmp_path, max_batch_tokens=700), lm=tiny_llama)
    recs = {r.task: r for r in summary.records}
    assert set(recs) == {"content_word_ppl", "global_ppl"}
    texts = heldout_texts()
    for task, content_only in (("content_word_ppl", True), ("global_ppl", False)):
        ppl, acc, n = golden(tiny_llama, texts, content_only)
        rec = recs[task]
        assert rec.variant == "lee"
        assert rec.metrics["perplexity"] == pytest.approx(ppl, rel=1e-5)
        assert rec.metrics["nll"] == pytest.approx(math.log(ppl), rel=1e-5)  # mean NLL, what ΔNLL compares
        assert rec.items.clusters == [int(i.split(":")[0]) for i in rec.items.ids]  # its sequence
        assert rec.metrics["accuracy"] == pytest.approx(acc, abs=1e-12)
        assert rec.metrics["tokens"] == n == len(rec.items.ids)
        assert len(set(rec.items.ids)) == n
        assert rec.items.columns["count"] == [1.0] * n
        assert rec.protocol["split"]["heldout_size"] == 100 and rec.protocol["sequences"] == 5
    n_content, n_global = recs["content_word_ppl"].metrics["tokens"], recs["global_ppl"].metrics["tokens"]
    assert recs["global_ppl"].metrics["content_fraction"] == pytest.approx(n_content / n_global)
    assert set(recs["content_word_ppl"].items.ids) < set(recs["global_ppl"].items.ids)


def test_one_forward_pass_for_both_tasks_and_batching_does_not_matter(tiny_llama, tmp_path):
    calls = []
    hook = tiny_llama.backbone.register_forward_hook(lambda mod, args, out: calls.append(1))
    try:
        evaluate("tiny-llama", "global_ppl", options(tmp_path / "one", max_batch_tokens=700), lm=tiny_llama)
        one = len(calls)
        calls.clear()
        both = evaluate("tiny-llama", "content_word_ppl,global_ppl", options(tmp_path / "both", max_batch_tokens=700),
                        lm=tiny_llama)
        assert len(calls) == one > 1
        big = evaluate("tiny-llama", "global_ppl", options(tmp_path / "big", max_batch_tokens=100000), lm=tiny_llama)
    finally:
        hook.remove()
    small_m = next(r for r in both.records if r.task == "global_ppl").metrics
    assert big.records[0].metrics["perplexity"] == pytest.approx(small_m["perplexity"], rel=1e-5)


def test_comparison_against_the_base_model(tiny_llama, tmp_path, capsys):
    """An adapter's results carry a paired bootstrap against the base model's results."""
    import torch
    from peft import LoraConfig

    from harness.lm.hf_load import wrap_lora
    from harness.runner import print_summary
    from harness.testing import tiny_llama_model, tiny_lm

    opts = options(tmp_path, limit=3)
    base = evaluate("tiny-llama", "content_word_ppl,global_ppl", opts, lm=tiny_llama)
    peft_model = wrap_lora(tiny_llama_model(len(tiny_llama.tokenizer)),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).eval()
    from harness.corpora import load_corpus

    trained_on = {"concept_header": {"corpus": load_corpus("lee").describe()}}  # what harness_train.json records
    adapter = tiny_lm(tiny_llama.tokenizer, name="tiny-adapter", module=peft_model, kind="adapter", base="tiny-llama",
                      base_id=tiny_llama.info.id, training=trained_on)
    same = evaluate("tiny-adapter", "global_ppl", opts, lm=adapter)  # LoRA B = 0: the base model exactly
    comp = same.records[0].comparison.metrics["perplexity"]
    assert comp.lower <= 0 <= comp.upper and not comp.significant and abs(comp.diff) < 1e-9
    assert comp.unit == "sequence" and comp.n_units == 3  # the default: whole sequences resampled
    assert same.records[0].comparison.metrics["nll"].diff == pytest.approx(0, abs=1e-12)
    assert same.records[0].protocol["domain"] == {"training_corpus": "lee", "in_domain": True, "checked_unseen": None}
    assert base.records[0].protocol["domain"] == {"training_corpus": None, "in_domain": None, "checked_unseen": None}
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    changed = evaluate("tiny-adapter", "global_ppl", opts, lm=adapter)
    comp = changed.records[0].comparison.metrics["perplexity"]
    base_ppl = next(r for r in base.records if r.task == "global_ppl").metrics["perplexity"]
    assert comp.a == pytest.approx(base_ppl)
    assert comp.diff == pytest.approx(changed.records[0].metrics["perplexity"] - base_ppl)
    print_summary(changed)
    assert "paired bootstrap against the base model" in capsys.readouterr().out


def bad_corpus(tmp_path, kind):
    if kind == "empty":
        path = tmp_path / "empty.txt"
        path.write_text("")
    elif kind == "unusable":
        path = tmp_path / "short.txt"
        path.write_text("too short\n\nalso too short\n")
    elif kind == "small":
        path = tmp_path / "small.jsonl"
        path.write_text("".join(f'{{"text": "document {i} has quite enough characters to count as one sequence"}}\n'
                                for i in range(5)))
    else:
        path = tmp_path / "latin1.txt"
        path.write_bytes(("Une phrase en fran\xe7ais assez longue pour compter. " * 3).encode("latin-1"))
    return path


@pytest.mark.parametrize("kind,message", [("empty", "is empty"), ("unusable", "no usable sequence"),
                                          ("small", "held-out size"), ("latin1", "not UTF-8")])
def test_bad_corpora_end_in_one_line(tmp_path, capsys, kind, message):
    from harness.cli import main

    results = tmp_path / "results"
    code = main(["eval", "--model", "smollm2-135m", "--tasks", "content_word_ppl,global_ppl", "--corpus",
                 str(bad_corpus(tmp_path, kind)), "--results-dir", str(results)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("harness: error:") and message in err[0]
    assert not results.exists()


@pytest.mark.parametrize("args,message", [(["--corpus", ","], "--corpus: names nothing"),
                                          (["--heldout-size", "0"], "at least 1"),
                                          (["--corpus", "c4"], "offline")])
def test_bad_options_end_in_one_line(tmp_path, capsys, args, message):
    from harness.cli import main

    try:
        code = main(["eval", "--model", "smollm2-135m", "--tasks", "global_ppl", "--results-dir", str(tmp_path),
                     *args])
    except SystemExit as exc:  # refused where the flag is parsed
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]


@pytest.mark.slow
def test_smollm2_on_default_corpora(smollm2, tmp_path):
    opts = EvalOptions(results_dir=tmp_path, limit=1)  # no task options: defaults wiki,lee and 1,000 held out
    summary = evaluate("smollm2-135m", "content_word_ppl,global_ppl", opts, lm=smollm2)
    got = {(r.task, r.variant): r.metrics for r in summary.records}
    assert set(got) == {(t, v) for t in ("content_word_ppl", "global_ppl") for v in ("wiki", "lee")}
    for variant in ("wiki", "lee"):
        texts = heldout_texts(variant, 1000, 1)
        for task, content_only in (("content_word_ppl", True), ("global_ppl", False)):
            ppl, acc, n = golden(smollm2, texts, content_only)
            assert got[(task, variant)]["perplexity"] == pytest.approx(ppl, rel=1e-4)
            assert got[(task, variant)]["accuracy"] == pytest.approx(acc, abs=1e-12)
        assert 0.15 < got[("global_ppl", variant)]["content_fraction"] < 0.45
        # a real model predicts its language: far better than uniform over 49,152 tokens
        assert got[("global_ppl", variant)]["perplexity"] < 200 and np.isfinite(got[("content_word_ppl", variant)]["perplexity"])
