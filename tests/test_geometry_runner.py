"""Geometry tasks through the runner: identical inputs across models, the same seed gives the same numbers,
the paired bootstrap recomputes the metrics, the concept file built by the evaluated model, and the CLI's
one-line errors (the metrics themselves: test_geometry.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from task_fixtures import SENTENCES, write_concept_file
from test_geometry import reference_metrics

# ------------------------------------------------------------------ through the runner


def _options(tmp_path: Path, concepts: Path, seed: int = 0):
    from harness.task import EvalOptions

    return EvalOptions(results_dir=tmp_path / "results", seed=seed, n_resamples=50,
                       task_options={"geometry_concepts": str(concepts), "geometry_samples": 1000})


def _record_backbone_calls(lm) -> list[tuple]:
    """Every call into the model's backbone: (is a prefix pass, input_ids, attention_mask, position_ids)."""
    seen: list[tuple] = []

    def hook(module, args, kwargs):
        pos = kwargs.get("position_ids")
        seen.append((kwargs.get("cache", kwargs.get("past_key_values")) is None, kwargs["input_ids"].tolist(),
                     kwargs["attention_mask"].tolist(), None if pos is None else pos.tolist()))

    lm.backbone.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def _tiny(tokenizer, seed: int, name: str):
    from harness.testing import tiny_lm

    return tiny_lm(tokenizer, seed=seed, name=name)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, smollm2_tokenizer):
    """Two different tiny random models evaluated on one concept file; the inputs each model saw."""
    from harness.runner import evaluate

    tmp = tmp_path_factory.mktemp("geometry")
    cf = write_concept_file(tmp / "concepts.jsonl", smollm2_tokenizer)
    models = [_tiny(smollm2_tokenizer, 0, "tiny-a"), _tiny(smollm2_tokenizer, 1, "tiny-b")]
    seen = [_record_backbone_calls(m) for m in models]
    records = [evaluate(m.info.spec, "clustering,centroid_similarity", _options(tmp, cf), lm=m).records for m in models]
    return {"file": cf, "tmp": tmp, "models": models, "seen": [list(s) for s in seen], "records": records}


def _expected_variants(tokenizer) -> list[tuple[list[int], list[int]]]:
    """Per concept: its prefix and the members of its concept set (original first)."""
    expected = []
    for text, word, syns in SENTENCES:
        ids = tokenizer(text)["input_ids"]
        tid = tokenizer(" " + word, add_special_tokens=False)["input_ids"][0]
        members = [tid] + [tokenizer(" " + s, add_special_tokens=False)["input_ids"][0] for s in syns]
        expected.append((ids[: ids.index(tid)], members))
    return expected


def _inputs_from_calls(calls: list[tuple]) -> tuple[list[tuple[int, ...]], list[tuple[int, int]]]:
    """(the prefixes run, the (position, member token) pairs run after them), each sorted.

    Calls alternate: a prefix pass (right-padded, attention mask) then its members' one-token step."""
    prefixes, steps = [], []
    for (is_prefix, ids, mask, _), (is_step, members, _, positions) in zip(calls[::2], calls[1::2]):
        assert is_prefix and not is_step
        prefixes += [tuple(row[: sum(m)]) for row, m in zip(ids, mask)]
        steps += [(p, t) for (t,), (p,) in zip(members, positions)]
    return sorted(prefixes), sorted(steps)


def test_two_models_get_identical_inputs(two_runs, smollm2_tokenizer):
    calls_a, calls_b = two_runs["seen"]
    assert calls_a == calls_b  # the very same tensors, call by call (hidden states shared by both tasks)
    expected = _expected_variants(smollm2_tokenizer)
    prefixes, steps = _inputs_from_calls(calls_a)
    wanted = {tuple(pre) for pre, _ in expected}
    # a prefix that starts another is read from that one's cache (hidden_at): only the longest ones run
    assert prefixes == sorted(p for p in wanted if not any(q != p and q[:len(p)] == p for q in wanted))
    assert steps == sorted((len(pre), t) for pre, members in expected for t in members)
    ra, rb = two_runs["records"]
    assert [r.items.ids for r in ra] == [r.items.ids for r in rb]
    assert ra[0].metrics != rb[0].metrics  # different models, different geometry


def test_same_seed_same_numbers_and_protocol(two_runs):
    import hashlib

    from harness.runner import evaluate

    a, cf, tmp = two_runs["models"][0], two_runs["file"], two_runs["tmp"]
    again = evaluate("tiny-a", "clustering,centroid_similarity", _options(tmp, cf), lm=a).records
    assert [r.metrics for r in again] == [r.metrics for r in two_runs["records"][0]]
    clustering = again[0]
    assert clustering.task == "clustering" and clustering.main_metric == "clustering_score"
    assert clustering.protocol["concepts"] == len(SENTENCES)
    assert clustering.protocol["variants"] == 3 * len(SENTENCES)
    assert clustering.data["concept_file_sha256"] == hashlib.sha256(cf.read_bytes()).hexdigest()


def test_paired_bootstrap_recomputes_geometry_metrics(two_runs):
    from concepts.concept_file import load_concept_file
    from harness.bootstrap import paired_bootstrap
    from tasks.geometry import variant_hidden_states
    from tasks.geometry_data import choose_concepts

    concepts = choose_concepts(load_concept_file(two_runs["file"]).records, 1000, 0)
    ref_a, ref_b = (reference_metrics(variant_hidden_states(m, concepts, progress=False)) for m in two_runs["models"])
    for rec_a, rec_b in zip(*two_runs["records"]):
        comps = {c.metric: c for c in paired_bootstrap(rec_a, rec_b, n_resamples=50, seed=0)}
        assert set(comps) == set(rec_a.metrics)
        for name, c in comps.items():
            assert c.a == pytest.approx(ref_a[name], abs=1e-5) and c.b == pytest.approx(ref_b[name], abs=1e-5)
            assert c.lower <= c.upper


def test_tokenizer_that_does_not_fit_the_file_is_a_user_error(tmp_path, smollm2_tokenizer, tiny_llama):
    import json

    from harness.errors import UserError
    from harness.runner import evaluate

    cf = write_concept_file(tmp_path / "concepts.jsonl", smollm2_tokenizer)
    lines = cf.read_text().splitlines()
    header = json.loads(lines[0])
    header["tokenizer"]["fingerprint"] = "0" * 64
    cf.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    with pytest.raises(UserError, match="tokenizer"):
        evaluate("tiny", "clustering", _options(tmp_path, cf), lm=tiny_llama)
    assert not (tmp_path / "results").exists()


def test_prepare_loads_no_model_and_run_builds_the_missing_file_with_the_evaluated_model(
        tmp_path, monkeypatch, smollm2_tokenizer):
    """A held-out concept file not cached yet: ``prepare`` only says where it will be; ``run`` builds it once
    with the model being evaluated (never another copy), and both tasks use it."""
    import concepts.concept_cache as concept_cache
    import harness.lm.hf_load as hf_load
    from harness.testing import tiny_llama_model
    from harness.lm.hf_causal import HFCausalLM
    from harness.models import describe_spec, dtype_name
    from harness.runner import evaluate
    from harness.task import EvalContext, EvalOptions
    from tasks.geometry_data import prepare

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "tiny"
    module = tiny_llama_model(len(smollm2_tokenizer))
    module.save_pretrained(folder)
    smollm2_tokenizer.save_pretrained(folder)
    lm = HFCausalLM(describe_spec(str(folder)), module, smollm2_tokenizer)

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded")

    built = []

    def build(model, corpus, split, selector, **settings):  # stands in for the builder: writes a known file
        built.append(model)
        return write_concept_file(concept_cache.concept_cache_path(model.info, corpus, split, selector,
                                                                   dtype=dtype_name(model.dtype), **settings),
                                  smollm2_tokenizer)

    monkeypatch.setattr(hf_load, "load_hf", no_loading)
    monkeypatch.setattr(concept_cache, "cached_concept_file", build)
    options = EvalOptions(results_dir=tmp_path / "results", limit=6, n_resamples=20)
    plan = prepare(EvalContext(options, lm.info))
    assert plan.inputs is None and not plan.path.exists() and not built
    records = evaluate(str(folder), "clustering,centroid_similarity", options, lm=lm).records
    assert built == [lm]
    assert [r.task for r in records] == ["clustering", "centroid_similarity"]
    assert records[0].data["concept_file_sha256"] == records[1].data["concept_file_sha256"]
    assert len(records[0].items.ids) == len(SENTENCES)


# ------------------------------------------------------------------ CLI errors


def _cli(argv, capsys):
    from harness.cli import main

    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def test_cli_missing_concept_file_one_line_exit_2(tmp_path, capsys):
    code, err = _cli(["eval", "--model", "smollm2-135m", "--tasks", "clustering", "--results-dir", str(tmp_path / "r"),
                      "--geometry-concepts", str(tmp_path / "nope.jsonl")], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "nope.jsonl" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_cli_heldout_sets_that_cannot_be_built_one_line_exit_2(tmp_path, capsys, monkeypatch):
    """c4 is not cached and cannot be streamed offline: no concept sets, one line, status 2, nothing written."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    code, err = _cli(["eval", "--model", "smollm2-135m", "--tasks", "clustering,centroid_similarity",
                      "--results-dir", str(tmp_path / "r"), "--geometry-corpus", "c4"], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "held-out concept sets" in err and "c4" in err
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ the real default model


@pytest.mark.slow
def test_smollm2_base_and_adapter_share_heldout_sets(tmp_path):
    """Base and a (random, non-zero) LoRA adapter of it: the same cached held-out sets, the same items,
    and the adapter's result carries the paired bootstrap against the base."""
    from peft import LoraConfig

    from harness.lm.hf_load import wrap_lora
    from harness.lm.load import load_model
    from harness.runner import evaluate
    from harness.task import EvalOptions

    model = load_model("smollm2-135m", device="cpu", dtype="float32").module
    peft = wrap_lora(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft.save_pretrained(tmp_path / "adapter")
    options = EvalOptions(results_dir=tmp_path / "results", limit=12, n_resamples=100)
    base = evaluate("smollm2-135m", "clustering,centroid_similarity", options, device="cpu").records
    adapted = evaluate(str(tmp_path / "adapter"), "clustering,centroid_similarity", options, base="smollm2-135m",
                       device="cpu").records
    for b, a in zip(base, adapted):
        assert a.data["concept_file_sha256"] == b.data["concept_file_sha256"]
        assert a.items.ids == b.items.ids and len(b.items.ids) >= 2
        assert b.protocol["split"] == "heldout" and b.protocol["selector"] == "wordnet"
        assert b.items.clusters == [int(i.split(":")[0]) for i in b.items.ids]  # one concept per sequence
        assert set(a.comparison.metrics) == set(b.metrics)
        assert all(np.isfinite(v) for v in b.metrics.values())
    assert base[0].metrics["intra"] > base[0].metrics["inter"]  # synonyms in one context sit closer
    assert adapted[0].metrics != base[0].metrics
