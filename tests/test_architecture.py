"""The layers, checked by import-linter (contracts in pyproject.toml): they hold in this tree, and a
copy of the tree with a deliberate violation fails them."""

from __future__ import annotations

import json
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
    assert "5 kept, 0 broken" in proc.stdout


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
    assert "4 kept, 1 broken" in proc.stdout


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


# ------------------------------------------------------------------ no import cycle, anywhere

CYCLE_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_architecture import import_cycles
print(json.dumps(import_cycles(sys.argv[2:])))
"""


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of a directed graph, iteratively (no recursion limit); only the
    components of two or more nodes, or of one node importing itself: each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))
    return found


def import_cycles(packages) -> list[list[str]]:
    """The import cycles among the modules of ``packages``, as grimp sees the imports (those inside functions and
    under ``TYPE_CHECKING`` included)."""
    import grimp

    graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
    return strongly_connected({m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules})


def test_strongly_connected_finds_what_a_hand_drawn_graph_holds():
    """a -> b -> c -> a is one cycle, d -> d another; e -> a and the chain f -> g are in none."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}, "f": {"g"}, "g": set()}
    assert sorted(strongly_connected(edges)) == [["a", "b", "c"], ["d"]]


def cycles_in(cwd: Path) -> list[list[str]]:
    env = dict(os.environ, PYTHONPATH=str(cwd))
    proc = subprocess.run([sys.executable, "-c", CYCLE_SCRIPT, str(Path(__file__).parent), *PACKAGES], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_no_import_cycle_anywhere():
    assert cycles_in(ROOT) == []


def test_a_deliberate_cycle_is_found(tmp_path):
    """A copy of the tree where the model specs import the loader back (the cycle this layout removed)."""
    with_violation(tmp_path, "harness/models.py", "import harness.lm.load")
    cycles = cycles_in(tmp_path)
    assert len(cycles) == 1 and {"harness.lm.load", "harness.models"} <= set(cycles[0]), cycles


def test_the_engine_importing_upwards_breaks_its_layers(tmp_path):
    proc = with_violation(tmp_path, "harness/results.py", "from harness.runner import seed_everything")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the engine's layers" in proc.stdout and "harness.results -> harness.runner" in proc.stdout


def test_every_engine_module_has_a_layer():
    """The engine's layers contract names every module and subpackage directly under ``harness/``, so that no new
    module escapes it."""
    import pkgutil
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    engine = next(c for c in config["tool"]["importlinter"]["contracts"] if c.get("containers") == ["harness"])
    named = {m.strip() for layer in engine["layers"] for m in layer.replace("|", ":").split(":")}
    assert named == {info.name for info in pkgutil.iter_modules([str(ROOT / "harness")])}
