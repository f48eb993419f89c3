"""``harness results compact SRC --out DST``: compact copies of a results folder, small enough to commit, on
which ``harness compare`` and the leaderboard still work (:mod:`harness.compact_folder`)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("results", help="work on results folders: compact copies to commit")
    rsub = p.add_subparsers(dest="results_command", metavar="ACTION")
    c = rsub.add_parser("compact", help="copy a results folder with per-sequence items (LM tasks) and ranked "
                                        "per-layer cosines: same metrics, same default bootstrap, a fraction of the size")
    c.add_argument("src", help="results folder (results/<model-id>/<task>[@variant].json), never written to")
    c.add_argument("--out", required=True, help="folder for the compact copies (same layout; not inside SRC)")
    c.set_defaults(func=run_compact)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_compact(args) -> int:
    from harness.compact_folder import compact_folder

    copies = compact_folder(args.src, args.out)
    for c in copies:
        print(f"{c.target}: {_size(c.source_bytes)} -> {_size(c.target_bytes)}{'' if c.written else ' (unchanged)'}")
    before, after = sum(c.source_bytes for c in copies), sum(c.target_bytes for c in copies)
    print(f"{len(copies)} result files: {_size(before)} -> {_size(after)} in {args.out}")
    return 0


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"
