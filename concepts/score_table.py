"""Several concept files' scores side by side (``harness concepts score-table``): ``scores.md`` and ``scores.csv``.

The inputs are what ``harness concepts score --json`` and ``harness concepts pool-recall --json`` wrote; nothing is
recomputed but what those files leave implicit. One *entry* per score file: its gold, its concept file, a label
for the selector with its settings (:func:`selector_label`, from the concept file's header as the score JSON
records it under ``concept_header``, else from the concept file beside the JSON), its counts, and each measure
with its 95% bootstrap interval, overall (``all``) and per WordNet POS letter (``n``, ``v``, ``a``, ``r``).
Per POS, T (gold targets with substitutes) and M (matched to a target) are counted from the file's
``instances`` rows. The measures are defined in :mod:`concepts.lexsub_score`; the intervals in
:mod:`concepts.lexsub_ci`.

A pool file gives the candidate pool's ceiling per k (:mod:`concepts.pool_recall`): recall@k and any@k are
recomputed from its per-target rows with :class:`~concepts.pool_recall.PoolRecall` (the same code as the
report), so a file written before ``any@k`` was reported still gives it.

Rows keep the order of the command line, golds the order of their first file: the same inputs give the same
bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concepts.lexsub_ci import POS_NAMES, Interval
from concepts.lexsub_report import format_interval
from concepts.pool_recall import PoolRecall, PoolRow
from harness.errors import UserError

TABLE_MEASURES = (("coverage", "coverage"), ("mean_set_size", "mean set size"), ("precision", "precision"),
                  ("recall", "recall"), ("f1", "F1"), ("best_precision", "best P"), ("best_recall", "best R"),
                  ("oot_precision", "oot P"), ("oot_recall", "oot R"))
POS_MEASURES = (("precision", "precision"), ("recall", "recall"), ("f1", "F1"))
POS_PARTS = {"n": "NOUN", "v": "VERB", "a": "ADJ"}  # content words: the only parts a target can have
GOLD_TITLES = {"coinco": "CoInCo (all)", "coinco-dev": "CoInCo dev", "coinco-test": "CoInCo test",
               "gold.test": "SemEval-2007 test", "gold.trial": "SemEval-2007 trial"}
CSV_FIELDS = ("gold", "concept_file", "label", "pos", "measure", "value", "lo", "hi")
MARKER = "# Concept sets against human substitutes"


@dataclass
class ScoreEntry:
    """One ``concepts score --json`` file."""

    path: Path
    gold: str
    concept_file: str
    label: str
    counts: dict[str, int]
    measures: dict[str, dict[str, Interval]]  # part ("all", "n", ...) -> measure -> interval
    targets: dict[str, tuple[int, int]] = field(default_factory=dict)  # part -> (T, M)
    bootstrap: dict[str, Any] = field(default_factory=dict)


@dataclass
class PoolEntry:
    """One ``concepts pool-recall --json`` file."""

    path: Path
    gold: str
    model: str
    result: PoolRecall


def gold_title(gold: str) -> str:
    """``coinco-test`` -> ``CoInCo test``, a SemEval-2007 ``gold.test`` path -> ``SemEval-2007 test``; else the name."""
    name = Path(gold).name
    return GOLD_TITLES.get(gold) or GOLD_TITLES.get(name) or ("CoInCo" if name.startswith("coinco") else gold)


def gold_name(gold: str) -> str:
    """The gold as the outputs show it: a name as given (``coinco-test``), a path by its file name (``gold.test``), so
    that a committed table names no folder of the machine that made it."""
    return Path(gold).name


def selector_label(header: dict[str, Any], fallback: str) -> str:
    """The selector with the settings that tell builds apart: ``wordnet``, ``wordnet +hypernyms``, ``embedding
    contextual``, ``embedding static``, ``llm (judge X)``, ``gold``; a noise control (a ``randomized`` block) is
    ``noise (from <its source's label>)``, as randomize keeps the source's selector block. ``fallback`` (the
    file name) when the header names no selector."""
    block = header.get("selector")
    name = block.get("name") if isinstance(block, dict) else block
    settings = (block.get("settings") if isinstance(block, dict) else None) or {}
    if not isinstance(name, str) or not name:
        return fallback
    if name == "wordnet":
        label = "wordnet +hypernyms" if settings.get("hypernyms") else "wordnet"
    elif name == "embedding":
        label = f"embedding {settings['mode']}" if settings.get("mode") else "embedding"
    elif name == "llm":
        label = f"llm (judge {settings['judge']})" if settings.get("judge") else "llm"
    else:
        label = name
    return f"noise (from {label})" if header.get("randomized") else label


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{what} {path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{what} {path}: not a JSON object")
    return data


def _header_of(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The concept file's header as the score JSON records it, else the first line of the concept file of that name
    beside the JSON (score files written before the header was recorded), else nothing."""
    if isinstance(data.get("concept_header"), dict):
        return data["concept_header"]
    beside = path.parent / str(data.get("concept_file", ""))
    if data.get("concept_file") and beside.is_file():
        from concepts.concept_file import read_header

        try:
            return read_header(beside).raw
        except UserError:
            return {}
    return {}


def _interval(d: Any) -> Interval:
    def num(x: Any) -> float:
        return float("nan") if x is None else float(x)

    return Interval(num(d.get("value")), num(d.get("low")), num(d.get("high")))


def load_score(path: Path | str) -> ScoreEntry:
    """One score JSON (module docstring); a file of another shape is a one-line user error."""
    path = Path(path)
    data = _read_json(path, "score file")
    if not isinstance(data.get("measures"), dict) or "all" not in data["measures"] or "gold" not in data:
        raise UserError(f"score file {path}: not written by harness concepts score --json (no gold or measures)")
    name = str(data.get("concept_file") or path.stem)
    measures = {part: {m: _interval(iv) for m, iv in ms.items()} for part, ms in data["measures"].items()}
    targets: dict[str, tuple[int, int]] = {}
    for row in data.get("instances") or []:
        for part in ("all", row.get("pos") or ""):
            t, m = targets.get(part, (0, 0))
            targets[part] = (t + 1, m + int(row.get("matched", 0)))
    return ScoreEntry(path=path, gold=str(data["gold"]), concept_file=name, label=selector_label(_header_of(data, path),
                      name), counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()}, measures=measures,
                      targets=targets, bootstrap=data.get("bootstrap") or {})


def load_pool(path: Path | str) -> PoolEntry:
    """One pool-recall JSON: its per-target rows back into a :class:`PoolRecall`."""
    path = Path(path)
    data = _read_json(path, "pool file")
    if not isinstance(data.get("targets"), list) or not isinstance(data.get("k"), list) or "gold" not in data:
        raise UserError(f"pool file {path}: not written by harness concepts pool-recall --json (no gold, k or targets)")
    ks = [int(k) for k in data["k"]]
    rows = [PoolRow(key=tuple(r["key"]), pos=r["pos"], gold=int(r["gold"]),
                    **{c: {int(k): int(v) for k, v in r[c].items()} for c in ("hits", "token_hits", "pool")})
            for r in data["targets"]]
    return PoolEntry(path=path, gold=str(data["gold"]), model=str(data.get("model", "")),
                     result=PoolRecall(ks=ks, rows=rows))


def by_gold(scores: list[ScoreEntry], pools: list[PoolEntry]) -> list[tuple[str, list[ScoreEntry], list[PoolEntry]]]:
    """``(gold, its score entries, its pool entries)`` in the order golds first appear (scores, then pools)."""
    golds = list(dict.fromkeys([s.gold for s in scores] + [p.gold for p in pools]))
    return [(g, [s for s in scores if s.gold == g], [p for p in pools if p.gold == g]) for g in golds]


def _number(x: float) -> str:
    return "–" if x != x else f"{x:.3f}"


def _github(rows: list[list[str]], heads: list[str]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=heads, tablefmt="github", disable_numparse=True)


def _missing() -> Interval:
    return Interval(float("nan"), float("nan"), float("nan"))


def gold_section(gold: str, scores: list[ScoreEntry], pools: list[PoolEntry]) -> str:
    """One gold: the main table, the by-POS table, the pool ceiling (each only when it has rows)."""
    parts = [f"## {gold_title(gold)}", "", f"Gold: `{gold_name(gold)}`.", ""]
    if scores:
        t = sorted({s.targets.get("all", (0, 0))[0] or s.counts.get("gold instances with substitutes (T)", 0)
                    for s in scores})
        parts += [f"T = {', '.join(map(str, t))} gold targets with substitutes; M = targets scored (matched to a "
                  f"target of the concept file).", ""]
        rows = [[s.label, f"`{s.concept_file}`", str(s.counts.get("matched to a target (M)", "–")),
                 *[format_interval(s.measures["all"].get(m, _missing())) for m, _ in TABLE_MEASURES]] for s in scores]
        parts += [_github(rows, ["selector", "concept file", "M", *[h for _, h in TABLE_MEASURES]]), ""]
        pos_rows = [[s.label, f"{POS_PARTS[p]}", *map(str, s.targets.get(p, (0, 0))),
                     *[format_interval(s.measures[p].get(m, _missing())) for m, _ in POS_MEASURES]]
                    for s in scores for p in POS_PARTS if p in s.measures]
        if pos_rows:
            parts += ["### By part of speech", "",
                      _github(pos_rows, ["selector", "POS", "T", "M", *[h for _, h in POS_MEASURES]]), ""]
    if pools:
        rows = [[p.model, str(k), _number(p.result.mean_pool(k)), _number(p.result.recall(k)),
                 _number(p.result.recall(k, token=True)), _number(p.result.any_hit(k))]
                for p in pools for k in p.result.ks]
        located = ", ".join(f"{len(p.result.rows)} ({p.model})" for p in pools)
        parts += ["### Candidate pool ceiling", "",
                  f"Targets located: {located}. recall@k: share of single-word substitutes among the top-k "
                  f"candidates after the candidate rules (lemma match; token: the substitute's own token); any@k: "
                  f"share of targets with at least one.", "",
                  _github(rows, ["model", "k", "mean pool size", "recall@k", "recall@k (token)", "any@k"]), ""]
    return "\n".join(parts)


def scores_markdown(scores: list[ScoreEntry], pools: list[PoolEntry]) -> str:
    """``scores.md``: a note on the intervals, then one section per gold (:func:`gold_section`)."""
    boots = list(dict.fromkeys(f"{b.get('n_resamples', '?')} resamples, seed {b.get('seed', '?')}"
                               for b in (s.bootstrap for s in scores)))
    head = [MARKER, "", "Each cell: value [95% interval], a percentile bootstrap over gold targets "
            f"({'; '.join(boots) or 'no score files'}). Measures: `concepts/lexsub_score.py`; pool: "
            "`concepts/pool_recall.py`.", ""]
    return "\n".join(head + [gold_section(g, s, p) for g, s, p in by_gold(scores, pools)]).rstrip() + "\n"


def scores_csv(scores: list[ScoreEntry], pools: list[PoolEntry]) -> str:
    """``scores.csv``: one row per (gold, concept file, part, measure) with value, lo, hi (empty where none: the
    counts ``targets`` = T and ``matched`` = M of each part, the pool's figures, whose ``concept_file`` is the pool
    file and ``pos`` ``all``). ``pos`` is ``all`` or a part's name (noun, verb, adjective, adverb)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)

    def num(x: float) -> str:
        return "" if x != x else repr(float(x))

    for s in scores:
        for part, ms in s.measures.items():
            pos = "all" if part == "all" else POS_NAMES.get(part, part)
            t, m = s.targets.get(part, (None, None))
            for name, value in (("targets", t), ("matched", m)):
                if value is not None:
                    w.writerow([gold_name(s.gold), s.concept_file, s.label, pos, name, value, "", ""])
            for name, iv in ms.items():
                w.writerow([gold_name(s.gold), s.concept_file, s.label, pos, name, num(iv.value), num(iv.low),
                            num(iv.high)])
    for p in pools:
        label = f"candidate pool ({p.model})"
        for k in p.result.ks:
            for name, value in ((f"pool_recall@{k}", p.result.recall(k)),
                                (f"pool_token_recall@{k}", p.result.recall(k, token=True)),
                                (f"pool_any@{k}", p.result.any_hit(k)), (f"pool_mean_size@{k}", p.result.mean_pool(k))):
                w.writerow([gold_name(p.gold), p.path.name, label, "all", name, num(value), "", ""])
    return out.getvalue()
