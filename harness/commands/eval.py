"""``harness eval --model SPEC``: run tasks on one model and write one result file per task.

``--lm-eval TASKS`` and ``--mteb TASKS`` add lm-evaluation-harness and MTEB tasks (:mod:`harness.interop`),
stored as result files like ours; with either, our own tasks run only when ``--tasks`` names them. The
model is loaded once for all of them.
"""

from __future__ import annotations

from harness.commands.common import add_eval_args, add_model_args


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a model or adapter on the registered tasks")
    add_model_args(p)
    add_eval_args(p)
    p.add_argument("--lm-eval", dest="lm_eval", metavar="TASKS",
                   help="comma-separated lm-evaluation-harness tasks (e.g. arc_easy,piqa), stored as lm_eval.<task>")
    p.add_argument("--lm-eval-include", dest="lm_eval_include", metavar="DIR",
                   help="a folder of lm-eval task YAMLs to add to lm-eval's own (lm_eval --include_path)")
    p.add_argument("--mteb", metavar="TASKS", help="comma-separated MTEB tasks (e.g. STSBenchmark), stored as mteb.<task>")
    p.set_defaults(func=run, tasks=None)


def run(args) -> int:
    from harness.commands.common import eval_options
    from harness.runner import evaluate, print_summary

    options = eval_options(args)
    if not (args.lm_eval or args.mteb):
        summary = evaluate(args.model, args.tasks or "all", options, base=args.base, device=args.device,
                           dtype=args.dtype)
        print_summary(summary)
        return 0
    from harness.interop.external import prepare, run_external
    from harness.lm.load import load_model
    from harness.models import describe_spec
    from harness.outputs import check_output_folder

    check_output_folder(options.results_dir, "--results-dir")
    info = describe_spec(args.model, args.base)
    prepared = prepare(info, args.lm_eval, args.mteb, args.lm_eval_include)
    lm = load_model(args.model, base=args.base, device=args.device, dtype=args.dtype, info=info)
    summary = run_external(lm, prepared, options)
    if args.tasks:
        ours = evaluate(args.model, args.tasks, options, lm=lm)
        summary.paths[:0], summary.records[:0] = ours.paths, ours.records
    print_summary(summary)
    return 0
