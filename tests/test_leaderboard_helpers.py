"""Helpers (no tests): hand-written result files for the leaderboard tests, independent of harness.results.

Each file follows the schema as documented (schema_version 1, task, variant, model block,
metrics, main_metric, higher_is_better, items, aggregations, protocol, comparison).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def model_block(mid: str, name: str, kind: str = "adapter", base: str = "tiny-base", training: dict | None = None,
                **extra) -> dict:
    block = {"id": mid, "name": name, "spec": name, "kind": kind, "base": base, "path": "",
             "adapter_path": f"runs/{name}" if kind == "adapter" else None,
             "adapter_hash": "ab" * 32 if kind == "adapter" else None,
             "base_id": "tiny-base-00000001" if kind == "adapter" else None, "training": training}
    block.update(extra)
    return block


def trained(method: str, lam: float, corpus: str = "wiki") -> dict:
    return {"method": method, "objective": method, "lambda": lam, "corpus": corpus, "selector": "wordnet",
            "base": "tiny-base"}


def write_file(root: Path, model: dict, task: str, value: float, variant: str = "", metric: str = "spearman",
               higher: bool = True, kind: str = "pair_similarity", significant: bool | None = None,
               items: dict | None = None, extra_metrics: dict | None = None) -> Path:
    record = {
        "schema_version": 1, "task": task, "variant": variant, "model": model,
        "metrics": {metric: value, **(extra_metrics or {})}, "main_metric": metric,
        "higher_is_better": {metric: higher},
        "items": items or {"ids": ["a", "b", "c"], "columns": {"x": [1.0, 2.0, 3.0], "y": [1.0, 3.0, 2.0]}},
        "aggregations": {metric: {"fn": "spearman", "columns": ["x", "y"]}},
        "protocol": {"kind": kind},
        "options": {"limit": 5, "seed": 0, "split": "test", "layer": -1, "bos": "native", "extra": {}},
    }
    if significant is not None:
        record["comparison"] = {"against": "tiny-base-00000001", "metrics": {
            metric: {"metric": metric, "a": 0.0, "b": value, "diff": 0.01, "lower": -0.01 if not significant else 0.005,
                     "upper": 0.02, "significant": significant}}}
    name = f"{task}@{variant}.json" if variant else f"{task}.json"
    path = root / model["id"] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    return path


def run_cli(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc
