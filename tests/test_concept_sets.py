"""Concept-set construction, proportion modes and the random noise control."""

from __future__ import annotations

import random

import pytest

from concepts.candidates import WholeWordVocab
from concepts.concept_file import ConceptFile, ConceptRecord, ConceptTarget
from concepts.concept_header import ConceptHeader
from concepts.concept_sets import build_concept_set, choose_targets, parse_proportion, sequence_rng
from concepts.randomize import randomize_sets, synonym_pool
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
    ids, words = build_concept_set(browse, "browse", synonyms, WholeWordVocab(tok))
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
    vocab = WholeWordVocab(smollm2_tokenizer)
    ids, words = build_concept_set(42, "word", [], vocab)
    assert ids == [42] and words == ["word"]
    ids, _ = build_concept_set(42, "word", ["surf", "visit"], vocab, max_synonyms=1)
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


def hand_file(vocab_size: int = 12, seed: int = 7) -> ConceptFile:
    """Sets drawn from one small vocabulary, so a target's own token is also a frequent synonym of
    other targets (the pool holds every original many times); sizes 1 to 7 (singletons included)."""
    recs = []
    rng = random.Random(seed)
    vocab = [(100 + i, f"w{i}") for i in range(vocab_size)]
    for r in range(8):
        targets = []
        for j in range(6):
            orig_id, orig_word = rng.choice(vocab)
            syn = rng.sample([v for v in vocab if v[0] != orig_id], rng.randint(0, 6))
            targets.append(ConceptTarget(position=j + 1, token_id=orig_id, word=orig_word, pos="NOUN",
                                         set_ids=[orig_id] + [i for i, _ in syn],
                                         set_words=[orig_word] + [w for _, w in syn]))
        recs.append(ConceptRecord(index=r, text="t", input_ids=[0] + [t.token_id for t in targets] + [0],
                                  targets=targets))
    return ConceptFile(header=ConceptHeader({"type": "header"}), records=recs)


def test_noise_sets_never_hold_the_original_and_replace_the_whole_set():
    import copy

    src = hand_file()
    pool = synonym_pool(src)
    assert {t.token_id for _, t in src.targets()} <= {i for i, _ in pool}  # every original is also a synonym
    a = randomize_sets(copy.deepcopy(src), seed=1)
    sizes_before = [len(t.set_ids) for _, t in src.targets()]
    assert 1 in sizes_before and max(sizes_before) == 7
    for (_, before), (_, after) in zip(src.targets(), a.targets()):
        assert before.token_id not in after.set_ids, (before.word, after.set_words)
        # the documented size rule: |T*| draws, the original's slot included (a singleton gets one random token)
        assert len(after.set_ids) == len(before.set_ids)
        assert len(set(after.set_ids)) == len(after.set_ids)  # distinct within a set
        assert all((i, w) in set(pool) for i, w in zip(after.set_ids, after.set_words))
        assert (after.position, after.token_id, after.word) == (before.position, before.token_id, before.word)


def test_noise_sets_are_seeded():
    import copy

    src = hand_file()
    sets = lambda cf: [t.set_ids for _, t in cf.targets()]  # noqa: E731
    a, b = randomize_sets(copy.deepcopy(src), seed=1), randomize_sets(copy.deepcopy(src), seed=1)
    assert sets(a) == sets(b) and sets(a) != sets(randomize_sets(copy.deepcopy(src), seed=2))
    assert sets(a) != sets(src)


def test_noise_draws_follow_the_pool_multiplicity():
    # pool: token 1 nine times for every once of token 2; singleton targets of token 3 draw one token each
    targets = [ConceptTarget(position=1, token_id=50 + k, word="x", pos="NOUN",
                             set_ids=[50 + k] + ([1] if k % 10 else [2]), set_words=["x", "one" if k % 10 else "two"])
               for k in range(200)]
    targets += [ConceptTarget(position=1, token_id=3, word="three", pos="NOUN", set_ids=[3], set_words=["three"])
                for _ in range(2000)]
    cf = ConceptFile(header=ConceptHeader({"type": "header"}),
                     records=[ConceptRecord(index=i, text="t", input_ids=[0, t.token_id], targets=[t])
                              for i, t in enumerate(targets)])
    out = randomize_sets(cf, seed=0)
    drawn = [t.set_ids[0] for _, t in out.targets() if t.token_id == 3]
    assert len(drawn) == 2000 and set(drawn) == {1, 2}  # the originals 50.. are no synonyms: not in the pool
    share_one = drawn.count(1) / len(drawn)
    assert abs(share_one - 0.9) < 0.03  # binomial sd at n = 2000 is 0.0067


def test_noise_set_stops_short_only_when_the_pool_runs_out():
    # the pool has 2 distinct tokens; a target whose original is one of them can only get the other
    t1 = ConceptTarget(position=1, token_id=7, word="a", pos="NOUN", set_ids=[7, 8, 9], set_words=["a", "b", "c"])
    t2 = ConceptTarget(position=2, token_id=8, word="b", pos="NOUN", set_ids=[8], set_words=["b"])
    cf = ConceptFile(header=ConceptHeader({"type": "header"}), records=[ConceptRecord(index=0, text="t", input_ids=[0, 7, 8],
                                                                       targets=[t1, t2])])
    out = randomize_sets(cf, seed=3)
    (_, a), (_, b) = out.targets()
    assert sorted(a.set_ids) == [8, 9] and b.set_ids == [9]


def test_randomize_needs_two_distinct_synonyms_and_a_built_file():
    cf = hand_file()
    for _, t in cf.targets():
        t.set_ids, t.set_words = t.set_ids[:1], t.set_words[:1]
    with pytest.raises(UserError, match="no synonym"):
        randomize_sets(cf, 0)
    noise = randomize_sets(hand_file(), 0)
    noise.header = ConceptHeader({**noise.header.raw, "randomized": {"seed": 0}})
    with pytest.raises(UserError, match="already a noise control"):
        randomize_sets(noise, 1)
