"""``harness doctor``: a table of every asset the main job and the tasks read (:mod:`harness.assets`).

Exit status 2 when an asset that ``harness train-and-eval`` needs is missing, so
``scripts/setup.sh`` fails with the table; 0 otherwise.
"""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="check the models, data, corpora, tagger, WordNet and disk the harness needs")
    p.set_defaults(func=run)


def run(args) -> int:
    from tabulate import tabulate

    from harness.assets import check_all

    checks = check_all()
    rows = [[c.asset, "main job" if c.main_job else "tests/other", c.status, c.where, c.fix] for c in checks]
    print(tabulate(rows, headers=["asset", "needed by", "status", "where", "fix"]))
    blocking = [c.asset for c in checks if c.blocks_main_job]
    if blocking:
        print(f"harness: error: the main job cannot run, missing: {', '.join(blocking)} (see the fix column)",
              file=sys.stderr)
        return 2
    return 0
