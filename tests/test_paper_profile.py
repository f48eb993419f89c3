"""The ``paper`` profile is the paper's setup: its dry run (judge, sample rule, every setting with its source), the
paper's sample of the train part, the offline refusal of a judge this machine lacks, ``--judge`` reaching the
concept build, and the docs' tables matching the sources.

Expected values are the paper's and the public code's numbers as the issue states them, and the sample is
recomputed here from the corpus as written (which lines are whole documents of 50 < characters < 2,000) and
numpy's generator, not read from the code under test."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from test_concept_builder import tiny_folder  # noqa: F401  (a fixture: a tiny random Llama saved to a folder)

ROOT = Path(__file__).resolve().parents[1]
PAPER_JUDGE = "meta-llama/Llama-3.1-8B-Instruct"
FAKE_JUDGE = "harness-test/no-such-judge"
WORDS = ["farmer", "river", "castle", "teacher", "market", "garden", "doctor", "bridge", "forest", "village",
         "sailor", "library", "painter", "harbor", "valley", "kitchen"]
WHOLE = [f"Story {i}: the {w} waited by the old road while the evening light slowly faded over the quiet hills."
         for i, w in enumerate(WORDS)]  # one line each, 50 < characters < 2,000: whole documents
SHORT = ["Too short to keep.", "Also far too short."]  # 50 characters or fewer: dropped
LONG = [" ".join(f"Chapter {i} sentence {j} describes the long journey across the wide and windy plain." for j in range(40))
        for i in range(3)]  # 2,000 characters or more: chunked into several sequences, none whole
CUT_TO_ONE = ("x" * 2050 + ". The single remaining sentence of this document is long enough to be kept as a piece.")
# ^ one sentence of 2,000+ characters (dropped) and one kept: the document's only sequence, yet not whole
SPLIT = {"heldout_size": 4, "split_seed": 3}
# the paper's setting (value as printed, source): appendix B and section 3.1, else the public code (issue 25)
EXPECTED_PAPER = {"lr": ("7e-05", "paper"), "batch_size": ("2", "paper"), "epochs": ("5", "paper"),
                  "val_fraction": ("0.1", "paper"), "max_synonyms": ("10", "paper"), "selector": ("llm", "paper"),
                  "concept_sequences": ("2000", "paper"), "judge": (PAPER_JUDGE, "paper"), "sample": ("paper", "paper"),
                  "lora_r": ("4", "public code"), "lora_alpha": ("4", "public code"),
                  "lora_dropout": ("0.2", "public code"), "scheduler": ("cosine", "public code"),
                  "warmup_ratio": ("0.08", "public code"), "weight_decay": ("0.05", "public code"),
                  "max_length": ("256", "public code"), "early_stopping_patience": ("1", "ours")}


@pytest.fixture()
def corpus(tmp_path) -> Path:
    path = tmp_path / "docs.jsonl"
    lines = WHOLE[:5] + SHORT + LONG[:2] + [CUT_TO_ONE] + WHOLE[5:] + LONG[2:]
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in lines), encoding="utf-8")
    return path


@pytest.fixture()
def isolated(tmp_path, monkeypatch) -> Path:
    """An empty harness cache and an empty Hugging Face cache (offline, as every test): nothing is cached."""
    import huggingface_hub.constants

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub"))
    return tmp_path


def no_model_loads(monkeypatch) -> None:
    """Every way to load a model or build concepts fails the test (the modules that bind those names at import
    are imported first, so the stand-ins never outlive the test)."""
    import concepts.builder
    import concepts.concept_cache
    import harness.lm.load
    import harness.runner

    def refuse(*args, **kwargs):
        raise AssertionError("nothing may be loaded or built here")

    for module in (harness.lm.load, harness.runner):
        monkeypatch.setattr(module, "load_model", refuse)
    for module in (concepts.builder, concepts.concept_cache):
        monkeypatch.setattr(module, "build_concepts", refuse)
    monkeypatch.setattr(concepts.concept_cache, "_build_in_child", refuse)


def expected_sample(corpus_path: Path, n: int) -> tuple[list[str], int]:
    """The paper sample recomputed: the train part of the standard split, its sequences that are one of the
    WHOLE lines, then numpy default_rng(split seed).choice."""
    from harness.corpora import load_corpus
    from harness.splits import split_corpus

    train = split_corpus(load_corpus(str(corpus_path)), SPLIT["heldout_size"], seed=SPLIT["split_seed"]).train
    pool = [t for t in train if t in set(WHOLE)]
    chosen = np.random.default_rng(SPLIT["split_seed"]).choice(len(pool), size=min(n, len(pool)), replace=False)
    return [pool[i] for i in chosen], len(pool)


def split_flags() -> list[str]:
    return ["--heldout-size", str(SPLIT["heldout_size"]), "--split-seed", str(SPLIT["split_seed"])]


def test_paper_dry_run_shows_judge_sample_and_every_setting_with_its_source(corpus, isolated, monkeypatch, capsys):
    from trainers.profile_sources import SOURCES

    no_model_loads(monkeypatch)
    code = main(["train-and-eval", "--profile", "paper", "--dry-run", "--train-corpus", str(corpus), *split_flags()])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(rf"judge: {re.escape(PAPER_JUDGE)} \(the paper profile's; backend hf\): NOT available offline", out)
    _, available = expected_sample(corpus, 2000)
    assert 0 < available < 2000
    assert (f"sample: paper: 2000 whole documents of 50 < characters < 2,000 of the train part (others dropped, not "
            f"chunked), drawn by numpy default_rng(3) (the split seed); {available} available") in out
    shown = {m[0]: (m[2], m[3]) for m in re.findall(r"^  (\w+)\s+(\S+|\(no flag\))\s+(\S+)\s+(paper|public code|ours|given):",
                                                     out, flags=re.M)}
    assert set(shown) == set(SOURCES["paper"])  # every setting, each once
    assert {k: shown[k] for k in EXPECTED_PAPER} == EXPECTED_PAPER
    assert not (isolated / "cache" / "concepts").exists()


def test_sweep_dry_run_shows_the_shared_plan(corpus, isolated, monkeypatch, capsys):
    no_model_loads(monkeypatch)
    code = main(["sweep", "--profile", "paper", "--lambdas", "0,0.25", "--dry-run", "--train-corpus", str(corpus),
                 "--runs-dir", str(isolated / "runs"), *split_flags()])
    out = capsys.readouterr().out
    assert code == 0 and "settings every point shares, profile paper" in out
    assert f"judge: {PAPER_JUDGE} (the paper profile's; backend hf): NOT available offline" in out
    assert re.search(r"^  lora_r\s+--lora-r\s+4\s+public code:", out, flags=re.M)


def test_dry_run_finds_a_judge_in_the_hub_cache_and_marks_given_values(corpus, isolated, monkeypatch, capsys):
    """The judge is looked up in the Hugging Face cache as huggingface_hub lays it out; a flag's value is 'given'."""
    snapshot = isolated / "hf-hub" / "models--harness-test--cached-judge" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (isolated / "hf-hub" / "models--harness-test--cached-judge" / "refs").mkdir()
    (isolated / "hf-hub" / "models--harness-test--cached-judge" / "refs" / "main").write_text("abc123")
    no_model_loads(monkeypatch)
    code = main(["train-and-eval", "--profile", "paper", "--dry-run", "--train-corpus", str(corpus), "--judge",
                 "harness-test/cached-judge", "--lr", "0.001", *split_flags()])
    out = capsys.readouterr().out
    assert code == 0
    assert "judge: harness-test/cached-judge (--judge; backend hf): in the local Hugging Face cache" in out
    assert re.search(r"^  lr\s+--lr\s+0\.001\s+given: not the profile's 7e-05$", out, flags=re.M)


def test_paper_sample_is_whole_documents_drawn_with_the_split_seed(corpus, capsys):
    from concepts.builder import BuildConfig, corpus_part
    from harness.corpora import load_corpus

    loaded = load_corpus(str(corpus))
    for n in (3, 50):
        cfg = BuildConfig(selector="wordnet", sample="paper", limit=n, **SPLIT)
        _, texts, record = corpus_part(loaded, cfg)
        want, available = expected_sample(corpus, n)
        assert texts == want and record["sample"]["available"] == available
        assert record["sample"]["rule"] == "paper" and record["sample"]["chars_exclusive"] == [50, 2000]
    assert available < 50 and f"has {available} whole documents" in capsys.readouterr().err  # fewer: all, a note
    assert CUT_TO_ONE.split(". ")[1] in loaded.texts  # the cut document's one sequence exists, but is never drawn
    # the cpu rule is the first N of the shuffled train part, as before
    from harness.splits import split_corpus

    _, first, record = corpus_part(loaded, BuildConfig(selector="wordnet", limit=3, **SPLIT))
    assert first == split_corpus(loaded, 4, seed=3).train[:3] and "sample" not in record


def test_paper_sample_without_whole_documents_is_a_user_error(tmp_path):
    from concepts.builder import BuildConfig, corpus_part
    from harness.corpora import load_corpus
    from harness.errors import UserError

    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in LONG * 2 + [t + " Again." for t in LONG]))
    with pytest.raises(UserError, match="no whole document of 50 < characters < 2000"):
        corpus_part(load_corpus(str(path)), BuildConfig(selector="wordnet", sample="paper", limit=5, heldout_size=2))


def test_cpu_builds_keep_their_cache_key_and_header(tiny_llama, corpus, isolated):
    """A cpu-profile build names no sample rule: its key is the one over the settings it always had, and its
    header's split block has the keys it always had."""
    from concepts.builder import BuildConfig, corpus_part
    from concepts.concept_cache import cache_key, cached_concept_file, concept_cache_path
    from concepts.concept_file import read_header
    from harness.corpora import load_corpus, texts_sha256
    from trainers.profiles import resolve_profile
    from workflows.train_and_eval import TrainAndEval, build_settings, eval_options_for

    cfg = TrainAndEval(train_corpus=str(corpus))
    hyper = resolve_profile("cpu")
    settings = build_settings(cfg, hyper, "wordnet", eval_options_for(cfg, hyper))
    assert settings == {"limit": 400, "max_synonyms": 10, "heldout_size": 1000, "split_seed": 0}
    small = dict(limit=4, max_synonyms=10, **SPLIT)
    f32 = dict(dtype="float32", **small)  # the dtype the tiny model runs in: part of the key
    path = concept_cache_path(tiny_llama.info, str(corpus), "train", "wordnet", **f32)
    loaded = load_corpus(str(corpus))
    _, texts, _ = corpus_part(loaded, BuildConfig(selector="wordnet", **small))
    key = cache_key(tiny_llama.info.id, "float32", loaded.sha256, "train", "wordnet",
                    {**small, "part_sha256": texts_sha256(texts)})
    assert path.name.endswith(f"-{key}.jsonl")
    assert concept_cache_path(tiny_llama.info, str(corpus), "train", "wordnet", sample="first", **f32) == path
    paper = concept_cache_path(tiny_llama.info, str(corpus), "train", "wordnet", sample="paper", **f32)
    judged = concept_cache_path(tiny_llama.info, str(corpus), "train", "llm", judge="a/b", **f32)
    assert len({path, paper, judged, concept_cache_path(tiny_llama.info, str(corpus), "train", "llm", **f32)}) == 4
    built = cached_concept_file(tiny_llama, str(corpus), "train", "wordnet", **small)
    assert set(read_header(built).raw["split"]) == {"part", "limit", "sequences", "sha256", "heldout_size",
                                                    "validation_fraction", "split_seed", "method", "sizes", "documents"}


@pytest.mark.parametrize("flags, who", [((), f"the paper profile's judge {PAPER_JUDGE}"),
                                        (("--judge", FAKE_JUDGE), f"--judge {FAKE_JUDGE}")])
@pytest.mark.parametrize("command", ["train-and-eval", "sweep"])
def test_a_judge_missing_offline_is_refused_before_any_work(command, flags, who, corpus, isolated, monkeypatch, capsys):
    no_model_loads(monkeypatch)
    argv = [command, "--profile", "paper", "--train-corpus", str(corpus), "--tasks", "wordsim353", *split_flags(),
            "--results-dir", str(isolated / "results"), *flags]
    argv += ["--lambdas", "0.25", "--runs-dir", str(isolated / "runs")] if command == "sweep" else ["--out",
                                                                                                   str(isolated / "run")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [f"harness: error: {who} is not available offline; download it or pass "
                                        f"--judge <folder or hub id>"]
    for made in ("results", "run", "runs"):
        assert not (isolated / made).exists()
    assert not list((isolated / "cache").rglob("*.jsonl"))  # no concept file (looking its path up made its folder)


def test_a_geometry_judge_missing_offline_is_refused_before_any_model_loads(tiny_folder, corpus, isolated, monkeypatch,
                                                                            capsys):
    no_model_loads(monkeypatch)
    code = main(["eval", "--model", str(tiny_folder), "--tasks", "clustering", "--geometry-corpus", str(corpus),
                 "--geometry-selector", "llm", "--geometry-judge", FAKE_JUDGE, *split_flags(),
                 "--results-dir", str(isolated / "results")])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"harness: error: --geometry-judge {FAKE_JUDGE} is not available offline; download it or pass "
        f"--geometry-judge <folder or hub id>"]


def test_concepts_build_refuses_a_judge_missing_offline_before_reading_anything(tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    code = main(["concepts", "build", "--model", str(tmp_path / "no-model"), "--corpus", str(tmp_path / "none.txt"),
                 "--selector", "llm", "--judge", FAKE_JUDGE, "--out", str(out)])
    assert code == 2 and not out.exists()
    assert capsys.readouterr().err.strip().splitlines() == [
        f"harness: error: --judge {FAKE_JUDGE} is not available offline; download it or pass --judge <folder or hub id>"]


def test_train_and_eval_geometry_sets_follow_the_training_judge(corpus):
    from harness.task import EvalContext, EvalOptions
    from tasks.geometry_data import _build_settings, settings_of
    from trainers.profiles import resolve_profile
    from trainers.recipe import TrainConfig
    from workflows.train_and_eval import TrainAndEval, eval_options_for

    paper = TrainAndEval(train=TrainConfig(profile="paper"), train_corpus=str(corpus), options=EvalOptions())
    ctx = EvalContext(eval_options_for(paper, resolve_profile("paper")))
    assert _build_settings(ctx, settings_of(ctx))["judge"] == PAPER_JUDGE
    cpu = TrainAndEval(train_corpus=str(corpus), options=EvalOptions())
    ctx = EvalContext(eval_options_for(cpu, resolve_profile("cpu")))
    assert "judge" not in _build_settings(ctx, settings_of(ctx))  # wordnet: no judge, the key it always had


class Loaded(Exception):
    """Raised where train-and-eval would load the base model for training: the concept build is done by then."""


def test_judge_and_sample_flags_reach_the_concept_build(tiny_folder, corpus, isolated, tmp_path, monkeypatch, capsys):
    """Through the CLI: ``--judge`` (a tiny model of its own) and ``--concept-sample paper`` reach the build in the
    child process; its header records both, its records are the expected sample."""
    import shutil

    import harness.lm.load
    import harness.runner  # noqa: F401  (imported before the patch, so it keeps the real load_model)
    from harness.models import describe_spec

    judge = tmp_path / "judge-model"
    shutil.copytree(tiny_folder, judge)
    monkeypatch.setattr(harness.lm.load, "load_model", lambda *a, **k: (_ for _ in ()).throw(Loaded()))
    with pytest.raises(Loaded):
        main(["train-and-eval", "--model", str(tiny_folder), "--selector", "llm", "--judge", str(judge),
              "--concept-sample", "paper", "--concept-sequences", "2", "--train-corpus", str(corpus), *split_flags(),
              "--tasks", "wordsim353", "--device", "cpu", "--dtype", "float32", "--no-leaderboard",
              "--results-dir", str(isolated / "results"), "--out", str(isolated / "run")])
    assert f"selector llm, judge {judge}, 2 sequences, sample paper" in capsys.readouterr().out
    (built,) = (isolated / "cache" / "concepts").glob("*.jsonl")
    lines = [json.loads(line) for line in built.read_text().splitlines()]
    settings = lines[0]["selector"]["settings"]
    assert (settings["judge"], settings["judge_id"]) == (str(judge), describe_spec(str(judge)).id)
    want, available = expected_sample(corpus, 2)
    assert lines[0]["split"]["sample"] == {**lines[0]["split"]["sample"], "rule": "paper", "sequences": 2, "seed": 3,
                                           "available": available}
    assert [r["text"] for r in lines[1:]] == want


def test_the_docs_table_is_the_sources():
    from trainers.profile_sources import SOURCES, settings, settings_table

    doc = (ROOT / "docs" / "training-settings.md").read_text(encoding="utf-8")
    for profile in ("paper", "cpu"):
        assert set(SOURCES[profile]) == set(settings(profile))  # every setting has a source, none is left over
        assert {source for source, _ in SOURCES[profile].values()} <= {"paper", "public code", "ours"}
        assert settings_table(profile) in doc
    assert "docs/training-settings.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "training-settings.md" in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
