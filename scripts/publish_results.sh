#!/bin/bash
# Publish a grid's results into docs/results/: compact copies of its result files (per-sequence sums for the
# LM tasks, ranks for the per-layer cosines: harness results compact) and the leaderboard rebuilt from those
# copies alone, so that `harness leaderboard build` regenerates the committed markdown byte for byte
# (tests/test_published_results.py) and `harness compare` works on the committed files.
#   bash scripts/publish_results.sh /work/grid/results
# Also docs/results/token-bootstrap/: the same paper tables with intervals over single tokens (--bootstrap-unit item).
set -euo pipefail
SRC=${1:?usage: publish_results.sh RESULTS_DIR, the --results-dir of the grid}
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-.venv/bin/harness}
# the paper's token-level intervals (its appendix C) need the full files: built here, before compaction, and kept
# beside the sequence-level board (it cannot be rebuilt from the compact copies)
"$HARNESS" leaderboard build "$SRC" --bootstrap-unit item --no-plots --out docs/results/token-bootstrap/leaderboard.md
"$HARNESS" results compact "$SRC" --out docs/results/results
"$HARNESS" leaderboard build docs/results/results --out docs/results/leaderboard.md
du -sh docs/results
