"""The concept-set builder on a tiny random model: golden candidates, proportions, resume, caching, the
all-singleton check and the candidate counts (the CLI: test_concept_builder_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concepts.builder import build_concepts
from concepts.concept_cache import cached_concept_file
from concepts.concept_file import load_concept_file
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


def test_cache_key_names_the_embedding_mode(tiny_llama, corpus_file):
    """An embedding file cached before the contextual default (keyed without a mode) is never taken for a
    contextual one: the key holds the mode, given or defaulted."""
    from concepts.concept_cache import concept_cache_path

    path = lambda selector, **kw: concept_cache_path(tiny_llama.info, str(corpus_file), "train", selector,  # noqa: E731
                                                     dtype="float32", **SPLIT, **kw)
    default, contextual, static = path("embedding"), path("embedding", embedding_mode="contextual"), \
        path("embedding", embedding_mode="static")
    assert default == contextual != static
