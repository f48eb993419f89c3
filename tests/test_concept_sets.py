"""Concept-set construction, proportion modes and the random noise control."""

from __future__ import annotations

import random

import pytest

from harness.concepts.concept_file import ConceptFile, ConceptRecord, ConceptTarget
from harness.concepts.concept_sets import build_concept_set, choose_targets, parse_proportion, sequence_rng
from harness.concepts.randomize import randomize_sets, synonym_pool
from harness.errors import UserError


def reference_set(tokenizer, token_id, synonyms, cap=10):
    """Independent statement of the rule: first non-blank token of ' '+w, unique ids, original first."""
    ids = [token_id]
    for w in synonyms:
        pieces = [i for i in tokenizer(" " + w.strip(), add_special_tokens=False)["input_ids"]
                  if tokenizer.convert_ids_to_tokens(i).replace("Ġ", "").strip()]
        if pieces and pieces[0] not in ids and len(ids) <= cap:
            ids.append(pieces[0])
    return ids


def test_set_rule_first_token_dedup_cap_and_original(smollm2_tokenizer):
    tok = smollm2_tokenizer
    browse = tok(" browse", add_special_tokens=False)["input_ids"][0]
    synonyms = ["surf", "browse", "xylophone", "surf", " navigate ", "visit", "explore", "scan", "skim", "search",
                "view", "read", "check", "peruse", "look"]
    ids, words = build_concept_set(browse, "browse", synonyms, tok)
    assert ids == reference_set(tok, browse, synonyms)
    assert ids[0] == browse and words[0] == "browse"
    assert len(ids) == 11 and len(set(ids)) == 11  # original + cap of 10, no duplicates
    # multi-token word: only its first token (" xyl") enters the set
    xyl = tok(" xylophone", add_special_tokens=False)["input_ids"]
    assert len(xyl) > 1 and xyl[0] in ids and xyl[1] not in ids
    assert words[ids.index(xyl[0])] == tok.decode([xyl[0]]).strip()
    assert "peruse" not in words and "look" not in words  # beyond the cap
    assert len(words) == len(ids)


def test_set_with_no_synonyms_is_the_original(smollm2_tokenizer):
    ids, words = build_concept_set(42, "word", [], smollm2_tokenizer)
    assert ids == [42] and words == ["word"]
    ids, _ = build_concept_set(42, "word", ["surf", "visit"], smollm2_tokenizer, max_synonyms=1)
    assert len(ids) == 2


@pytest.mark.parametrize("n", [1, 3, 7, 20, 41])
def test_proportion_counts(n):
    rng = random.Random(0)
    assert choose_targets(n, "1.0", rng) == list(range(n))
    assert choose_targets(n, "last", rng) == [n - 1]
    for share, expected in (("0.5", max(1, int(n / 2 + 0.5))), ("0.25", max(1, int(n / 4 + 0.5)))):
        got = choose_targets(n, share, rng)
        assert len(got) == expected and got == sorted(set(got)) and all(0 <= g < n for g in got)
    assert choose_targets(0, "0.5", rng) == []


def test_proportion_is_seeded_per_sequence():
    a = [choose_targets(40, "0.25", sequence_rng(3, i)) for i in range(10)]
    b = [choose_targets(40, "0.25", sequence_rng(3, i)) for i in reversed(range(10))][::-1]
    assert a == b  # depends on (seed, index), not on order of calls
    assert a != [choose_targets(40, "0.25", sequence_rng(4, i)) for i in range(10)]
    assert len({tuple(x) for x in a}) > 1  # sequences draw different words


def test_parse_proportion():
    assert parse_proportion("last") == "last" and parse_proportion("0.50") == "0.5" and parse_proportion(1) == "1.0"
    for bad in ("0", "1.5", "half", "-0.25"):
        with pytest.raises(UserError):
            parse_proportion(bad)


def hand_file() -> ConceptFile:
    recs = []
    rng = random.Random(7)
    vocab = [(1000 + i, f"w{i}") for i in range(60)]
    for r in range(6):
        targets = []
        for j in range(5):
            orig = 10 + r * 10 + j
            n = rng.randint(0, 6)
            syn = rng.sample(vocab, n)
            targets.append(ConceptTarget(position=j + 1, token_id=orig, word=f"o{orig}", pos="NOUN",
                                         set_ids=[orig] + [i for i, _ in syn], set_words=[f"o{orig}"] + [w for _, w in syn]))
        recs.append(ConceptRecord(index=r, text="t", input_ids=list(range(8)), targets=targets))
    return ConceptFile(header={"type": "header"}, records=recs)


def test_randomize_keeps_sizes_draws_from_pool_and_is_seeded():
    import copy

    src = hand_file()
    pool = set(synonym_pool(src))
    a = randomize_sets(copy.deepcopy(src), seed=1)
    b = randomize_sets(copy.deepcopy(src), seed=1)
    c = randomize_sets(copy.deepcopy(src), seed=2)
    sets = lambda cf: [t.set_ids for _, t in cf.targets()]  # noqa: E731
    assert sets(a) == sets(b) and sets(a) != sets(c)
    assert sets(a) != sets(src)
    for (_, before), (_, after) in zip(src.targets(), a.targets()):
        assert len(after.set_ids) == len(before.set_ids)  # sizes kept
        assert after.set_ids[0] == before.token_id and after.set_words[0] == before.set_words[0]
        assert len(set(after.set_ids)) == len(after.set_ids)
        assert all((i, w) in pool for i, w in zip(after.set_ids[1:], after.set_words[1:]))


def test_randomize_needs_synonyms():
    cf = hand_file()
    for _, t in cf.targets():
        t.set_ids, t.set_words = t.set_ids[:1], t.set_words[:1]
    with pytest.raises(UserError, match="no synonyms"):
        randomize_sets(cf, 0)
