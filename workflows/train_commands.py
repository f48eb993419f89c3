"""``harness train`` (concept file -> LoRA adapter) and ``harness train-and-eval`` (all of it, on defaults).

Both commands' flags come from their configs (:class:`trainers.recipe.TrainConfig`,
:class:`workflows.train_and_eval.TrainAndEval`, :mod:`harness.config`). Every hyperparameter defaults to
the chosen profile (``--profile cpu``, the default, or ``paper``; see :mod:`trainers.profiles`) and can be
overridden by its flag.
"""

from __future__ import annotations

import argparse

from harness.commands.common import add_eval_args
from harness.config import add_arguments, add_flag


def add_parser(sub) -> None:
    from trainers.recipe import TrainConfig
    from workflows.train_and_eval import TrainAndEval

    p = sub.add_parser("train", help="post-train a LoRA adapter with a named objective on a concept file")
    add_arguments(p, TrainConfig, required=("concepts", "out", "lam"))
    p.set_defaults(func=run_train)

    q = sub.add_parser("train-and-eval", help="build concepts, train, evaluate adapter and base, compare (defaults)")
    add_arguments(q, TrainAndEval, exclude=("resume",))  # train-and-eval always resumes its own run
    add_eval_args(q)
    add_flag(q, "--dry-run", "dry_run", False, "print the judge, the sample rule and every training setting with "
                                               "its source (paper, public code, ours); load and build nothing")
    q.set_defaults(func=run_train_and_eval)


def run_train(args: argparse.Namespace) -> int:
    from harness.config import from_args
    from trainers.recipe import TrainConfig, train
    from trainers.run_folder import is_main_process

    result = train(from_args(TrainConfig, args))
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
    from harness.config import from_args
    from workflows.train_and_eval import TrainAndEval, train_and_eval

    cfg = from_args(TrainAndEval, args, exclude=("resume",), options=eval_options(args))
    if args.dry_run:
        import sys

        from workflows.plan import print_plan

        print_plan(cfg, sys.stdout)
        return 0
    train_and_eval(cfg)
    return 0
