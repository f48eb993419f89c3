"""``harness leaderboard add --model SPEC``: evaluate a model on the leaderboard's tasks and add it.

The model is evaluated on the tasks of the board's base rows (those it can run), with the options each
group of them was run with (:func:`leaderboard.store.leaderboard_tasks`), so its numbers sit in the same
columns; or on ``--tasks`` with default options. It is loaded once for every group. Its result files
carry the labels in their model block from the start (``role`` "external" unless it is one of the board's
base models, and a ``display_name``): nothing is rewritten after the evaluation.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.models import ModelInfo
from harness.task import EvalOptions


def board_options(recorded: dict[str, Any], results_dir: Path, limit: int | None) -> EvalOptions:
    """The evaluation options the board's rows recorded (their results folder aside), ``limit`` if given."""
    known = {f.name for f in fields(EvalOptions)} - {"results_dir"}
    options = EvalOptions(results_dir=Path(results_dir), **{k: v for k, v in recorded.items() if k in known})
    if limit is not None:
        options.limit = limit
    return options


def fitting_tasks(names: list[str], info: ModelInfo) -> list[str]:
    """The names among ``names`` that model ``info`` can run (encoders: no next-token tasks)."""
    from harness.runner import select_tasks

    fit = []
    for name in names:
        try:
            select_tasks(name, info)
        except UserError:
            continue
        fit.append(name)
    return fit


def add_model(spec: str, results_dir: Path, name: str | None = None, tasks: str | None = None,
              limit: int | None = None, base: str | None = None, device: str = "auto", dtype: str = "auto") -> list[Path]:
    """Evaluate ``spec`` on the leaderboard's tasks (or ``tasks``) into ``results_dir``, labelled.

    Not under the results lock while evaluating (minutes); the runner writes each file atomically
    and moves an earlier result of the same model to history/."""
    from harness.lm.load import load_model
    from harness.models import describe_spec
    from harness.runner import evaluate, print_summary
    from leaderboard.store import EXTERNAL_ROLE, base_model_ids, leaderboard_tasks

    results_dir = Path(results_dir)
    info = describe_spec(spec, base)
    if tasks:
        plan = [({}, [t.strip() for t in tasks.split(",") if t.strip()])]
    else:
        plan = leaderboard_tasks(results_dir) if results_dir.is_dir() else []
        if not plan:
            raise UserError(f"no base model results in {results_dir} to take the tasks from: "
                            f"run harness eval on a base model first, or pass --tasks")
        plan = [(opts, fitting_tasks(names, info)) for opts, names in plan]
        plan = [(opts, names) for opts, names in plan if names]
        if not plan:
            raise UserError(f"{info.name} ({info.kind}) can run none of the leaderboard's tasks")
    bases = base_model_ids(results_dir) if results_dir.is_dir() else set()
    labels = {"role": EXTERNAL_ROLE} if info.id not in bases or info.kind != "causal_lm" else {}
    if name is not None:
        labels["display_name"] = name
    lm = load_model(spec, base=base, device=device, dtype=dtype, info=info)
    paths: list[Path] = []
    for recorded, names in plan:
        summary = evaluate(spec, ",".join(names), board_options(recorded, results_dir, limit), lm=lm, labels=labels)
        print_summary(summary)
        paths += summary.paths
    return paths
