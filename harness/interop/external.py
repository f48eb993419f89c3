"""lm-eval and MTEB tasks on one model spec, written as harness result files beside our own tasks.

Same order of work as :func:`harness.runner.evaluate`: the external tasks and their data are loaded before
the model (an unknown task or missing data costs nothing and writes nothing), the model is loaded once (or
given), each task's output goes through the runner's :func:`~harness.runner.build_record` (declared
metrics, per-item columns, provenance) and, for a model with a base, :func:`~harness.runner.attach_comparison`
(the paired bootstrap against the base's result of the same task), then is written atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel
    from harness.models import ModelInfo
    from harness.runner import RunSummary
    from harness.task import EvalOptions


@dataclass
class ExternalTasks:
    """What ``--lm-eval`` and ``--mteb`` name, loaded with their data (:func:`prepare`)."""

    lm_eval: Any = None
    mteb: list[Any] = field(default_factory=list)


def split_names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def prepare(info: "ModelInfo", lm_eval: str | None, mteb: str | None, include: str | None = None) -> ExternalTasks:
    """Load the named tasks and their data; lm-eval tasks need a causal LM (an encoder has no token scores)."""
    prepared = ExternalTasks()
    if split_names(lm_eval):
        if info.kind == "encoder":
            raise UserError(f"--lm-eval needs a causal LM; {info.name} is a sentence encoder")
        _require("lm_eval", "lm-eval")
        from harness.interop.lm_eval_run import load_tasks

        prepared.lm_eval = load_tasks(split_names(lm_eval), include)
    if split_names(mteb):
        _require("mteb", "mteb")
        from harness.interop.mteb_run import load_tasks as load_mteb

        prepared.mteb = load_mteb(split_names(mteb))
    return prepared


def _require(module: str, package: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UserError(f"{package} is not installed: pip install 'concept-harness[interop]'")


def run_external(lm: "LanguageModel", prepared: ExternalTasks, options: "EvalOptions",
                 labels: dict[str, str] | None = None) -> "RunSummary":
    """Run the prepared tasks on ``lm`` and write one result file per task."""
    from harness.result_files import result_path, write_result
    from harness.runner import RunSummary, attach_comparison, build_record

    outputs, walls = [], []
    if prepared.lm_eval is not None:
        from harness.interop.lm_eval_run import run_tasks

        start = time.perf_counter()
        done = run_tasks(lm, prepared.lm_eval, options)
        outputs += done
        walls += [(time.perf_counter() - start) / max(len(done), 1)] * len(done)
    if prepared.mteb:
        from harness.interop.mteb_run import run_task

        for task in prepared.mteb:
            start = time.perf_counter()
            outputs.append(run_task(lm, task, options))
            walls.append(time.perf_counter() - start)
    paths, records = [], []
    for (task, out), wall in zip(outputs, walls):
        record = build_record(task, out, lm, options, wall, labels)
        attach_comparison(record, options)
        paths.append(write_result(result_path(options.results_dir, lm.info.id, task.name, out.variant), record))
        records.append(record)
    return RunSummary(lm.info, paths, records)
