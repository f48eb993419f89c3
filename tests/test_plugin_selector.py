"""The selector plugin of test_plugin_api's module (its own ``--plug-min-chars`` flag) through ``harness concepts
build``: every set it writes recomputed here without the builder."""

from __future__ import annotations

import pytest

from test_plugin_api import plugin  # noqa: F401  (the fixture: the plugin module, registries restored afterwards)


def expected_set(module, tokenizer, ids, position, word, pos, tag, k, min_chars) -> list[int]:
    """T* of one target recomputed without the builder: an unbatched forward pass on the prefix, its top k, the
    whole-word filter (byte-level BPE: " " + letters), the candidate rules (tested on their own in
    test_candidate_rules), the plugin's rule (at least ``min_chars`` letters) and the first-token set rule (the
    word's token, then the first token of " " + synonym, de-duplicated, at most 10 synonyms)."""
    import torch

    from concepts.candidate_rules import rule_against

    with torch.no_grad():
        logits = module(torch.tensor([ids[:position]])).logits[0, -1]
    out = [ids[position]]
    for t in torch.topk(logits, k).indices.tolist():
        s = tokenizer.decode([t])
        if not (s.startswith(" ") and s[1:].isalpha()) or rule_against(s[1:], word, pos, tag) or len(s) - 1 < min_chars:
            continue
        first = tokenizer(" " + s[1:], add_special_tokens=False)["input_ids"][0]
        if first not in out and len(out) <= 10:
            out.append(first)
    return out


def test_selector_plugin_through_concepts_build_flags(plugin, tmp_path, smollm2_tokenizer, capsys):
    """The selector's own setting is a flag of ``harness concepts build`` (with its help), reaches the selector
    typed, lands in the header and keys the cache; every set of the file it builds on the tiny model is the one
    recomputed here."""
    from concepts.concept_cache import concept_cache_path
    from concepts.concept_file import load_concept_file
    from concepts.content_words import find_content_words
    from harness.cli import main
    from harness.testing import tiny_lm, write_corpus

    lm = tiny_lm(smollm2_tokenizer)
    folder = tmp_path / "tiny"
    lm.module.save_pretrained(folder)
    smollm2_tokenizer.save_pretrained(folder)
    corpus = write_corpus(tmp_path / "corpus.txt", documents=6)
    with pytest.raises(SystemExit):
        main(["concepts", "build", "--help"])
    assert "--plug-min-chars PLUG_MIN_CHARS" in capsys.readouterr().out
    out, k = tmp_path / "plug.jsonl", 40
    assert main(["concepts", "build", "--model", str(folder), "--corpus", str(corpus), "--out", str(out),
                 "--selector", "plug_long", "--plug-min-chars", "7", "--k", str(k), "--heldout-size", "2",
                 "--validation-fraction", "0", "--device", "cpu", "--dtype", "float32"]) == 0
    capsys.readouterr()
    cf = load_concept_file(out, tokenizer=smollm2_tokenizer)
    assert cf.header.block("selector") == {"name": "plug_long", "settings": {"min_chars": 7}}
    found = find_content_words([r.text for r in cf.records], smollm2_tokenizer)
    n_sets = 0
    for rec, cw in zip(cf.records, found):
        assert [t.position for t in rec.targets] == cw.positions
        for t in rec.targets:
            tag = cw.tags[cw.positions.index(t.position)]
            want = expected_set(lm.module, smollm2_tokenizer, rec.input_ids, t.position, t.word, t.pos, tag, k, 7)
            assert t.set_ids == want, (t.word, t.set_words)
            assert all(len(w) >= 7 for w in t.set_words[1:])
            n_sets += len(want) > 1
    assert len(cf.records) == 4 and n_sets > 0
    key = lambda **kw: concept_cache_path(lm.info, str(corpus), "train", "plug_long", dtype="float32",  # noqa: E731
                                          heldout_size=2, **kw)
    assert key(plug_min_chars=7) != key(plug_min_chars=5)
    with pytest.raises(Exception, match="--plug-min-chars must be at least 1"):
        key(plug_min_chars=0)
