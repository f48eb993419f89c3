"""``harness eval --model SPEC``: run tasks on one model and write one result file per task."""

from __future__ import annotations

from harness.commands.common import add_eval_args, add_model_args


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a model or adapter on the registered tasks")
    add_model_args(p)
    add_eval_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from harness.commands.common import eval_options
    from harness.runner import evaluate, print_summary

    summary = evaluate(args.model, args.tasks, eval_options(args), base=args.base, device=args.device, dtype=args.dtype)
    print_summary(summary)
    return 0
