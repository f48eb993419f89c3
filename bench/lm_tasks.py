"""Throughput of the model interface's token scoring against a plain forward of the same tokens without padding.

    python bench/lm_tasks.py [--model smollm2-135m] [--corpus wiki] [--limit 24] [--rounds 2]
                             [--max-batch-tokens 4096]

All sides see the same held-out sequences (the first ``--limit`` of the corpus's held-out part) and so the
same tokens. The references run the model's plain forward (logits of every position, no attention mask,
no NLL) on those tokens without any padding, two ways: each sequence alone, and all tokens concatenated
and cut into equal rows of the mean sequence length (one dense batch: the padding-free ideal of
batching). The interface side is :meth:`harness.lm.interface.LanguageModel.token_scores` with the default
batching (``--max-batch-tokens``): padding, NLL and top-1 included. Also timed, for information: both LM
tasks through :func:`harness.runner.evaluate` (content-word cache warm). Rounds alternate the sides so that
load from other processes hits all alike. The target: interface / faster reference >= 0.8.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def plain_each(lm, rows: list[list[int]]) -> None:
    import torch

    with torch.inference_mode():
        for row in rows:
            lm.module(input_ids=torch.tensor([row]))


def plain_dense(lm, rows: list[list[int]]) -> None:
    import torch

    tokens = [t for row in rows for t in row]
    width = round(len(tokens) / len(rows))
    with torch.inference_mode():
        lm.module(input_ids=torch.tensor(tokens[: len(tokens) // width * width]).view(-1, width))


def padding_share(rows: list[list[int]], max_batch_tokens: int) -> float:
    from harness.lm.batching import length_batches

    lengths = [len(r) for r in rows]
    padded = sum(len(b) * lengths[b[0]] for b in length_batches(lengths, max_batch_tokens))
    return 1 - sum(lengths) / padded


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--corpus", default="wiki")
    ap.add_argument("--limit", type=int, default=24, help="held-out sequences")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--max-batch-tokens", type=int, default=4096)
    args = ap.parse_args()

    import torch

    from concepts.content_words import cached_content_words
    from harness.corpora import load_corpus
    from harness.lm.load import load_model
    from harness.runner import evaluate
    from harness.splits import split_corpus
    from harness.task import EvalOptions

    lm = load_model(args.model, device="cpu", dtype="float32")
    texts = split_corpus(load_corpus(args.corpus), heldout_size=1000).heldout[: args.limit]
    rows = [list(c.input_ids) for c in cached_content_words(texts, lm.tokenizer)]  # the tasks' rows; warms the cache
    n = sum(map(len, rows))
    print(f"model {lm.info.name}, corpus {args.corpus}: {len(rows)} sequences, {n} tokens (lengths "
          f"{min(map(len, rows))}-{max(map(len, rows))}), max {args.max_batch_tokens} padded tokens per batch "
          f"({padding_share(rows, args.max_batch_tokens):.1%} of them padding), torch threads "
          f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    sides = {"plain, each sequence alone": lambda: plain_each(lm, rows),
             "plain, one dense batch": lambda: plain_dense(lm, rows),
             "interface token_scores": lambda: lm.token_scores(rows, args.max_batch_tokens, progress=False)}
    seconds: dict[str, float] = {name: 0.0 for name in [*sides, "both LM tasks (evaluate)"]}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, run in sides.items():
                t0 = time.perf_counter()
                run()
                seconds[name] += time.perf_counter() - t0
            opts = EvalOptions(results_dir=Path(tmp) / f"round{r}", limit=args.limit,
                               max_batch_tokens=args.max_batch_tokens,
                               task_options={"corpus": args.corpus, "heldout_size": 1000})
            t0 = time.perf_counter()
            evaluate(args.model, "content_word_ppl,global_ppl", opts, lm=lm)
            seconds["both LM tasks (evaluate)"] += time.perf_counter() - t0
    rate = {name: args.rounds * n / s for name, s in seconds.items()}
    for name, r in rate.items():
        print(f"  {name:28s} {r:8.1f} tokens/s")
    best = max(rate["plain, each sequence alone"], rate["plain, one dense batch"])
    ratio = rate["interface token_scores"] / best
    print(f"interface / faster plain forward without padding: {ratio:.3f} (target >= 0.8: "
          f"{'met' if ratio >= 0.8 else 'NOT met'}); load average now {os.getloadavg()[0]:.2f}")
    return 0 if ratio >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
