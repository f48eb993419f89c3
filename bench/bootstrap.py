"""Speed of the paired bootstrap on LM-sized results, by sequence (cluster) and by token (item), in one run.

    python bench/bootstrap.py [--sequences 1000] [--tokens 100] [--resamples 1000] [--results A.json B.json]

By default two content-word results of ``sequences × tokens`` tokens (100,000) with per-sequence
effects, built in memory the way the runner writes them (ids ``"s:p"``, clusters, ``nll`` /
``correct`` / ``count`` columns, the LM tasks' aggregations); with ``--results A B``, two real
result files of one task. Prints the seconds of :func:`harness.bootstrap.paired_bootstrap` with each
unit (id pairing included), and, as the reference, the earlier way of bootstrapping tokens:
gather every drawn token and recompute each metric from the gathered columns, per resample.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path



def synthetic(sequences: int, tokens: int, seed: int = 0):
    import numpy as np

    from harness.results import ResultRecord

    rng = np.random.default_rng(seed)
    level = np.repeat(rng.normal(3.0, 1.0, sequences), tokens)
    nll_a = np.abs(level + rng.normal(0, 0.5, sequences * tokens))
    nll_b = nll_a + np.repeat(rng.normal(-0.02, 0.1, sequences), tokens)

    def record(nll):
        n = len(nll)
        return ResultRecord.from_dict({
                "schema_version": 1, "metrics": {}, "main_metric": "",
                "task": "content_word_ppl", "model": {"id": "synthetic", "name": "synthetic", "spec": "synthetic"},
                "items": {"ids": [f"{s}:{p}" for s in range(sequences) for p in range(tokens)],
                          "clusters": [s for s in range(sequences) for _ in range(tokens)],
                          "columns": {"nll": nll.tolist(), "correct": (rng.random(n) < 0.4).astype(float).tolist(),
                                      "count": [1.0] * n}},
                "aggregations": {"perplexity": {"fn": "exp_ratio", "columns": ["nll", "count"]},
                                 "nll": {"fn": "ratio", "columns": ["nll", "count"]},
                                 "accuracy": {"fn": "ratio", "columns": ["correct", "count"]}},
                "higher_is_better": {"perplexity": False, "nll": False, "accuracy": True}})

    return record(nll_a), record(nll_b)


def gather_every_token(rec_a, rec_b, n_resamples: int) -> None:
    """The reference: per resample, gather the drawn tokens and recompute each metric (no pre-aggregation)."""
    import numpy as np

    from harness.aggregate import aggregate

    cols = [{k: np.asarray(v, dtype=float) for k, v in r.items.columns.items()} for r in (rec_a, rec_b)]
    n = len(rec_a.items.ids)
    rng = np.random.default_rng(0)
    for _ in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        for agg in rec_b.aggregations.values():
            aggregate(agg.fn, cols[1], agg.columns, idx) - aggregate(agg.fn, cols[0], agg.columns, idx)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=100, help="tokens per sequence")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--results", nargs=2, metavar=("A", "B"), help="two real result files of one task")
    args = ap.parse_args()

    from harness.result_files import load_result
    from harness.bootstrap import paired_bootstrap

    if args.results:
        rec_a, rec_b = (load_result(Path(p)).record for p in args.results)
        what = f"{rec_a.key}: {args.results[0]} vs {args.results[1]}"
    else:
        rec_a, rec_b = synthetic(args.sequences, args.tokens)
        what = f"synthetic: {args.sequences} sequences × {args.tokens} tokens"
    n = len(rec_a.items.ids)
    print(f"{what}; {n} items, {args.resamples} resamples")
    seconds = {}
    for unit in ("sequence", "item"):
        comps = []
        seconds[unit] = timed(lambda: comps.extend(paired_bootstrap(rec_a, rec_b, args.resamples, unit=unit)))
        c = comps[0]
        print(f"  unit {unit:<8} {seconds[unit]:7.3f} s  ({c.n_units} units; {c.metric} Δ {c.diff:+.4f} "
              f"[{c.lower:+.4f}, {c.upper:+.4f}])")
    ref = timed(lambda: gather_every_token(rec_a, rec_b, args.resamples))
    print(f"  reference: gather every token per resample {ref:7.3f} s")
    print(f"  ratio reference / item unit {ref / seconds['item']:.1f}x, reference / sequence unit "
          f"{ref / seconds['sequence']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
