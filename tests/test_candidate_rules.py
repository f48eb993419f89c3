"""The candidate rules every selector obeys: the reported WordNet examples (real WordNet 3.0), each
rule on its own, and their counts."""

from __future__ import annotations

import pytest

from concepts.candidate_rules import apply_rules, rule_against
from concepts.candidates import SelectionQuery, SelectorContext
from concepts.selectors import SELECTORS


@pytest.fixture(scope="module")
def wordnet_selector():
    return SELECTORS.get("wordnet")(SelectorContext(model=None))


def wordnet_choice(selector, text: str, word: str, pos: str, tag: str, candidates: list[str], rules: bool):
    if rules:
        candidates, _, _ = apply_rules(candidates, list(range(len(candidates))), word, pos, tag)
    start = text.index(word)
    q = SelectionQuery(text=text, word=word, pos=pos, start=start, end=start + len(word), token_id=0,
                       candidates=candidates)
    return selector.select([q])[0]


# (context, word, POS, spaCy tag, the base model's candidates, what WordNet alone picks, what remains)
EXAMPLES = [
    ("He played a leading role in the war.", "role", "NOUN", "NN", ["roles", "parts", "part", "function", "war"],
     ["roles", "parts", "part", "function"], ["part", "function"]),
    ("The soldiers left their camps at dawn.", "camps", "NOUN", "NNS", ["camp", "Camp", "bases", "sites", "tents"],
     ["camp", "Camp"], []),
    ("It was built in the twelfth century.", "century", "NOUN", "NN",
     ["centuries", "c", "C", "Hundred", "hundred", "decade"], ["centuries", "c", "C", "Hundred", "hundred"],
     ["hundred"]),
    ("She bought a car yesterday.", "bought", "VERB", "VBD",
     ["buy", "buying", "buys", "purchase", "purchased", "purchasing", "bribed", "sold"],
     ["buy", "buying", "buys", "purchase", "purchased", "purchasing", "bribed"], ["purchased", "bribed"]),
    ("This house is bigger than ours.", "bigger", "ADJ", "JJR", ["big", "large", "larger", "Larger", "small"],
     ["big", "large", "larger", "Larger"], ["larger"]),
]


@pytest.mark.parametrize("text, word, pos, tag, candidates, wordnet_alone, kept", EXAMPLES)
def test_reported_wordnet_examples(wordnet_selector, text, word, pos, tag, candidates, wordnet_alone, kept):
    # WordNet's morphy-reduced lookups alone pick inflections, case variants and the abbreviation c ...
    assert wordnet_choice(wordnet_selector, text, word, pos, tag, candidates, rules=False) == wordnet_alone
    # ... the candidate rules leave none of them for any selector
    assert wordnet_choice(wordnet_selector, text, word, pos, tag, candidates, rules=True) == kept


@pytest.mark.parametrize("candidate, word, pos, tag, rule", [
    # target: the word itself in any case
    ("Browse", "browse", "VERB", "VB", "target"), ("CAR", "car", "NOUN", "NN", "target"),
    # lemma: inflections of the word and their case variants, whatever the tag
    ("roles", "role", "NOUN", "NN", "lemma"), ("camp", "camps", "NOUN", "NNS", "lemma"),
    ("Camp", "camps", "NOUN", "NNS", "lemma"), ("centuries", "century", "NOUN", "NN", "lemma"),
    ("running", "ran", "VERB", "VBD", "lemma"), ("best", "good", "ADJ", "JJ", "lemma"),
    ("children", "child", "NOUN", "NN", "lemma"),
    # case: capitalised candidates of a lower-case word; a capitalised word keeps them
    ("Hundred", "century", "NOUN", "NN", "case"), ("Auto", "car", "NOUN", "NN", "case"),
    ("Large", "Big", "ADJ", "JJ", None),
    # letter: single letters (abbreviations, numerals), unless the word is one
    ("c", "century", "NOUN", "NN", "letter"), ("l", "fifty", "NOUN", "NN", "letter"),
    # inflection: number, verb form, degree must agree with the word's tag in context
    ("parts", "role", "NOUN", "NN", "inflection"), ("part", "roles", "NOUN", "NNS", "inflection"),
    ("dogs", "cat", "NOUN", "NN", "inflection"), ("strolling", "walked", "VERB", "VBD", "inflection"),
    ("ran", "walked", "VERB", "VBN", "inflection"), ("purchased", "buy", "VERB", "VB", "inflection"),
    ("large", "bigger", "ADJ", "JJR", "inflection"), ("largest", "big", "ADJ", "JJ", "inflection"),
    # kept: same inflection, or a tag without inflection to compare
    ("part", "role", "NOUN", "NN", None), ("parts", "roles", "NOUN", "NNS", None),
    ("ran", "walked", "VERB", "VBD", None), ("run", "walked", "VERB", "VBN", None),
    ("were", "existed", "VERB", "VBD", None), ("are", "exist", "VERB", "VBP", None),
    ("is", "exist", "VERB", "VBP", "inflection"), ("beginning", "first", "ADJ", "JJ", None),
    ("other", "early", "ADJ", "JJ", None), ("blorgs", "cat", "NOUN", "NN", "inflection"),
    ("purchase", "buy", "VERB", "VB", None), ("purchases", "buys", "VERB", "VBZ", None),
    ("larger", "bigger", "ADJ", "JJR", None), ("hundred", "century", "NOUN", "NN", None),
    ("dogs", "cat", "NOUN", "XX", None),
])
def test_each_rule_on_its_own(candidate, word, pos, tag, rule):
    assert rule_against(candidate, word, pos, tag) == rule


def test_apply_rules_keeps_order_and_counts_each_rule():
    words = ["Role", "roles", "Part", "p", "parts", "function", "part", "office"]
    kept, ids, removed = apply_rules(words, list(range(len(words))), "role", "NOUN", "NN")
    assert kept == ["function", "part", "office"] and ids == [5, 6, 7]
    assert removed == {"target": 1, "lemma": 1, "case": 1, "letter": 1, "inflection": 1}
