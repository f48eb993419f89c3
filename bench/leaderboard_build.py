"""Benchmark: ``harness leaderboard build`` on 1,000 realistic result files (target: under 2 s).

Generates a sweep-shaped results folder in a temporary directory: several base models,
each with its base row, NTP and concept/noise runs at λ ∈ {0.25, 0.5, 0.75, 1} on two
corpora, plus external encoders; every model has the four similarity tasks with their real
item counts (MEN 3,000, WordSim353 353, SimLex-999 999, STS-B 1,379 pairs) and per-document
LM results (1,000 documents) for two corpora, with per-item columns, aggregations and a
stored comparison against the base, as the runner writes them. Then it times the CLI
(a fresh process, as a user runs it) with and without plots, and prints the figures.

    python bench/leaderboard_build.py [--files 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.result_files import write_result
from harness.results import ResultRecord

SIMILARITY = {"men": 3000, "wordsim353": 353, "simlex999": 999, "stsb": 1379}
LM_TASKS = ("content_word_ppl", "global_ppl")
CORPORA = ("wiki", "lee")
LAMBDAS = (0.25, 0.5, 0.75, 1.0)
N_DOCS = 1000


def _model(base: str, method: str | None, lam: float | None, corpus: str | None, k: int) -> dict:
    base_id = f"{base}-{k:08x}"
    if method is None:
        return {"id": base_id, "name": base, "spec": base, "kind": "causal_lm", "base": base, "path": "",
                "adapter_path": None, "adapter_hash": None, "base_id": None, "training": None}
    name = f"{base}-{method}-l{lam:g}-{corpus}"
    return {"id": f"{name}-{k:08x}", "name": name, "spec": f"runs/{name}", "kind": "adapter", "base": base,
            "path": "", "adapter_path": f"runs/{name}", "adapter_hash": f"{k:064x}", "base_id": base_id,
            "training": {"method": method, "objective": method, "lambda": lam, "corpus": corpus,
                         "selector": "wordnet", "base": base}}


def _shift(method: str | None, lam: float | None) -> float:
    """The paper's shape: concept helps with λ, noise hurts, NTP does nothing."""
    if method == "concept":
        return 0.08 * lam
    if method == "noise":
        return -0.25 * lam**2
    return 0.0


def _similarity_record(task: str, n: int, quality: float, rng) -> dict:
    from scipy.stats import spearmanr

    human = rng.uniform(0, 10, n).round(2)
    cosine = quality * human / 10 + rng.normal(0, 0.3, n)
    rho = float(spearmanr(human, cosine).statistic)
    return {"task": task, "variant": "", "metrics": {"spearman": rho}, "main_metric": "spearman",
            "higher_is_better": {"spearman": True},
            "items": {"ids": [f"{i}:w{i}|v{i}" for i in range(n)], "columns": {"human": human.tolist(), "cosine": cosine.tolist()}},
            "aggregations": {"spearman": {"fn": "spearman", "columns": ["human", "cosine"]}},
            "protocol": {"kind": "pair_similarity", "layer": -1, "bos": "native", "pooling": "mean"}}


def _lm_record(task: str, corpus: str, log_ppl: float, rng) -> dict:
    tokens = rng.integers(20, 400, N_DOCS)
    nll = tokens * (log_ppl + rng.normal(0, 0.3, N_DOCS))
    correct = np.floor(tokens * np.clip(0.6 - log_ppl / 10 + rng.normal(0, 0.05, N_DOCS), 0, 1))
    ppl, acc = math.exp(nll.sum() / tokens.sum()), float(correct.sum() / tokens.sum())
    return {"task": task, "variant": corpus, "metrics": {"ppl": ppl, "accuracy": acc}, "main_metric": "ppl",
            "higher_is_better": {"ppl": False, "accuracy": True},
            "items": {"ids": [f"doc{i}" for i in range(N_DOCS)],
                      "columns": {"nll_sum": nll.round(4).tolist(), "tokens": tokens.tolist(), "correct": correct.tolist()}},
            "aggregations": {"ppl": {"fn": "exp_ratio", "columns": ["nll_sum", "tokens"]},
                             "accuracy": {"fn": "ratio", "columns": ["correct", "tokens"]}},
            "protocol": {"kind": "language_modeling", "corpus": corpus}}


def _finish(record: dict, model: dict, base_values: dict, rng) -> dict:
    record.update({"schema_version": 1, "model": model, "seed": 0,
                   "options": {"limit": None, "seed": 0, "split": "test", "layer": -1, "bos": "native", "extra": {}},
                   "versions": {"concept-harness": "0.1.0"}, "wall_time_s": 1.0, "created": "2026-01-01T00:00:00Z"})
    key = (record["task"], record["variant"])
    if model["base_id"] is None:
        base_values[(model["base"], *key)] = record["metrics"]
    elif (model["base"], *key) in base_values:
        a = base_values[(model["base"], *key)]
        comps = {}
        for m, b in record["metrics"].items():
            diff = b - a[m]
            half = abs(diff) * rng.uniform(0.3, 1.6)  # some intervals contain 0, most do not
            comps[m] = {"metric": m, "a": a[m], "b": b, "diff": diff, "lower": diff - half, "upper": diff + half,
                        "significant": bool(half < abs(diff)), "n_resamples": 1000, "seed": 0}
        record["comparison"] = {"against": model["base_id"], "metrics": comps}
    return record


def generate(root: Path, n_files: int, seed: int = 0) -> int:
    """Write about ``n_files`` result files (whole models: 8 files each) under ``root``."""
    rng = np.random.default_rng(seed)
    runs = [(None, None, None)] + [(m, lam, c) for c in CORPORA for m, lams in (("ntp", (0.0,)), ("concept", LAMBDAS), ("noise", LAMBDAS)) for lam in lams]
    written, k, base_values = 0, 0, {}
    b = 0
    while written < n_files:
        base = f"base-model-{b}"
        quality = rng.uniform(0.4, 1.2)
        for method, lam, corpus in runs:
            if written >= n_files:
                break
            k += 1
            model = _model(base, method, lam, corpus, k if method else b)
            q = max(quality * (1 + 2 * _shift(method, lam)), 0.01)
            records = [_similarity_record(t, n, q, rng) for t, n in SIMILARITY.items()]
            records += [_lm_record(t, c, 3.2 - _shift(method, lam) * (8 if t == "content_word_ppl" else 2) + (0.4 if corpus and c != corpus else 0.0 if corpus else 0.2), rng)
                        for t in LM_TASKS for c in CORPORA]
            for rec in records:
                rec = _finish(rec, model, base_values, rng)
                name = f"{rec['task']}@{rec['variant']}.json" if rec["variant"] else f"{rec['task']}.json"
                write_result(root / model["id"] / name, ResultRecord.from_dict(rec))  # as the runner writes them
                written += 1
        b += 1
    return written


def time_cli(args: list[str], cwd: Path, before=None) -> tuple[float, float]:
    """(wall, CPU) seconds of ``harness <args>`` in a fresh process; ``before()`` runs first, untimed.

    CPU time (user + system of the child) is reported too: on a shared machine wall time
    also measures the neighbours.
    """
    if before:
        before()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def median_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    walls, cpus = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
    return walls[len(walls) // 2], cpus[len(cpus) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", help="write the results folder and outputs here instead of a temporary folder")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lb-bench-"))
    try:
        results = work / "results"
        if results.exists():
            shutil.rmtree(results)
        n = generate(results, args.files)
        size = sum(p.stat().st_size for p in results.rglob("*.json")) / 1e6
        print(f"generated {n} result files ({size:.0f} MB) in {len(list(results.iterdir()))} model folders; "
              f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
        build = ["leaderboard", "build", "results", "--out", "lb.md"]

        def cold() -> None:  # no summary index, no plots yet
            (results / ".leaderboard-index.json").unlink(missing_ok=True)
            shutil.rmtree(work / "lb_plots", ignore_errors=True)

        def one_model_changed() -> None:  # what `leaderboard add` of one model leaves: its files are new
            folder = sorted(p for p in results.iterdir() if p.is_dir())[1]
            for f in folder.glob("*.json"):
                rec = json.loads(f.read_text())
                rec["metrics"] = {k: v * 1.01 for k, v in rec["metrics"].items()}
                write_result(f, ResultRecord.from_dict(rec))

        rows = [
            ("harness --help (process start-up)", [time_cli(["--help"], work) for _ in range(args.repeats)]),
            ("cold: first build, markdown + CSV", [time_cli(build + ["--no-plots"], work, cold) for _ in range(args.repeats)]),
            ("cold: first build, with plots", [time_cli(build, work, cold) for _ in range(args.repeats)]),
            ("warm: rebuild, nothing changed", [time_cli(build, work) for _ in range(args.repeats)]),
            ("after one model changed, with plots", [time_cli(build, work, one_model_changed) for _ in range(args.repeats)]),
        ]
        n_plots = len(list((work / "lb_plots").glob("*.png")))
        print(f"median of {args.repeats} runs each ({n_plots} grid PNGs per build with plots); target < 2 s wall")
        for label, runs in rows:
            wall, cpu = median_of(runs)
            print(f"  {label:<38} {wall:5.2f} s wall  {cpu:5.2f} s CPU  ({wall / 2:.2f}× the 2 s budget)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
