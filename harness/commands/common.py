"""Argument groups several subcommands share, so every command spells them the same way."""

from __future__ import annotations

import argparse


def add_model_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--model", required=required, default=None if required else "smollm2-135m",
                   help="model spec: smollm2-135m (embedded default), all-minilm-l6-v2, a model or adapter "
                        "folder, a sentence-transformers folder, or a hub id")
    p.add_argument("--base", help="base model for an adapter (overrides its adapter_config.json)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda, cuda:1, ...")
    p.add_argument("--dtype", default="auto", help="auto (bfloat16 on a GPU that has it, else float32), float32, bfloat16, float16")


def add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", default="all", help="comma-separated task names, or all (see harness list)")
    p.add_argument("--results-dir", default="results", help="where result files go (default: results/)")
    p.add_argument("--data-dir", help="benchmark folder laid out like shared/data (default: $HARNESS_DATA_DIR)")
    p.add_argument("--layer", type=int, default=-1, help="hidden-state layer to pool (default -1: final)")
    p.add_argument("--bos", choices=("native", "add", "context"), default="native",
                   help="BOS handling for tokenizers that add none: native (as the tokenizer does), "
                        "add (prepend and pool it), context (prepend, leave out of the pool)")
    p.add_argument("--split", choices=("test", "dev"), default="test", help="STS-B split (default: test)")
    p.add_argument("--limit", type=int, help="evaluate only the first N items of each task (for quick checks)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-batch-tokens", type=int, default=4096, help="padded tokens per forward batch")
    p.add_argument("--bootstrap-resamples", type=int, default=1000, help="paired bootstrap resamples against the base")
    add_bootstrap_unit_arg(p)
    for flag, kwargs in TASK_OPTIONS:
        p.add_argument(flag, **kwargs)


def eval_options(args: argparse.Namespace):
    from pathlib import Path

    from harness.errors import UserError
    from harness.runner import EvalOptions

    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    return EvalOptions(results_dir=Path(args.results_dir), data_dir=args.data_dir, layer=args.layer, bos=args.bos,
                       split=args.split, limit=args.limit, seed=args.seed, max_batch_tokens=args.max_batch_tokens,
                       n_resamples=args.bootstrap_resamples, bootstrap_unit=args.bootstrap_unit,
                       extra=task_extra_options(args))


def add_bootstrap_unit_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap-unit", choices=("sequence", "item"), default="sequence",
                   help="paired bootstrap resampling unit: sequence (default: each held-out sequence with all its "
                        "tokens; pairs and concepts are one item each) or item (single tokens)")


# Task-specific options: each entry is (flag, argparse kwargs); they land in EvalOptions.extra.
TASK_OPTIONS: list[tuple[str, dict]] = []
TASK_OPTIONS += [  # language-model tasks (tasks/lm.py)
    ("--corpus", {"help": "comma-separated corpora for content_word_ppl/global_ppl: wiki, lee, c4, openwebtext, or "
                          ".txt/.jsonl files (default: wiki,lee; train-and-eval and sweep: the training corpus, then "
                          "its out-of-domain partner: wiki -> lee, c4 <-> openwebtext, a file -> lee)"}),
    ("--heldout-size", {"type": int, "default": 1000, "help": "held-out sequences split off each corpus (default 1000)"}),
    ("--split-seed", {"type": int, "default": 0, "help": "seed of the document-level corpus split (default 0); the "
                                                         "run's --seed never moves held-out sets"}),
    ("--heldout-limit", {"type": int, "help": "evaluate only the first N held-out sequences of each corpus (LM and "
                                              "geometry tasks); the similarity benchmarks stay whole"}),
]
TASK_OPTIONS += [  # geometry tasks (tasks/geometry.py)
    ("--geometry-corpus", {"help": "corpus whose held-out split gives the geometry tasks' concept sets (default: "
                                   "wiki; train-and-eval and sweep: the training corpus)"}),
    ("--geometry-selector", {"help": "synonym selector of the geometry tasks' concept sets (default: wordnet; "
                                     "train-and-eval and sweep: the training selector)"}),
    ("--geometry-samples", {"type": int, "default": 1000, "help": "held-out sequences for clustering/centroid_similarity"}),
    ("--geometry-concepts", {"help": "a concept file to use instead of the cached held-out build (geometry tasks)"}),
]


def task_extra_options(args: argparse.Namespace) -> dict:
    return {flag.lstrip("-").replace("-", "_"): getattr(args, flag.lstrip("-").replace("-", "_"))
            for flag, _ in TASK_OPTIONS}
