#!/bin/bash
# The concept-set study of issue 27 (docs/results/concept-sets/): every selector's sets on the contexts of two human
# golds, CoInCo test and SemEval-2007 test, scored against their substitutes; the candidate pool's ceiling; then one
# table, one CSV and one plot (harness concepts score-table) in OUT_DIR.
#   bash scripts/concept_set_scores.sh OUT_DIR [--llm-limit N]     # docs/results/concept-sets as OUT_DIR
# Per gold (sets for the gold's marked heads only: --heads-only; the other words of a context are never scored):
# builds with wordnet, wordnet --hypernyms, embedding contextual and static, the llm judge on the first N
# sequences of the (shuffled) held-out part (--llm-limit, default 300), the gold selector (CoInCo only: the human
# sets through the candidate rules), the noise control (concepts randomize of the wordnet file, seed 0); each file
# scored (concepts score --json, 1000 resamples, seed 0); pool-recall at k = 10, 50, 200.
# Resumable: a step whose output exists is skipped (a build whose header lacks build_stats, i.e. one that was
# interrupted, is continued with --resume). Intermediate files (concept files, score and pool reports, build logs
# with each build's wall time) go to OUT_DIR/work (WORK_DIR); the table step always rewrites OUT_DIR/scores.*.
# Environment: HARNESS_DATA_DIR (the folder holding lexsub/, see shared/data/MANIFEST.md), HARNESS (the harness
# command, default .venv/bin/harness), MODEL (the base model, default smollm2-135m), JUDGE (the llm selector's
# judge, default the harness's), DEVICE (default auto), COINCO_HELDOUT / SEMEVAL_HELDOUT (held-out sizes that hold
# every context: 900 > CoInCo test's 892 sentences, 1710 = SemEval-2007 test's contexts).
set -euo pipefail
usage() { echo "usage: $0 OUT_DIR [--llm-limit N]" >&2; exit 2; }
[[ $# -ge 1 && $1 != -* ]] || usage
OUT_DIR=$1; shift
LLM_LIMIT=300
while [[ $# -gt 0 ]]; do
  case $1 in
    --llm-limit) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; LLM_LIMIT=$2; shift 2 ;;
    *) usage ;;
  esac
done
: "${HARNESS_DATA_DIR:?set HARNESS_DATA_DIR to the folder holding lexsub/ (see shared/data/MANIFEST.md)}"
mkdir -p "$OUT_DIR"
OUT_DIR=$(realpath "$OUT_DIR")
HARNESS_DATA_DIR=$(realpath "$HARNESS_DATA_DIR")
export HARNESS_DATA_DIR
WORK=$(realpath -m "${WORK_DIR:-$OUT_DIR/work}")
cd "$(dirname "$0")/.."
read -r -a HARNESS <<< "${HARNESS:-.venv/bin/harness}"
MODEL=${MODEL:-smollm2-135m}
DEVICE=${DEVICE:-auto}
SEMEVAL=$HARNESS_DATA_DIR/lexsub/semeval2007
mkdir -p "$WORK"

complete() { [[ -f $1 ]] && head -n 1 "$1" | grep -q '"build_stats"'; }

build() {  # build NAME CORPUS HELDOUT_SIZE FLAGS...: WORK/NAME.jsonl, its summary in WORK/NAME.log
  local name=$1 corpus=$2 size=$3; shift 3
  local out=$WORK/$name.jsonl resume=()
  if complete "$out"; then echo "skip: $out"; return; fi
  [[ -f $out ]] && resume=(--resume)
  "${HARNESS[@]}" concepts build --model "$MODEL" --corpus "$corpus" --split heldout --heldout-size "$size" \
    --heads-only --out "$out" --device "$DEVICE" "${resume[@]}" "$@" | tee "$WORK/$name.log"
}

score() {  # score NAME GOLD [--contexts XML]: WORK/NAME.score.json and .md
  local name=$1 gold=$2; shift 2
  if [[ -f $WORK/$name.score.json ]]; then echo "skip: $WORK/$name.score.json"; return; fi
  "${HARNESS[@]}" concepts score "$WORK/$name.jsonl" --gold "$gold" "$@" --resamples 1000 --seed 0 \
    --out "$WORK/$name.score.md" --json "$WORK/$name.score.json" --overwrite > /dev/null
  echo "wrote $WORK/$name.score.json"
}

pool() {  # pool NAME GOLD [--contexts XML]: WORK/NAME.json and .md
  local name=$1 gold=$2; shift 2
  if [[ -f $WORK/$name.json ]]; then echo "skip: $WORK/$name.json"; return; fi
  "${HARNESS[@]}" concepts pool-recall --gold "$gold" "$@" --model "$MODEL" --k 10,50,200 --device "$DEVICE" \
    --out "$WORK/$name.md" --json "$WORK/$name.json" --overwrite > /dev/null
  echo "wrote $WORK/$name.json"
}

judge=()
[[ -n ${JUDGE:-} ]] && judge=(--judge "$JUDGE")
SCORES=()
study() {  # study PREFIX CORPUS HELDOUT_SIZE GOLD [--contexts XML]: every selector on one gold's contexts
  local p=$1 corpus=$2 size=$3 gold=$4; shift 4
  build "$p-wordnet" "$corpus" "$size" --selector wordnet
  build "$p-wordnet-hypernyms" "$corpus" "$size" --selector wordnet --hypernyms
  build "$p-embedding-contextual" "$corpus" "$size" --selector embedding --embedding-mode contextual
  build "$p-embedding-static" "$corpus" "$size" --selector embedding --embedding-mode static
  build "$p-llm" "$corpus" "$size" --selector llm --limit "$LLM_LIMIT" "${judge[@]}"
  local names=(wordnet wordnet-hypernyms embedding-contextual embedding-static llm)
  if [[ $p == coinco ]]; then
    build "$p-gold" "$corpus" "$size" --selector gold
    names+=(gold)
  fi
  if [[ -f $WORK/$p-noise.jsonl ]]; then echo "skip: $WORK/$p-noise.jsonl"
  else "${HARNESS[@]}" concepts randomize "$WORK/$p-wordnet.jsonl" "$WORK/$p-noise.jsonl" --seed 0; fi
  names+=(noise)
  for n in "${names[@]}"; do
    score "$p-$n" "$gold" "$@"
    SCORES+=("$WORK/$p-$n.score.json")
  done
  pool "$p-pool" "$gold" "$@"
}

study coinco coinco-test "${COINCO_HELDOUT:-900}" coinco-test
study semeval "$SEMEVAL/lexsub_test.xml" "${SEMEVAL_HELDOUT:-1710}" "$SEMEVAL/gold.test" --contexts "$SEMEVAL/lexsub_test.xml"
"${HARNESS[@]}" concepts score-table "${SCORES[@]}" --pool "$WORK/coinco-pool.json" --pool "$WORK/semeval-pool.json" \
  --out "$OUT_DIR" --overwrite
