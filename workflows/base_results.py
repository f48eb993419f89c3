"""Which results of the base model a run still needs: those missing, or computed under other evaluation options
or under an older embedding protocol (``train-and-eval`` and ``sweep`` evaluate the base once, and every adapter
compares against it)."""

from __future__ import annotations

from pathlib import Path

from harness.task import EvalOptions, Task


def missing_base_tasks(info, tasks: list[Task], options: EvalOptions) -> list[str]:
    """Tasks without a result of model ``info`` computed under the same evaluation options (results_dir aside) and
    the current embedding protocol (:func:`harness.pairing.measured_by_older_protocol`)."""
    from harness.pairing import measured_by_older_protocol
    from harness.result_files import ResultError, load_result

    want = {k: v for k, v in options.recorded().items() if k != "results_dir"}
    missing = []
    for task in tasks:
        folder = Path(options.results_dir) / info.id
        files = sorted(folder.glob(f"{task.name}.json")) + sorted(folder.glob(f"{task.name}@*.json"))
        ok = bool(files)
        for f in files:
            try:
                stored = load_result(f, summary_only=True).record
            except ResultError:
                ok = False
                continue
            have = {k: v for k, v in stored.options.items() if k != "results_dir"}
            ok = ok and have == want and not measured_by_older_protocol(stored)
        if not ok:
            missing.append(task.name)
    return missing
