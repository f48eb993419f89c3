"""A concept file's synonym sets against human substitutes (``harness concepts score``).

Matching: a gold instance i (SemEval-2007, :mod:`harness.lexsub_files.semeval2007`, or CoInCo, :mod:`concepts.
coinco`: the same instance model) is *matched* when the concept file holds a sequence
whose text is the instance's context and a target whose character span is the head's (the target's span comes
from re-tokenising the text with the file's tokenizer: ``offsets[position]`` less the word's leading space).
A head that is not a whole-word single-token content word of the model's tokenizer (:mod:`concepts.
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

SemEval-2007's official measures (McCarthy & Navigli 2007, their scoring section), with T = every gold instance that has a
substitute, A ⊆ T the attempted ones, and the guesses of i its set in the set's order (the selector's, best first):

    best P = Σ_{i∈A} [Σ_{s∈S_i∩G_i} freq_i(s) / (|S_i| · |H_i|)] / |A|     (credit divided by the guesses)
    best R = the same sum / |T|
    oot  P = Σ_{i∈A} [Σ_{s∈S_i^10∩G_i} freq_i(s) / |H_i|] / |A|              (S_i^10: the first 10 guesses;
    oot  R = the same sum / |T|                                                credit not divided)

and their *mode* variants over TM ⊆ T, the instances whose gold has a mode m_i (one substitute given by
strictly more annotators than any other), AM = A ∩ TM: best mode P = #{i ∈ AM : first guess = m_i} / |AM|
(R: / |TM|): the first guess stands for the system's best guess, as the task scored one answer against the
mode; oot mode P = #{i ∈ AM : m_i ∈ S_i^10} / |AM| (R: / |TM|).

How our set measures relate: set precision and recall count *types* (each substitute once, whatever its
annotator count) pooled over instances; best and oot weight each hit by its share of the annotators' responses
and average per instance. For a set of at most 10 words, an instance's oot credit is its frequency-weighted
recall and its best credit is that divided by |S_i|, so best falls as sets grow, which set precision need not;
``mean_set_size`` = Σ|S_i| / |A| and F1 = 2PR / (P + R) of set precision and recall. All are sums
of per-instance columns (:class:`InstanceScore`), which is what the bootstrap over targets resamples
(:mod:`concepts.lexsub_ci`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from concepts.concept_file import ConceptFile, ConceptRecord, ConceptTarget
from concepts.concept_figures import synonym_words
from concepts.set_counts import ratio
from harness.lexsub_files.semeval2007 import GoldInstance, LexsubInstance

Lemmatizer = Callable[[str, str], str]  # (lowercased word, WordNet POS letter) -> lemma
UNIVERSAL_TO_WORDNET = {"NOUN": "n", "VERB": "v", "ADJ": "a", "ADV": "r"}
NO_CONTEXT = "no context in the XML"
NOT_IN_FILE = "context not in the concept file"
NOT_A_TARGET = "head is not a target"


def wordnet_lemmatizer() -> Lemmatizer:
    """``morphy(word, pos)`` of the harness's WordNet (:func:`harness.wordnet_data.load_wordnet`)."""
    from harness.wordnet_data import load_wordnet

    wn = load_wordnet()

    def lemma(word: str, pos: str) -> str:
        return (wn.morphy(word, pos) if pos else None) or word

    return lemma


OOT_GUESSES = 10  # SemEval-2007's oot: up to ten guesses
COLUMNS = ("gold_instances", "matched", "attempted", "hits", "system", "gold", "gold_single", "gold_not_single",
           "gold_types", "best_sum", "oot_sum", "mode_instances", "mode_attempted", "best_mode_hits", "oot_mode_hits")
# measure -> (numerator column, denominator column): every measure is a ratio of column sums
RATIOS = {"coverage": ("attempted", "matched"), "mean_set_size": ("system", "attempted"),
          "precision": ("hits", "system"), "recall": ("hits", "gold"), "recall_single": ("hits", "gold_single"),
          "best_precision": ("best_sum", "attempted"), "best_recall": ("best_sum", "gold_instances"),
          "oot_precision": ("oot_sum", "attempted"), "oot_recall": ("oot_sum", "gold_instances"),
          "best_mode_precision": ("best_mode_hits", "mode_attempted"),
          "best_mode_recall": ("best_mode_hits", "mode_instances"),
          "oot_mode_precision": ("oot_mode_hits", "mode_attempted"),
          "oot_mode_recall": ("oot_mode_hits", "mode_instances")}


def f1(precision: float, recall: float) -> float:
    """``2PR / (P + R)`` (NaN when either is NaN, 0 when both are 0)."""
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0 * precision * recall


def mode_of(substitutes: dict[str, int]) -> str | None:
    """The substitute given by strictly more annotators than any other, else None."""
    ranked = sorted(substitutes.values(), reverse=True)
    if not ranked or (len(ranked) > 1 and ranked[0] == ranked[1]):
        return None
    return next(s for s, n in substitutes.items() if n == ranked[0])


@dataclass
class InstanceScore:
    """One gold instance with substitutes: its columns (:data:`COLUMNS`) and what they came from."""

    key: tuple[str, str]
    pos: str  # n, v, a, r ("" when unknown)
    reason: str | None = None  # why it is unmatched (None: matched)
    guesses: list[str] = field(default_factory=list)  # S_i in set order
    gold_instances: int = 1
    matched: int = 0
    attempted: int = 0
    hits: int = 0
    system: int = 0
    gold: int = 0
    gold_single: int = 0
    gold_not_single: int = 0
    gold_types: int = 0
    best_sum: float = 0.0
    oot_sum: float = 0.0
    mode_instances: int = 0
    mode_attempted: int = 0
    best_mode_hits: int = 0
    oot_mode_hits: int = 0


def instance_score(g: GoldInstance, pos: str, guesses: list[str] | None, reason: str | None = None) -> InstanceScore:
    """The columns of one instance (module docstring); ``guesses`` None when unmatched."""
    single = [s for s in g.substitutes if s.isalpha()]
    mode = mode_of(g.substitutes)
    row = InstanceScore(key=g.key, pos=pos, reason=reason, gold_types=len(g.substitutes),
                        gold_not_single=len(g.substitutes) - len(single), mode_instances=int(mode is not None))
    if guesses is None:
        return row
    hits = [s for s in guesses if s in g.substitutes]
    top = guesses[:OOT_GUESSES]
    row.guesses, row.matched, row.system, row.hits = list(guesses), 1, len(guesses), len(hits)
    row.gold, row.gold_single = len(g.substitutes), len(single)
    if guesses:
        row.attempted = 1
        row.best_sum = sum(g.substitutes[s] for s in hits) / (len(guesses) * g.responses)
        row.oot_sum = sum(g.substitutes[s] for s in top if s in g.substitutes) / g.responses
        if mode is not None:
            row.mode_attempted = 1
            row.best_mode_hits = int(guesses[0] == mode)
            row.oot_mode_hits = int(mode in top)
    return row


@dataclass
class LexsubScore:
    """Column sums of the rows (:data:`COLUMNS`), the unmatched instances by reason, and the rows themselves."""

    rows: list[InstanceScore]
    gold_without_substitutes: int = 0
    unmatched: Counter = field(default_factory=Counter)
    sums: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sums = {c: sum(getattr(r, c) for r in self.rows) for c in COLUMNS}
        self.unmatched = Counter(r.reason for r in self.rows if r.reason is not None)

    def __getattr__(self, name: str):
        sums = self.__dict__.get("sums", {})
        if name in sums:
            return sums[name]
        if name in RATIOS:
            num, den = RATIOS[name]
            return ratio(sums[num], sums[den])
        if name == "f1":
            return f1(self.precision, self.recall)
        raise AttributeError(name)

    def subset(self, pos: str) -> LexsubScore:
        """The same figures over the instances of one part of speech."""
        return LexsubScore([r for r in self.rows if r.pos == pos])


def target_spans(rec: ConceptRecord, tokenizer: Any) -> dict[tuple[int, int], ConceptTarget] | None:
    """Each target of ``rec`` by its word's character span in ``rec.text`` (None when the tokenizer does not
    give the record's ids back)."""
    from concepts.content_words import encode

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
    rows = []
    for g in gold.values():
        if not g.substitutes:
            continue
        ctx = by_key.get(g.key)
        rec = by_text.get(ctx.text) if ctx is not None else None
        if rec is not None and id(rec) not in spans:
            spans[id(rec)] = target_spans(rec, tokenizer)
        target = (spans[id(rec)] or {}).get((ctx.start, ctx.end)) if rec is not None else None
        if target is None:
            reason = NO_CONTEXT if ctx is None else NOT_IN_FILE if rec is None else NOT_A_TARGET
            rows.append(instance_score(g, g.pos, None, reason))
            continue
        pos = g.pos if g.pos in ("n", "v", "a", "r") else UNIVERSAL_TO_WORDNET.get(target.pos, "")
        own = {g.lemma, target.word.lower(), lemmatize(target.word.lower(), pos)}
        guesses = [w for w in dict.fromkeys(lemmatize(w.lower(), pos) for w in synonym_words(target)) if w not in own]
        rows.append(instance_score(g, pos, guesses))
    return LexsubScore(rows, gold_without_substitutes=sum(not g.substitutes for g in gold.values()))
