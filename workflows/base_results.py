"""Which results of the base model a run still needs: those missing, or computed under other evaluation options
(``train-and-eval`` and ``sweep`` evaluate the base once, and every adapter compares against it)."""

from __future__ import annotations

from pathlib import Path

from harness.task import EvalOptions, Task


def missing_base_tasks(info, tasks: list[Task], options: EvalOptions) -> list[str]:
    """Tasks without a result of model ``info`` computed under the same evaluation options (results_dir aside)."""
    from harness.result_files import ResultError, load_result

    want = {k: v for k, v in options.recorded().items() if k != "results_dir"}
    missing = []
    for task in tasks:
        folder = Path(options.results_dir) / info.id
        files = sorted(folder.glob(f"{task.name}.json")) + sorted(folder.glob(f"{task.name}@*.json"))
        ok = bool(files)
        for f in files:
            try:
                have = {k: v for k, v in load_result(f, summary_only=True).record.options.items() if k != "results_dir"}
            except ResultError:
                have = None
            ok = ok and have == want
        if not ok:
            missing.append(task.name)
    return missing
