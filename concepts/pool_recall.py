"""The candidate pool's ceiling: how many human substitutes are in the model's top-k candidates at all.

A selector only chooses among the pool (:mod:`concepts.candidates`: the top-k next tokens at the
word, whole-word alphabetic, less what :mod:`concepts.candidate_rules` removes), so no selector can
recall a substitute the pool never held. For each gold target whose head is a content word (the same
targets :mod:`concepts.lexsub_score` matches: a single-token, whole-word NOUN/VERB/ADJ after a space;
other heads are counted by reason, not scored) and each k, with ``P_k`` the pool from the first k candidates
and ``G_i^1`` the target's single-word (alphabetic) substitutes, the ones a pool of whole-word tokens can hold:

    hit_k(i, s)       = s ∈ {lemma(c) : c ∈ P_k}         (lemma: WordNet morphy under the target's POS,
                                                           as the score compares set words with the gold)
    token_hit_k(i, s) = first_token(' ' + s) ∈ ids(P_k)   (the substitute's own token, uninflected)
    recall@k          = Σ_i Σ_{s∈G_i^1} hit_k(i, s) / Σ_i |G_i^1|
    any@k             = #{i : some s ∈ G_i^1 with hit_k(i, s)} / #{i : G_i^1 ≠ ∅}

The lemma match is the ceiling of the score's recall over single-word gold (``recall_single``): a pool word
``sprinted`` counts for the gold ``sprint``, which the token match misses (the inflection rule keeps the
target's inflection, so the bare lemma's token is often filtered out by design).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.lexsub_files.semeval2007 import GoldInstance, LexsubInstance

NOT_CONTENT = "head is not a single-token content word"
NO_CONTEXT = "no context"


@dataclass
class PoolTarget:
    """One gold target located in the model's tokens."""

    key: tuple[str, str]
    pos: str  # WordNet letter of the gold item (n, v, a, r)
    word: str
    upos: str  # spaCy universal POS (the candidate rules' POS)
    tag: str  # spaCy fine-grained tag
    input_ids: list[int]
    position: int
    gold: list[str]  # G^1: single-word substitutes


@dataclass
class PoolRow:
    key: tuple[str, str]
    pos: str
    gold: int  # |G^1|
    hits: dict[int, int] = field(default_factory=dict)  # k -> lemma hits
    token_hits: dict[int, int] = field(default_factory=dict)  # k -> token hits
    pool: dict[int, int] = field(default_factory=dict)  # k -> |P_k|


@dataclass
class PoolRecall:
    ks: list[int]
    rows: list[PoolRow]
    unmatched: Counter = field(default_factory=Counter)

    def recall(self, k: int, pos: str | None = None, token: bool = False) -> float:
        rows = [r for r in self.rows if pos is None or r.pos == pos]
        den = sum(r.gold for r in rows)
        return sum((r.token_hits if token else r.hits)[k] for r in rows) / den if den else float("nan")

    def any_hit(self, k: int, pos: str | None = None) -> float:
        rows = [r for r in self.rows if r.gold and (pos is None or r.pos == pos)]
        return sum(r.hits[k] > 0 for r in rows) / len(rows) if rows else float("nan")

    def mean_pool(self, k: int) -> float:
        return sum(r.pool[k] for r in self.rows) / len(self.rows) if self.rows else float("nan")


def locate(contexts: list[LexsubInstance], gold: dict[tuple[str, str], GoldInstance], tokenizer: Any,
           nlp: Any = None) -> tuple[list[PoolTarget], Counter]:
    """Each gold target (with substitutes) whose head span is a content word of its text (module docstring)."""
    from concepts.content_words import find_content_words

    by_key = {c.key: c for c in contexts}
    texts = list(dict.fromkeys(c.text for c in contexts))
    words = {}
    for cw in find_content_words(texts, tokenizer, nlp=nlp):
        for p, w, u, t in zip(cw.positions, cw.words, cw.pos, cw.tags):
            end = cw.offsets[p][1]
            words[(cw.text, end - len(w), end)] = (cw.input_ids, p, w, u, t)
    targets, unmatched = [], Counter()
    for g in gold.values():
        if not g.substitutes:
            continue
        ctx = by_key.get(g.key)
        found = words.get((ctx.text, ctx.start, ctx.end)) if ctx is not None else None
        if found is None:
            unmatched[NO_CONTEXT if ctx is None else NOT_CONTENT] += 1
            continue
        ids, p, w, u, t = found
        targets.append(PoolTarget(key=g.key, pos=g.pos, word=w, upos=u, tag=t, input_ids=list(ids), position=p,
                                  gold=[s for s in g.substitutes if s.isalpha()]))
    return targets, unmatched


def count_hits(targets: list[PoolTarget], tops: list[list[int]], vocab: Any, ks: list[int],
               lemmatize: Callable[[str, str], str]) -> list[PoolRow]:
    """The bookkeeping of the module docstring: ``tops[i]`` is target i's candidate ids, most likely first."""
    from concepts.candidate_rules import apply_rules

    rows = []
    for t, top in zip(targets, tops):
        row = PoolRow(key=t.key, pos=t.pos, gold=len(t.gold))
        for k in ks:
            words, ids = vocab.pool(top[:k])
            kept, kept_ids, _ = apply_rules(words, ids, t.word, t.upos, t.tag)
            lemmas = {lemmatize(c.lower(), t.pos) for c in kept}
            row.pool[k] = len(kept)
            row.hits[k] = sum(s in lemmas for s in t.gold)
            row.token_hits[k] = sum(vocab.first_token(s) in set(kept_ids) for s in t.gold)
        rows.append(row)
    return rows


def pool_recall(model: Any, contexts: list[LexsubInstance], gold: dict[tuple[str, str], GoldInstance],
                ks: list[int], lemmatize: Callable[[str, str], str], nlp: Any = None,
                max_batch_tokens: int | None = None) -> PoolRecall:
    """Locate the targets, take the model's top-max(k) candidates at each (one pass per sequence), count."""
    from concepts.candidates import WholeWordVocab

    targets, unmatched = locate(contexts, gold, model.tokenizer, nlp)
    by_seq: dict[tuple[int, ...], list[int]] = {}
    for i, t in enumerate(targets):
        by_seq.setdefault(tuple(t.input_ids), []).append(i)
    seqs = list(by_seq)
    tops_by_seq = model.top_k_next([list(s) for s in seqs], [[targets[i].position for i in by_seq[s]] for s in seqs],
                                   max(ks), max_batch_tokens=max_batch_tokens) if seqs else []
    tops: list[list[int]] = [[] for _ in targets]
    for s, found in zip(seqs, tops_by_seq):
        for i, top in zip(by_seq[s], found):
            tops[i] = [int(x) for x in top]
    rows = count_hits(targets, tops, WholeWordVocab(model.tokenizer), sorted(ks), lemmatize)
    return PoolRecall(ks=sorted(ks), rows=rows, unmatched=unmatched)


def pool_markdown(r: PoolRecall, name: str) -> str:
    from tabulate import tabulate

    from concepts.lexsub_ci import POS_NAMES

    def f(x: float) -> str:
        return "–" if x != x else f"{x:.3f}"

    parts = [p for p in POS_NAMES if any(row.pos == p for row in r.rows)]
    table = [[k, f(r.mean_pool(k)), f(r.recall(k)), f(r.recall(k, token=True)), f(r.any_hit(k)),
              *[f(r.recall(k, p)) for p in parts]] for k in r.ks]
    heads = ["k", "mean pool size", "recall@k (lemma)", "recall@k (token)", "targets with a hit",
             *[f"recall@k {POS_NAMES[p]}" for p in parts]]
    counts = [[f"targets located ({sum(row.gold for row in r.rows)} single-word substitutes)", len(r.rows)],
              *[[f"not located: {why}", n] for why, n in sorted(r.unmatched.items())]]
    return "\n".join([f"## Candidate pool ceiling: {name}", "",
                      tabulate(counts, headers=["count", "value"], tablefmt="github", disable_numparse=True), "",
                      tabulate(table, headers=heads, tablefmt="github", disable_numparse=True), ""])
