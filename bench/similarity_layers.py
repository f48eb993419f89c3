"""Cost of ``--layers all`` against the final layer only, on the similarity tasks, measured in one run.

    python bench/similarity_layers.py [--model smollm2-135m] [--tasks men,wordsim353,simlex999,stsb]
                                      [--limit N] [--rounds 2] [--bos context]

Both sides are :func:`harness.runner.evaluate` on the same loaded model, tasks and options (result files
written to a temporary folder each time), one with ``--layers all`` (every hidden-state layer pooled from
the same forward pass, per-layer cosines stored), one without. Rounds alternate the sides so that load
from other processes hits both alike; the figure is the ratio of the summed wall times.
Target: all / final-only <= 1.15.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def run_once(lm, tasks: str, options) -> float:
    from harness.runner import evaluate

    start = time.perf_counter()
    evaluate(lm.info.spec, tasks, options, lm=lm)
    return time.perf_counter() - start


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tasks", default="men,wordsim353,simlex999,stsb")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bos", default="context")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from harness.lm.load import load_model
    from harness.task import EvalOptions

    lm = load_model(args.model, device="cpu", dtype="float32")
    times: dict[str, float] = {"final": 0.0, "all": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        def options(layers: str | None) -> EvalOptions:
            return EvalOptions(results_dir=Path(tmp) / (layers or "final"), limit=args.limit, bos=args.bos,
                               task_options={"layers": layers})

        run_once(lm, args.tasks, options(None))  # warm-up: data files parsed, allocator warm
        for r in range(args.rounds):
            for side in (("final", "all") if r % 2 == 0 else ("all", "final")):
                seconds = run_once(lm, args.tasks, options(None if side == "final" else "all"))
                times[side] += seconds
                print(f"round {r + 1}: {side:5s} {seconds:7.2f} s", flush=True)
    ratio = times["all"] / times["final"]
    print(f"\n{args.model}, tasks {args.tasks}, bos {args.bos}, {lm.num_layers + 1} layers, {args.rounds} round(s)")
    print(f"final layer only: {times['final']:.2f} s   --layers all: {times['all']:.2f} s   "
          f"ratio {ratio:.3f} (target <= 1.15)")


if __name__ == "__main__":
    main()
