"""``harness lm-eval-path``: the folder of our tasks as lm-eval tasks, for ``lm_eval --include_path``.

The folder ships in the package (``tasks/lm_eval_tasks``: YAML files and the ``utils.py`` they name); it is
found by module name, without importing the task plugins.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = "lm_eval_tasks"


def add_parser(sub) -> None:
    p = sub.add_parser("lm-eval-path", help="print the folder of harness tasks for lm_eval --include_path")
    p.set_defaults(func=run)


def task_folder() -> Path:
    import importlib.util

    from harness.errors import UserError

    spec = importlib.util.find_spec("tasks")
    folder = Path(next(iter(spec.submodule_search_locations))) / FOLDER if spec and spec.submodule_search_locations \
        else None
    if folder is None or not folder.is_dir():
        raise UserError("the harness lm-eval task folder is missing (reinstall concept-harness)")
    return folder


def run(args) -> int:
    print(task_folder())
    return 0
