"""``harness train`` (concept file -> LoRA adapter) and ``harness train-and-eval`` (all of it, on defaults).

Every hyperparameter defaults to the chosen profile (``--profile cpu``, the default, or ``paper``;
see :mod:`trainers.profiles`) and can be overridden by its flag.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands.common import add_eval_args

# flag -> (Hyper field, type, help); the default of each is the profile's value
HYPER_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--lr", "lr", float, "learning rate"),
    ("--epochs", "epochs", float, "training epochs (ignored when --max-steps > 0)"),
    ("--max-steps", "max_steps", int, "optimizer steps (0 = as many as --epochs make)"),
    ("--batch-size", "batch_size", int, "sequences per device per micro-batch"),
    ("--grad-accum", "grad_accum", int, "micro-batches per optimizer step"),
    ("--max-length", "max_length", int, "tokens per sequence (longer sequences are cut)"),
    ("--max-synonyms", "max_synonyms", int, "concept set = original token + at most this many synonyms"),
    ("--val-fraction", "val_fraction", float, "share of sequences held out for the validation loss"),
    ("--early-stopping-patience", "early_stopping_patience", int, "evaluations without improvement (0 = off)"),
    ("--save-steps", "save_steps", int, "checkpoint every N steps (0 = every epoch)"),
    ("--lora-r", "lora_r", int, "LoRA rank"),
    ("--lora-alpha", "lora_alpha", int, "LoRA alpha"),
    ("--lora-dropout", "lora_dropout", float, "LoRA dropout"),
    ("--target-modules", "target_modules", str, "comma-separated module names for LoRA (default q,k,v,o projections)"),
    ("--warmup-ratio", "warmup_ratio", float, "share of steps with a linear learning-rate warm-up"),
    ("--weight-decay", "weight_decay", float, "AdamW weight decay"),
)


def add_objective_args(p: argparse.ArgumentParser, lam_default: float | None) -> None:
    p.add_argument("--lambda", dest="lam", type=float, required=lam_default is None, default=lam_default,
                   help="concept-loss weight λ in [0, 1] (0 = pure NTP)")
    p.add_argument("--objective", default="concept", help="training objective (see harness list): ntp, concept, ...")
    p.add_argument("--lambda-scope", choices=("all", "content"), default="all",
                   help="all: L = (1−λ)·NTP + λ·concept (the paper's equation); content: (1−λ) scales NTP only at "
                        "content-word positions (the paper's public code)")
    p.add_argument("--mass-threshold", type=float, default=0.6,
                   help="concept loss is 0 for a target once its set holds this much probability (default 0.6)")
    p.add_argument("--profile", choices=("cpu", "paper"), default="cpu",
                   help="hyperparameter profile: cpu (default, minutes on a laptop CPU) or paper (appendix B)")
    for flag, _, typ, help_ in HYPER_FLAGS:
        p.add_argument(flag, type=typ, default=None, help=f"{help_} (default: the profile's)")
    p.add_argument("--report-to", default="none", help="transformers logging integrations: none, tensorboard, wandb, ...")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="post-train a LoRA adapter with a named objective on a concept file")
    p.add_argument("--model", default="smollm2-135m", help="base model spec (default: the embedded smollm2-135m)")
    p.add_argument("--concepts", required=True, help="concept file (harness concepts build)")
    p.add_argument("--out", required=True, help="output folder: becomes the adapter folder (checkpoints inside)")
    add_objective_args(p, lam_default=None)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    p.add_argument("--dtype", default="auto", help="auto (bfloat16 on a GPU that has it, else float32), float32, ...")
    p.set_defaults(func=run_train)

    q = sub.add_parser("train-and-eval", help="build concepts, train, evaluate adapter and base, compare (defaults)")
    q.add_argument("--model", default="smollm2-135m", help="base model spec (default: the embedded smollm2-135m)")
    q.add_argument("--no-leaderboard", action="store_true", help="do not rebuild leaderboard.md afterwards")
    q.add_argument("--train-corpus", default=None,
                   help="corpus whose train split becomes the concept file (default: the concept builder's default); "
                        "--corpus names the evaluation corpora")
    q.add_argument("--selector", default=None, help="synonym selector (default: the profile's: wordnet on cpu, llm for paper)")
    q.add_argument("--concepts", default=None, help="use this concept file instead of building one")
    q.add_argument("--concept-sequences", type=int, default=None,
                   help="sequences in the concept file to build (default: the profile's; 0 = the whole split)")
    q.add_argument("--noise", action="store_true",
                   help="train on the randomised concept file instead (the noise control; method noise)")
    q.add_argument("--out", default=None, help="adapter folder (default: runs/<model>-<method>-lam<λ>-...)")
    add_objective_args(q, lam_default=0.25)
    q.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    q.add_argument("--dtype", default="auto", help="auto (bfloat16 on a GPU that has it, else float32), float32, ...")
    add_eval_args(q)
    q.set_defaults(func=run_train_and_eval)


def hyper_overrides(args: argparse.Namespace) -> dict:
    return {field: getattr(args, flag.lstrip("-").replace("-", "_")) for flag, field, _, _ in HYPER_FLAGS}


def run_train(args: argparse.Namespace) -> int:
    from trainers.recipe import TrainConfig, is_main_process, train

    result = train(TrainConfig(model=args.model, concepts=Path(args.concepts), out=Path(args.out), lam=args.lam,
                               objective=args.objective, lambda_scope=args.lambda_scope,
                               mass_threshold=args.mass_threshold, profile=args.profile,
                               overrides=hyper_overrides(args), seed=args.seed, resume=args.resume,
                               device=args.device, dtype=args.dtype, report_to=args.report_to,
                               progress=not args.no_progress))
    if not is_main_process():
        return 0  # one report per distributed run
    rec = result.record
    loss = f", train loss {rec['train_loss']:.4f}" if rec.get("train_loss") is not None else ""
    print(f"{'already holds' if result.reused else 'wrote'} adapter {result.adapter} "
          f"(method {rec['method']}, λ={rec['lambda']}, {rec['steps']} steps{loss})")
    print(f"evaluate it with: harness eval --model {result.adapter}")
    return 0


def run_train_and_eval(args: argparse.Namespace) -> int:
    from harness.commands.common import eval_options
    from trainers.pipeline import TrainAndEval, train_and_eval

    options = eval_options(args)  # the profile's --heldout-limit applies unless one is given
    train_and_eval(TrainAndEval(
        model=args.model, lam=args.lam, objective=args.objective, lambda_scope=args.lambda_scope,
        mass_threshold=args.mass_threshold, profile=args.profile, overrides=hyper_overrides(args),
        corpus=args.train_corpus, selector=args.selector, concepts=Path(args.concepts) if args.concepts else None, randomize=args.noise,
        concept_sequences=args.concept_sequences, out=Path(args.out) if args.out else None, tasks=args.tasks,
        options=options, limit=args.limit, seed=args.seed, resume=True, device=args.device, dtype=args.dtype,
        report_to=args.report_to, progress=not args.no_progress, leaderboard=not args.no_leaderboard))
    return 0
