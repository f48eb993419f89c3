#!/bin/bash
# The reproduction grid of docs/results/ (issue 26), every invocation resumable: a rerun skips finished points
# and an interrupted training continues from its last checkpoint (every 50 steps). Run it again after any stop.
#   GRID_DIR=grid bash scripts/reproduction_grid.sh        # then: bash scripts/publish_results.sh grid/results
# Size: 2,000 WordNet-annotated sequences of wiki's train part x 2 epochs in batches of 8 = 500 steps = 4,000
# sequence-updates per model (10x the cpu profile's 400); held-out: wiki's 1,000 sequences and lee's 324 (all it
# has); bf16 autocast and length-grouped batches (~0.40 s per sequence-update on 2 cores, docs/results/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
GRID_DIR=$(realpath -m "${GRID_DIR:-grid}")
HARNESS=${HARNESS:-.venv/bin/harness}
mkdir -p "$GRID_DIR"
sweep() {
  "$HARNESS" sweep --concept-sequences 2000 --epochs 2 --mixed-precision bf16 --batch-order by-length \
    --heldout-limit 1000 --layers all --no-activation-checkpointing --save-steps 50 --no-progress \
    --runs-dir "$GRID_DIR/runs" --results-dir "$GRID_DIR/results" --leaderboard "$GRID_DIR/leaderboard.md" "$@"
}
sweep --lambdas 0,0.25,0.5,0.75,1                                             # concept λ (λ = 0: NTP), seed 0
sweep --lambdas 0,0.25 --seeds 1,2                                            # training-seed spread
sweep --lambdas 0.5,1 --noise                                                 # the noise control
sweep --lambdas 0.5,1 --lambda-scope content                                  # the public code's λ scope
sweep --lambdas 0 --objective caft,synonym-augment,alternatives,weighted-ce   # related objectives, once each
"$HARNESS" eval --model all-minilm-l6-v2 --tasks men,wordsim353,simlex999,stsb --results-dir "$GRID_DIR/results"
