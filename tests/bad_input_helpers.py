"""Helpers (no tests) of the catalogue of bad inputs (``test_bad_inputs.py``, ``test_bad_inputs_more.py``).

A prepared folder ``w`` (a namespace: ``root``, ``model``, ``concepts``, ...) holds what the cases point at;
:func:`assert_refused` runs one case through the CLI in process and checks the catalogue's rule: exit status
2, one line on stderr after any notes or progress, no traceback, every file under ``w.root`` unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable


def evaluate(w, *more: str) -> list[str]:
    return ["eval", "--model", w.model, "--tasks", "men", "--limit", "5", "--device", "cpu",
            "--results-dir", str(w.root / "new-results"), *more]


def train(w, *more: str, concepts: str | None = None) -> list[str]:
    return ["train", "--model", w.model, "--concepts", concepts or w.concepts, "--lambda", "0.5",
            "--out", str(w.root / "run"), "--max-steps", "1", "--batch-size", "2", "--no-progress", "--device",
            "cpu", *more]


def build(w, *more: str) -> list[str]:
    return ["leaderboard", "build", w.results, "--no-plots", *more]


def edited_concepts(src: Path, dst: Path, edit: Callable[[dict], None], line: int = 1) -> Path:
    """A copy of concept file ``src`` whose sequence record on line ``line + 1`` went through ``edit``."""
    lines = src.read_text().splitlines()
    record = json.loads(lines[line])
    edit(record)
    dst.write_text("\n".join([*lines[:line], json.dumps(record), *lines[line + 1:]]) + "\n")
    return dst


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) below ``root``, but lock files."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
            if not p.name.endswith(".lock")}  # lock files are kept by design


def run_case(argv: list[str], capsys) -> tuple[int, str]:
    from harness.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refused a flag or value
        code = exc.code
    return code, capsys.readouterr().err


def assert_refused(argv: list[str], words: str, root: Path, capsys) -> None:
    """The catalogue's rule for one case (module docstring); ``words``: what the one line must hold."""
    before = snapshot(root)
    code, err = run_case(argv, capsys)
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and err.rstrip("\n").endswith(errors[0]), err  # one line, last (after any progress)
    assert words in errors[0], err
    assert snapshot(root) == before
