"""The layers, checked by import-linter (contracts in pyproject.toml): they hold in this tree, and a
copy of the tree with a deliberate violation fails them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "concepts", "tasks", "trainers", "leaderboard", "workflows")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` as CI runs it, with the packages found first in ``cwd``."""
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_contracts_hold():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 kept, 0 broken" in proc.stdout


def with_violation(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess:
    """``lint-imports`` on a copy of the tree whose ``module`` (a path under the root) ends with ``line``."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / module, "a") as f:
        f.write(f"\n{line}  # noqa: E402,F401  (the violation)\n")
    return lint_imports(tmp_path)


def test_a_task_importing_a_trainer_breaks_the_layers(tmp_path):
    proc = with_violation(tmp_path, "tasks/pairs.py", "from trainers.objectives import OBJECTIVES")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "layers: workflows above tasks" in proc.stdout and "BROKEN" in proc.stdout
    assert "tasks.pairs -> trainers.objectives" in proc.stdout
    assert "3 kept, 1 broken" in proc.stdout


def test_the_engine_importing_a_workflow_breaks_the_layers(tmp_path):
    proc = with_violation(tmp_path, "harness/runner.py", "import workflows.sweep")
    assert proc.returncode == 1 and "harness.runner -> workflows.sweep" in proc.stdout


def test_the_leaderboard_reaching_torch_through_the_engine_is_forbidden(tmp_path):
    """Indirect imports count: the leaderboard importing an engine module that imports torch."""
    proc = with_violation(tmp_path, "leaderboard/reader.py", "from harness.runner import seed_everything")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the leaderboard reads result files only" in proc.stdout and "leaderboard.reader -> harness.runner" in proc.stdout


def test_a_task_importing_lm_eval_outside_the_bridges_is_forbidden(tmp_path):
    proc = with_violation(tmp_path, "tasks/lm.py", "import lm_eval")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "reached through the bridges only" in proc.stdout and "tasks.lm -> lm_eval" in proc.stdout
