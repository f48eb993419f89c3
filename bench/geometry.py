"""Benchmark: the geometry tasks on the embedded default over the held-out concept sets.

Prints, from one run: the time to resolve the held-out concept sets (a build on the first run,
a cache hit afterwards), the time of both tasks on ``--samples`` held-out sequences, their
figures, and the speed-up of sharing each prefix's KV cache among its variants over running every variant
with its own prefix, on a subset.

    python bench/geometry.py [--samples 1000] [--compare 40] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def unshared_seconds(lm, concepts) -> float:
    """Every variant ``prefix + [t]`` run in full, right-padded in length batches (nothing shared: the baseline).
    Not through ``hidden_at``, which runs a prefix once for all its continuations and nested prefixes once."""
    import torch

    from harness.lm.batching import length_batches

    start = time.perf_counter()
    variants = [ids for c in concepts for ids in c.variant_ids()]
    with torch.inference_mode():
        for batch in length_batches([len(v) for v in variants], lm.max_batch_tokens):
            lm._forward([variants[i] for i in batch])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--compare", type=int, default=40, help="concepts for the shared vs unshared prefix comparison")
    args = parser.parse_args()

    import torch

    from harness.lm.load import load_model
    from harness.models import describe_spec
    from harness.runner import evaluate
    from harness.task import EvalContext, EvalOptions
    from tasks.geometry_data import inputs_of, prepare
    from tasks.geometry import variant_hidden_states

    torch.set_num_threads(max(torch.get_num_threads(), 1))
    with tempfile.TemporaryDirectory() as tmp:
        options = EvalOptions(results_dir=Path(tmp), task_options={"geometry_samples": args.samples}, n_resamples=200)
        lm = load_model(args.model, device="cpu", dtype="float32")
        ctx = EvalContext(options, describe_spec(args.model), lambda: lm)
        t0 = time.perf_counter()
        inputs = inputs_of(ctx, prepare(ctx))
        t_sets = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = evaluate(args.model, "clustering,centroid_similarity", options, lm=lm)
        t_tasks = time.perf_counter() - t0
    variants = sum(len(c.members) for c in inputs.concepts)
    prefix_tokens = sum(len(c.prefix) for c in inputs.concepts)
    print(f"model {args.model}; concept file {inputs.path} (sha256 {inputs.sha256[:12]})")
    print(f"held-out concept sets resolved in {t_sets:.1f} s (build on first run, cache afterwards)")
    print(f"{len(inputs.concepts)} concepts, {variants} variants, mean |T*| {variants / len(inputs.concepts):.2f}, "
          f"mean prefix {prefix_tokens / len(inputs.concepts):.1f} tokens")
    print(f"both tasks: {t_tasks:.1f} s (hidden states computed once, shared)")
    for r in summary.records:
        print(f"  {r.task}: " + ", ".join(f"{k}={v:.4f}" for k, v in r.metrics.items()))

    subset = inputs.concepts[: args.compare]
    t0 = time.perf_counter()
    variant_hidden_states(lm, subset, progress=False)
    t_cached = time.perf_counter() - t0
    t_full = unshared_seconds(lm, subset)
    print(f"shared prefix vs a prefix per variant on {len(subset)} concepts: {t_cached:.2f} s vs {t_full:.2f} s "
          f"({t_full / t_cached:.2f}x)")


if __name__ == "__main__":
    main()
