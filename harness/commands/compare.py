"""``harness compare A B``: paired bootstrap of B − A per metric, from result files or folders.

A and B are two result files of the same task, or two model result folders
(``results/<model_id>``), whose files are paired by task and variant. Either may be a compact copy
(``harness results compact``): a full file compared with one is compacted in memory first.
"""

from __future__ import annotations


def add_parser(sub) -> None:
    from harness.config import AT_LEAST_1, SEED, Check, add_arguments, add_flag
    from harness.task import EvalOptions

    p = sub.add_parser("compare", help="paired bootstrap CIs of B − A from result files or folders")
    p.add_argument("a", help="result file or model result folder (the reference, e.g. the base model)")
    p.add_argument("b", help="result file or model result folder")
    add_flag(p, "--resamples", "resamples", 1000, "bootstrap resamples", check=AT_LEAST_1)
    add_flag(p, "--seed", "seed", 0, "seed of the resampling", check=SEED)
    add_flag(p, "--confidence", "confidence", 0.95, "confidence level of the intervals", check=Check(gt=0, lt=1))
    add_arguments(p, EvalOptions, only=("bootstrap_unit",))
    p.set_defaults(func=run)


def pair_results(a: str, b: str):
    from pathlib import Path

    from harness.errors import UserError
    from harness.result_files import ResultError, iter_result_files, load_result

    pa, pb = Path(a), Path(b)
    for p in (pa, pb):
        if not p.exists():
            raise UserError(f"{p} does not exist")
    if pa.resolve() == pb.resolve():
        raise UserError(f"A and B are both {pa}: compare two runs (e.g. the base model's results and an adapter's)")
    try:
        if pa.is_file() and pb.is_file():
            ra, rb = load_result(pa), load_result(pb)
            if ra.key != rb.key:
                raise UserError(f"{pa} is {ra.key} but {pb} is {rb.key}: compare results of one task")
            return [(ra, rb)]
        if pa.is_dir() and pb.is_dir():
            res_a = {r.key: r for r in map(load_result, iter_result_files(pa))}
            res_b = {r.key: r for r in map(load_result, iter_result_files(pb))}
            common = sorted(set(res_a) & set(res_b))
            if not common:
                raise UserError(f"{pa} and {pb} share no task")
            return [(res_a[k], res_b[k]) for k in common]
    except ResultError as exc:
        raise UserError(str(exc)) from None
    raise UserError("compare two files or two folders, not one of each")


def run(args) -> int:
    from harness.compaction import comparable
    from harness.runner import format_comparisons, side_labels
    from harness.bootstrap import paired_bootstrap

    groups = []
    pairs = pair_results(args.a, args.b)
    for ra, rb in pairs:
        comps = paired_bootstrap(ra.record, rb.record, n_resamples=args.resamples, seed=args.seed,
                                 confidence=args.confidence, unit=args.bootstrap_unit)
        groups.append((ra.key, comps))
        note_unpaired(ra.key, *comparable(ra.record, rb.record, args.bootstrap_unit), comps)
    units = sorted({c.unit for _, comps in groups for c in comps})
    print(f"B − A with {args.confidence:.0%} paired bootstrap CIs ({args.resamples} resamples of "
          f"{' / '.join(u + 's' for u in units)}, seed {args.seed}); * = interval contains 0 (not significant)")
    models = {(ra.record.model.id, rb.record.model.id) for ra, rb in pairs}
    labels = side_labels(pairs[0][0].record.model, pairs[0][1].record.model) if len(models) == 1 else ("A", "B")
    print(format_comparisons(groups, labels, args.confidence))
    return 0


def note_unpaired(key: str, a, b, comps) -> None:
    """Say on stderr what the comparison leaves out: items only one side holds (e.g. runs with different
    ``--limit``) and metrics undefined on the common items."""
    import sys

    ids_a, ids_b = set(a.items.ids), set(b.items.ids)
    shared = len(ids_a & ids_b)
    if shared < max(len(ids_a), len(ids_b)):
        print(f"harness: note: {key}: A holds {len(ids_a)} items and B {len(ids_b)}; only the {shared} they share "
              f"are compared (were they run with different --limit?)", file=sys.stderr)
    left_out = sorted(set(a.aggregations) & set(b.aggregations) - {c.metric for c in comps})
    if left_out:
        print(f"harness: note: {key}: {', '.join(left_out)} undefined on the common items; not compared",
              file=sys.stderr)
