"""End to end on the real embedded SmolLM2-135M: wordnet and llm selectors over a few wiki sequences."""

from __future__ import annotations

import pytest

from concepts.builder import build_concepts
from concepts.concept_file import load_concept_file

pytestmark = pytest.mark.slow


def test_wordnet_build_on_smollm2(smollm2, tmp_path):
    from harness.wordnet_data import load_wordnet

    out = tmp_path / "wn.jsonl"
    stats = build_concepts(smollm2, "wiki", "wordnet", out, limit=2, device="cpu", dtype="float32")
    cf = load_concept_file(out, tokenizer=smollm2.tokenizer)
    assert len(cf.records) == 2 and stats.content_words == sum(len(r.targets) for r in cf.records) > 20
    assert 0 < stats.share_with_synonyms <= 1 and "content words/s" in stats.summary()
    wn = load_wordnet()
    tag = {"NOUN": "n", "VERB": "v", "ADJ": "a"}
    for _, t in cf.targets():
        mine = set(wn.synsets(t.word.lower(), tag[t.pos]))
        for w in t.set_words[1:]:  # every synonym shares a synset with the word (read from NLTK directly)
            assert mine & set(wn.synsets(w.lower(), tag[t.pos])), (t.word, w)


def test_llm_build_on_smollm2(smollm2, tmp_path):
    import torch

    out = tmp_path / "llm.jsonl"
    stats = build_concepts(smollm2, "wiki", "llm", out, limit=1, proportion="last", device="cpu", dtype="float32")
    cf = load_concept_file(out, tokenizer=smollm2.tokenizer)
    (rec,) = cf.records
    (t,) = rec.targets
    assert stats.content_words == 1 and cf.header.raw["selector"]["settings"]["repetition_penalty"] == 1.1
    with torch.no_grad():
        logits = smollm2.module(torch.tensor([rec.input_ids[: t.position]])).logits[0, -1]
    pool = {smollm2.tokenizer.decode([i]) for i in torch.topk(logits, 200).indices.tolist()}
    assert all(" " + w in pool for w in t.set_words[1:])  # the judge can only pick offered candidates
