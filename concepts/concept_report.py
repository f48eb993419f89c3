"""Markdown and PNG of ``harness concepts stats`` (the figures: :mod:`concepts.concept_figures`).

Markdown tables are GitHub's (tabulate ``github``); no cell holds a ``|``. The PNG (a bare matplotlib ``Figure``,
rendered by Agg) is written under a temporary name and renamed; an existing file is replaced only with
``--overwrite`` (the command checks both outputs before any work).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from concepts.concept_figures import FileStats, PairStats
from harness.atomic import atomic_path
from harness.errors import UserError


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.1%}"


def _num(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.2f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=list(headers), tablefmt="github", disable_numparse=True)


def file_section(s: FileStats) -> str:
    """One file: summary, set-size histogram, POS breakdown, frequent sets, mass."""
    lines = [f"## {s.name}", "",
             f"selector {s.selector or '?'}, model {s.model or '?'}" + (" (noise control)" if s.noise else ""), ""]
    summary = [["sequences", str(s.sequences)], ["content words (targets)", str(s.targets)],
               ["non-empty sets (≥ 1 synonym)", f"{s.non_empty} ({_pct(s.non_empty_share)})"],
               ["mean set size (T* with the original)", _num(s.mean_size)]]
    if s.mass is not None:
        m = s.mass
        summary += [[f"set mass p(T*) ≥ {m.threshold:g} under {m.model}", f"{m.at_threshold} ({_pct(m.share)})"],
                    [f"original token alone ≥ {m.threshold:g}", f"{m.original_at_threshold} ({_pct(m.original_share)})"],
                    ["mean p(T*) / mean p(original)", f"{m.mean_mass:.3f} / {m.mean_original:.3f}"]]
    lines += [_table(["figure", "value"], summary), ""]
    lines += ["set size (T* with the original token in a built file):", "",
              _table(["set size", "targets", "share"],
                     [[str(k), str(v), _pct(v / s.targets)] for k, v in s.size_hist.items()]), ""]
    lines += [_table(["POS", "targets", "non-empty", "mean set size"],
                     [[p.pos, str(p.targets), _pct(p.non_empty_share), _num(p.mean_size)] for p in s.pos]), ""]
    if s.top_sets:
        lines += ["most frequent non-empty sets:", "",
                  _table(["word", "synonyms", "count"], [[w, ", ".join(syn), str(n)] for w, syn, n in s.top_sets]), ""]
    return "\n".join(lines)


def pair_section(p: PairStats, a: FileStats, b: FileStats) -> str:
    """Two files: matched targets and the Jaccard agreement of their synonym sets."""
    rows = [["targets", str(a.targets), str(b.targets)],
            ["matched targets (text, position, token)", str(p.matched), str(p.matched)],
            ["unmatched targets", str(p.only_a), str(p.only_b)],
            ["non-empty share, all targets", _pct(a.non_empty_share), _pct(b.non_empty_share)],
            ["non-empty share, matched targets", _pct(p.non_empty_a / p.matched if p.matched else math.nan),
             _pct(p.non_empty_b / p.matched if p.matched else math.nan)]]
    agree = [["mean Jaccard, all matched targets (J(∅,∅) = 1)", _num(p.jaccard_all)],
             [f"mean Jaccard, matched targets where either set is non-empty ({p.either_non_empty})",
              _num(p.jaccard_non_empty)],
             ["both sets empty", str(p.both_empty)],
             ["identical synonym sets (empty ones included)", str(p.identical)]]
    per_pos = [[pos, str(n), _num(s / n), str(ne), _num(se / ne if ne else math.nan)]
               for pos, (n, s, ne, se) in p.per_pos.items()]
    return "\n".join([f"## {a.name} vs {b.name}", "", "Synonym sets exclude the original token.", "",
                      _table(["", a.name, b.name], rows), "", _table(["agreement", "value"], agree), "",
                      _table(["POS", "matched", "mean Jaccard (J(∅,∅) = 1)", "either non-empty",
                              "mean Jaccard there"], per_pos), ""])


def markdown(stats: Sequence[FileStats], pair: PairStats | None = None) -> str:
    parts = ["# Concept file statistics", ""] + [file_section(s) for s in stats]
    if pair is not None:
        parts.append(pair_section(pair, stats[0], stats[1]))
    return "\n".join(parts).rstrip() + "\n"


def plot(stats: Sequence[FileStats], path: Path) -> None:
    """One row per file: its set-size histogram and its POS breakdown (targets, non-empty share)."""
    from matplotlib.figure import Figure  # a bare Figure renders with Agg; no pyplot state
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 3.2 * len(stats)), dpi=100)
    axes = fig.subplots(len(stats), 2, squeeze=False)
    for row, s in zip(axes, stats):
        sizes = list(s.size_hist)
        row[0].bar(sizes, [s.size_hist[k] for k in sizes], color="#1f77b4")
        row[0].set_xticks(sizes)
        row[0].set_xlabel("set size |T*|")
        row[0].set_ylabel("targets")
        row[0].set_title(f"{s.name}: {s.targets} targets, {s.non_empty_share:.0%} non-empty", fontsize=9)
        names = [p.pos for p in s.pos]
        row[1].bar(names, [p.targets for p in s.pos], color="#ff7f0e", label="targets")
        row[1].bar(names, [p.non_empty for p in s.pos], color="#2ca02c", label="non-empty")
        for k, p in enumerate(s.pos):
            row[1].annotate(f"{p.non_empty_share:.0%} non-empty\nmean |T*| {p.mean_size:.1f}", (k, p.targets), ha="center",
                            va="bottom", fontsize=7)
        row[1].set_ylabel("targets")
        row[1].set_title(f"{s.name}: by POS", fontsize=9)
        row[1].legend(fontsize=7, frameon=False, loc="upper right")
        row[1].margins(x=0.1, y=0.3)
        for ax in row:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", metadata={"Software": None})
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror or exc})") from None
