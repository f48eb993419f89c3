"""The lexical-substitution score as markdown (counts, then each measure with its 95% interval, overall and by POS)
and as JSON (the same figures and every target's columns, so the intervals can be recomputed or paired)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from concepts.lexsub_ci import MEASURES, POS_NAMES, Interval
from concepts.lexsub_score import LexsubScore

LABELS = {"coverage": "coverage: A / M", "mean_set_size": "mean set size: set words / A",
          "precision": "precision: hits / set words, over M", "recall": "recall: hits / gold substitutes, over M",
          "f1": "F1 of set precision and recall", "recall_single": "recall, single-word gold substitutes only",
          "best_precision": "best P (SemEval-2007), over A", "best_recall": "best R (SemEval-2007), over T",
          "oot_precision": "oot P (SemEval-2007, first 10), over A", "oot_recall": "oot R (SemEval-2007), over T",
          "best_mode_precision": "best mode P, over AM", "best_mode_recall": "best mode R, over TM",
          "oot_mode_precision": "oot mode P, over AM", "oot_mode_recall": "oot mode R, over TM"}


def counts(s: LexsubScore, left_out: dict[str, int] | None = None) -> list[tuple[str, int]]:
    rows = [("gold instances with substitutes (T)", s.gold_instances), ("matched to a target (M)", s.matched),
            *[(f"unmatched: {reason}", n) for reason, n in sorted(s.unmatched.items())],
            ("attempted: matched, non-empty set (A)", s.attempted),
            ("gold instances with a mode (TM)", s.mode_instances),
            ("gold substitutes (types, all instances)", s.gold_types),
            ("gold substitutes no set can hold (multiword, hyphenated)", s.gold_not_single)]
    if s.gold_without_substitutes:
        rows.append(("gold lines without substitutes (left out)", s.gold_without_substitutes))
    rows += [(f"gold targets left out: {why}", n) for why, n in (left_out or {}).items() if n]
    return [(a, int(b)) for a, b in rows]


def format_interval(iv: Interval) -> str:
    """``0.170 [0.160, 0.181]`` (three decimals; the value alone when there is no interval, ``–`` for NaN)."""

    def f(x: float) -> str:
        return "–" if x != x else f"{x:.3f}"

    return f(iv.value) if iv.low != iv.low else f"{f(iv.value)} [{f(iv.low)}, {f(iv.high)}]"


def score_markdown(s: LexsubScore, name: str, cis: dict[str, dict[str, Interval]],
                   left_out: dict[str, int] | None = None, n_resamples: int = 1000, seed: int = 0) -> str:
    """Counts, then one row per measure and one column per POS (value [95% interval]); ``cis`` from
    :func:`concepts.lexsub_ci.by_pos`."""
    from tabulate import tabulate

    parts = [p for p in cis if p != "all"]
    heads = ["measure", f"all ({s.gold_instances})",
             *[f"{POS_NAMES[p]} ({s.subset(p).gold_instances})" for p in parts]]
    table = [[LABELS[m], *[format_interval(cis[p][m]) for p in ["all", *parts]]] for m in MEASURES]
    return "\n".join([f"## {name} against human substitutes", "",
                      tabulate([[a, str(b)] for a, b in counts(s, left_out)], headers=["count", "value"],
                               tablefmt="github", disable_numparse=True), "",
                      f"95% intervals: percentile bootstrap over targets ({n_resamples} resamples, seed {seed}); "
                      f"column headers give T per part of speech.", "",
                      tabulate(table, headers=heads, tablefmt="github", disable_numparse=True), ""])


HEADER_KEYS = ("model", "corpus", "split", "selector", "randomized", "k", "proportion", "seed", "max_synonyms")


def score_json(s: LexsubScore, name: str, gold: str, cis: dict[str, dict[str, Interval]],
               left_out: dict[str, int] | None = None, n_resamples: int = 1000, seed: int = 0,
               header: dict[str, Any] | None = None) -> dict[str, Any]:
    """The figures, every target's columns and (``concept_header``) the blocks of the concept file's header that
    say what was scored: model, corpus, split, selector with its settings, the noise control's ``randomized``
    block (what ``concepts score-table`` labels a row with)."""
    out = {"concept_file": name, "gold": gold, "counts": dict(counts(s, left_out)),
           "measures": {p: {m: iv.as_dict() for m, iv in ms.items()} for p, ms in cis.items()},
           "bootstrap": {"unit": "target", "n_resamples": n_resamples, "seed": seed, "interval": "percentile 95%"},
           "instances": [{**asdict(r), "key": list(r.key)} for r in s.rows]}
    if header is not None:
        out["concept_header"] = {k: header[k] for k in HEADER_KEYS if k in header}
    return out
