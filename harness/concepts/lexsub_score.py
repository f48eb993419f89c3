"""A concept file's synonym sets against human substitutes (``harness concepts score``).

Matching: a gold instance i (:mod:`harness.concepts.lexsub`) is *matched* when the concept file holds a sequence
whose text is the instance's context and a target whose character span is the head's (the target's span comes
from re-tokenising the text with the file's tokenizer: ``offsets[position]`` less the word's leading space).
A head that is not a whole-word single-token content word of the model's tokenizer (:mod:`harness.concepts.
content_words`) has no target, and such instances are counted, not scored: a text-initial head, a head the
tokenizer splits, an adverb item (``.r``: content words are nouns, verbs and adjectives), a head spaCy tags
otherwise, or one the build's ``--proportion`` left out.

Sets: ``S_i`` = the target's synonyms (``T*`` less the original token), each lowercased and lemmatised with
WordNet's ``morphy`` under the item's POS (the word itself when WordNet has no lemma), less the item's lemma and
the head word; ``G_i`` = the gold substitutes (lowercased as given: annotators were asked for lemmas), with
``freq_i(s)`` annotators each and ``|H_i| = Σ_s freq_i(s)`` responses. A gold substitute that is not one
alphabetic word (``smart as a whip``, ``well-off``) can never be in a set of whole-word tokens; these are
counted and reported, and kept in ``G_i`` (so recall says what share of the human answers a set can reach).

Over the matched instances M (micro-averaged):

    precision = Σ_{i∈M} |S_i ∩ G_i| / Σ_{i∈M} |S_i|
    recall    = Σ_{i∈M} |S_i ∩ G_i| / Σ_{i∈M} |G_i|       (and over single-word gold only: |G_i^1|)
    coverage  = |A| / |M|,   A = {i ∈ M : S_i ≠ ∅} (attempted)

SemEval-2007's *best* measures (McCarthy & Navigli 2007, section 3; credit of each guess divided by the number of
guesses and weighted by annotator frequency), with T = every gold instance that has a substitute:

    best P = Σ_{i∈A} [Σ_{s∈S_i∩G_i} freq_i(s) / (|S_i| · |H_i|)] / |A|
    best R = Σ_{i∈A} [Σ_{s∈S_i∩G_i} freq_i(s) / (|S_i| · |H_i|)] / |T|
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.concepts.concept_file import ConceptFile, ConceptRecord, ConceptTarget
from harness.concepts.file_stats import ratio, synonym_words
from harness.concepts.lexsub import GoldInstance, LexsubInstance

Lemmatizer = Callable[[str, str], str]  # (lowercased word, WordNet POS letter) -> lemma
UNIVERSAL_TO_WORDNET = {"NOUN": "n", "VERB": "v", "ADJ": "a", "ADV": "r"}
NO_CONTEXT = "no context in the XML"
NOT_IN_FILE = "context not in the concept file"
NOT_A_TARGET = "head is not a target"


def wordnet_lemmatizer() -> Lemmatizer:
    """``morphy(word, pos)`` of the harness's WordNet (:func:`harness.concepts.wordnet_data.load_wordnet`)."""
    from harness.concepts.wordnet_data import load_wordnet

    wn = load_wordnet()

    def lemma(word: str, pos: str) -> str:
        return (wn.morphy(word, pos) if pos else None) or word

    return lemma


@dataclass
class LexsubScore:
    """The counts every figure of the module docstring is made from."""

    gold_instances: int  # |T|: gold instances with at least one substitute
    gold_without_substitutes: int
    unmatched: Counter = field(default_factory=Counter)  # reason -> instances
    matched: int = 0  # |M|
    attempted: int = 0  # |A|
    hits: int = 0  # Σ |S ∩ G|
    system: int = 0  # Σ |S|
    gold: int = 0  # Σ |G| (matched instances)
    gold_single: int = 0  # Σ |G^1|: single alphabetic words
    gold_not_single: int = 0  # Σ |G \ G^1| over every gold instance
    gold_types: int = 0  # Σ |G| over every gold instance
    best_sum: float = 0.0  # Σ_{i∈A} Σ_{s∈S∩G} freq(s) / (|S| · |H|)

    @property
    def precision(self) -> float:
        return ratio(self.hits, self.system)

    @property
    def recall(self) -> float:
        return ratio(self.hits, self.gold)

    @property
    def recall_single(self) -> float:
        return ratio(self.hits, self.gold_single)

    @property
    def coverage(self) -> float:
        return ratio(self.attempted, self.matched)

    @property
    def best_precision(self) -> float:
        return ratio(self.best_sum, self.attempted)

    @property
    def best_recall(self) -> float:
        return ratio(self.best_sum, self.gold_instances)


def target_spans(rec: ConceptRecord, tokenizer: Any) -> dict[tuple[int, int], ConceptTarget] | None:
    """Each target of ``rec`` by its word's character span in ``rec.text`` (None when the tokenizer does not
    give the record's ids back)."""
    from harness.concepts.content_words import encode

    ids, offsets = encode([rec.text], tokenizer)[0]
    if ids != rec.input_ids:
        return None
    return {(offsets[t.position][1] - len(t.word), offsets[t.position][1]): t for t in rec.targets}


def score(cf: ConceptFile, tokenizer: Any, contexts: list[LexsubInstance], gold: dict[tuple[str, str], GoldInstance],
          lemmatize: Lemmatizer) -> LexsubScore:
    """Match, lemmatise and count (module docstring)."""
    by_key = {c.key: c for c in contexts}
    by_text = {}
    for rec in cf.records:
        by_text.setdefault(rec.text, rec)
    spans: dict[int, dict[tuple[int, int], ConceptTarget] | None] = {}
    out = LexsubScore(gold_instances=sum(bool(g.substitutes) for g in gold.values()),
                      gold_without_substitutes=sum(not g.substitutes for g in gold.values()))
    for g in gold.values():
        if not g.substitutes:
            continue
        single = {s for s in g.substitutes if s.isalpha()}
        out.gold_types += len(g.substitutes)
        out.gold_not_single += len(g.substitutes) - len(single)
        ctx = by_key.get(g.key)
        rec = by_text.get(ctx.text) if ctx is not None else None
        if rec is not None and id(rec) not in spans:
            spans[id(rec)] = target_spans(rec, tokenizer)
        target = (spans[id(rec)] or {}).get((ctx.start, ctx.end)) if rec is not None else None
        if target is None:
            out.unmatched[NO_CONTEXT if ctx is None else NOT_IN_FILE if rec is None else NOT_A_TARGET] += 1
            continue
        pos = g.pos if g.pos in ("n", "v", "a", "r") else UNIVERSAL_TO_WORDNET.get(target.pos, "")
        own = {g.lemma, target.word.lower(), lemmatize(target.word.lower(), pos)}
        system = {lemmatize(w.lower(), pos) for w in synonym_words(target)} - own
        hits = system & set(g.substitutes)
        out.matched += 1
        out.system += len(system)
        out.gold += len(g.substitutes)
        out.gold_single += len(single)
        out.hits += len(hits)
        if system:
            out.attempted += 1
            out.best_sum += sum(g.substitutes[s] for s in hits) / (len(system) * g.responses)
    return out


def score_markdown(s: LexsubScore, name: str) -> str:
    """The score as markdown tables (counts, then measures with their formulas)."""
    from tabulate import tabulate

    def pct(x: float) -> str:
        return "–" if x != x else f"{x:.3f}"

    counts = [["gold instances with substitutes (T)", s.gold_instances],
              ["matched to a target (M)", s.matched],
              *[[f"unmatched: {reason}", n] for reason, n in sorted(s.unmatched.items())],
              ["attempted: matched, non-empty set (A)", s.attempted],
              ["gold substitutes (types, all instances)", s.gold_types],
              ["gold substitutes no set can hold (multiword, hyphenated)", s.gold_not_single]]
    if s.gold_without_substitutes:
        counts.append(["gold lines without substitutes (left out)", s.gold_without_substitutes])
    measures = [["coverage: A / M", pct(s.coverage)],
                ["precision: hits / set words, over M", pct(s.precision)],
                ["recall: hits / gold substitutes, over M", pct(s.recall)],
                ["recall, single-word gold substitutes only", pct(s.recall_single)],
                ["best P (SemEval-2007), over A", pct(s.best_precision)],
                ["best R (SemEval-2007), over T", pct(s.best_recall)]]
    return "\n".join([f"## {name} against human substitutes", "",
                      tabulate([[a, str(b)] for a, b in counts], headers=["count", "value"], tablefmt="github",
                               disable_numparse=True), "",
                      tabulate(measures, headers=["measure", "value"], tablefmt="github", disable_numparse=True),
                      ""])
