"""Throughput of content_word_ppl + global_ppl against a bare batched forward loop, in one run.

    python bench/lm_tasks.py [--model smollm2-135m] [--corpus wiki] [--limit 24] [--rounds 2]

Both sides see the same held-out sequences, the same tokens and the same length-sorted batches
(``--max-batch-tokens``). The bare loop only calls ``model(input_ids, attention_mask)``; the task
side runs :func:`harness.runner.evaluate` for both tasks (spaCy tagging, the shared pass, NLL and
top-1, items, result files). Rounds alternate bare/tasks so that load from other processes hits
both alike. The content-word cache starts empty (a temporary ``HARNESS_CACHE``), so round 1
includes spaCy tagging (the first model evaluated on a held-out set) and later rounds reuse it
(every further model). The ratio tasks/bare, cold and warm, must be >= 0.8. One-off costs
(loading the model, spaCy and the corpus) are done before timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path



def bare_loop(lm, rows: list[list[int]], max_batch_tokens: int) -> None:
    import torch

    from harness.embedding import length_batches
    from tasks.lm import pad_batch

    with torch.inference_mode():
        for batch in length_batches([len(r) for r in rows], max_batch_tokens):
            ids, attn = pad_batch([rows[i] for i in batch], lm.tokenizer.pad_token_id)
            lm.model(input_ids=ids.to(lm.device), attention_mask=attn.to(lm.device))


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

    from harness.concepts.content_words import load_spacy
    from harness.corpora import load_corpus
    from harness.splits import split_corpus
    from harness.models import load_model
    from harness.runner import evaluate

    from harness.task import EvalOptions

    lm = load_model(args.model, device="cpu", dtype="float32")
    texts = split_corpus(load_corpus(args.corpus), heldout_size=1000).heldout[: args.limit]
    load_spacy()
    rows = [list(r) for r in lm.tokenizer(texts)["input_ids"]]
    n_tokens = sum(map(len, rows))
    print(f"model {lm.info.name}, corpus {args.corpus}: {len(texts)} sequences, {n_tokens} tokens, "
          f"max {args.max_batch_tokens} padded tokens per batch, torch threads {__import__('torch').get_num_threads()}")
    bare_s, task_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HARNESS_CACHE"] = str(Path(tmp) / "cache")  # cold content-word cache for round 1
        for r in range(args.rounds):
            t0 = time.perf_counter()
            bare_loop(lm, rows, args.max_batch_tokens)
            t1 = time.perf_counter()
            opts = EvalOptions(results_dir=Path(tmp) / f"round{r}", limit=args.limit, max_batch_tokens=args.max_batch_tokens,
                               task_options={"corpus": args.corpus, "heldout_size": 1000})
            evaluate(args.model, "content_word_ppl,global_ppl", opts, lm=lm)
            t2 = time.perf_counter()
            bare_s.append(t1 - t0)
            task_s.append(t2 - t1)
            print(f"round {r + 1} ({'cold' if r == 0 else 'warm'} content-word cache): bare {n_tokens / (t1 - t0):.1f} "
                  f"tok/s, tasks {n_tokens / (t2 - t1):.1f} tok/s, ratio {(t1 - t0) / (t2 - t1):.3f}")
    ok = True
    for label, rounds in (("cold", slice(0, 1)), ("warm", slice(1, None))):
        if not bare_s[rounds]:
            continue
        ratio = sum(bare_s[rounds]) / sum(task_s[rounds])
        ok &= ratio >= 0.8
        print(f"{label}: bare forward loop {len(bare_s[rounds]) * n_tokens / sum(bare_s[rounds]):.1f} tokens/s, "
              f"content_word_ppl + global_ppl {len(task_s[rounds]) * n_tokens / sum(task_s[rounds]):.1f} tokens/s, "
              f"ratio {ratio:.3f} (target >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
