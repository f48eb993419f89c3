"""The candidate pool's ceiling (a model whose top-k is fixed here, so the bookkeeping is checked by hand) and the
``gold`` selector (CoInCo's substitutes as T*), on the CoInCo fixture of ``coinco_fixtures``."""

from __future__ import annotations

import pytest

from harness.lexsub_files.coinco import read_coinco
from concepts.lexsub_score import wordnet_lemmatizer
from coinco_fixtures import SENT_A, coinco  # noqa: F401  (the fixture)

RANKINGS = {  # head -> its candidates, most likely first (words after a space: one SmolLM2 token each)
    "bright": ["smart", "Bright", "clever", "brighter", "intelligent"],
    "answered": ["replied", "respond", "said", "answering", "reply"],
}


class FixedModel:
    """Top-k = the head's ranking in :data:`RANKINGS` (empty for any other word)."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.calls: list[int] = []

    def top_k_next(self, sequences, positions, k, max_batch_tokens=None):
        self.calls.append(k)
        out = []
        for ids, ps in zip(sequences, positions):
            row = []
            for p in ps:
                head = self.tokenizer.decode([ids[p]]).strip()
                ranked = [self.tokenizer(" " + w, add_special_tokens=False)["input_ids"] for w in RANKINGS.get(head, [])]
                assert all(len(t) == 1 for t in ranked), "the fixture's candidates are single tokens"
                row.append([t[0] for t in ranked][:k])
            out.append(row)
        return out


def test_pool_recall_by_hand(coinco, smollm2_tokenizer):  # noqa: F811
    from concepts.pool_recall import NOT_CONTENT, pool_recall

    dev = read_coinco("coinco-dev")
    gold = {k: g for k, g in dev.gold.items() if k[1] in ("1", "3", "5")}  # bright, answered, garlicky
    model = FixedModel(smollm2_tokenizer)
    r = pool_recall(model, dev.contexts, gold, [5, 1, 3], wordnet_lemmatizer())
    assert model.calls == [5] and r.ks == [1, 3, 5]
    assert dict(r.unmatched) == {NOT_CONTENT: 1}  # garlicky: two tokens
    # bright (JJ), G^1 = {intelligent, clever, smart}: Bright (target) and brighter (lemma) are removed, so
    #   P_1 = [smart], P_3 = [smart, clever], P_5 = [smart, clever, intelligent]: hits 1, 2, 3 (tokens the same)
    # answered (VBD), G^1 = {respond, reply}: respond and reply are no VBD form (inflection), answering shares the
    #   lemma: P_1 = [replied], P_3 = P_5 = [replied, said]: lemma hits 1 (replied -> reply) at every k, token 0
    assert [r.recall(k) for k in (1, 3, 5)] == pytest.approx([2 / 5, 3 / 5, 4 / 5])
    assert [r.recall(k, token=True) for k in (1, 3, 5)] == pytest.approx([1 / 5, 2 / 5, 3 / 5])
    assert r.recall(5, pos="v") == pytest.approx(1 / 2) and r.any_hit(1) == 1.0
    assert [r.mean_pool(k) for k in (1, 3, 5)] == pytest.approx([1.0, 2.0, 2.5])


def test_gold_selector_maps_substitutes_to_single_tokens(coinco, smollm2_tokenizer):  # noqa: F811
    from concepts.candidates import SelectionQuery, SelectorContext
    from concepts.selectors import SELECTORS

    sel = SELECTORS.get("gold")(SelectorContext(model=FixedModel(smollm2_tokenizer), gold="coinco-dev"))
    def query(word: str, pos: str, tag: str) -> SelectionQuery:
        start = SENT_A.index(word)
        return SelectionQuery(text=SENT_A, word=word, pos=pos, tag=tag, start=start, end=start + len(word), token_id=0,
                              candidates=[])

    q, bright, other = query("answered", "VERB", "VBD"), query("bright", "ADJ", "JJ"), query("question", "NOUN", "NN")
    # answered: respond 3, reply 2 put in VBD form; bright: by annotators, "smart as a whip" is no single word
    assert sel.select([q, bright, other]) == [["responded", "replied"], ["intelligent", "clever", "smart"], []]
    assert sel.settings()["part"] == "dev"


def test_gold_selector_needs_coinco(smollm2_tokenizer):
    from concepts.candidates import SelectorContext
    from concepts.selectors import SELECTORS
    from harness.errors import UserError

    with pytest.raises(UserError, match="gold selector needs CoInCo"):
        SELECTORS.get("gold")(SelectorContext(model=FixedModel(smollm2_tokenizer)))


def test_build_with_the_gold_selector(coinco, tmp_path, tiny_llama, smollm2_tokenizer):  # noqa: F811
    from concepts.builder import build_concepts
    from concepts.concept_file import load_concept_file

    out = tmp_path / "gold.jsonl"
    build_concepts(tiny_llama, "coinco", "gold", out, split="heldout", heldout_size=10, k=5)
    cf = load_concept_file(out, smollm2_tokenizer)
    sets = {t.word: t.set_words for _, t in cf.targets()}
    assert sets["answered"] == ["answered", "responded", "replied"]
    assert sets["bright"] == ["bright", "intelligent", "clever", "smart"]
    assert cf.header.name("selector") == "gold" and cf.header.corpus_spec == "coinco"


def test_cli_pool_recall_writes_the_report(coinco, tmp_path, tiny_llama, monkeypatch, capsys):  # noqa: F811
    import json

    import harness.lm.load
    from harness.cli import main
    from concepts.pool_recall import NOT_CONTENT

    monkeypatch.setattr(harness.lm.load, "load_model", lambda spec, device="auto", dtype="auto": tiny_llama)
    js = tmp_path / "pool.json"
    assert main(["concepts", "pool-recall", "--gold", "coinco-test", "--k", "50,10", "--json", str(js)]) == 0
    report = json.loads(js.read_text(encoding="utf-8"))
    # test part: rose (a one-token verb after a space) is located; sharply is an adverb, no content word
    assert [t["key"] for t in report["targets"]] == [["rise.v", "7"]] and report["unmatched"] == {NOT_CONTENT: 1}
    assert report["k"] == [10, 50] and report["targets"][0]["gold"] == 1  # increase (go up is two words)
    assert "Candidate pool ceiling" in capsys.readouterr().out
