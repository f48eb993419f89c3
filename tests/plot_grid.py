"""Helpers (no tests): a synthetic results folder shaped like the experiment grid, for the plot tests and
for looking at the plots (``python tests/plot_grid.py OUT_DIR`` writes the grid and builds its plots).

The grid: one base model; NTP (λ = 0) and concept λ = 0.25 at training seeds 0, 1, 2; concept λ = 0.5, 0.75,
1; concept with content scope λ = 0.5, 1; noise λ = 0.5, 1; CAFT, synonym-augment, alternatives and
weighted CE (17 adapters). Tasks: MEN, WordSim353, SimLex-999 and STS-B with a value at each of
``n_layers`` hidden-state layers, content-word and global next-token prediction on wiki and lee, clustering
and centroid similarity. Every adapter's result stores a comparison against the base (``a`` = the base's
value, Δ = value − a, a CI of ±``CI_HALF`` around Δ), so the CI bar of a run is (value − CI_HALF,
value + CI_HALF) by construction. Values come from a fixed-seed generator: the same grid every time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

BASE_ID = "smollm2-135m-00000001"
CI_HALF = 0.01
SIMILARITY = ("men", "wordsim353", "simlex999", "stsb")
LM = (("content_word_ppl", "content_word_next_token"), ("global_ppl", "global_next_token"))


def training(method: str, lam: float | None, seed: int = 0, objective: str = "concept", scope: str = "all",
             randomized: bool = False) -> dict:
    return {"method": method, "objective": objective, "lambda": lam, "lambda_scope": scope, "mass_threshold": 0.6,
            "base": "smollm2-135m", "base_id": BASE_ID, "corpus": "wiki", "split": "train", "selector": "wordnet",
            "randomized": randomized, "profile": "cpu", "seed": seed, "dtype": "float32", "world_size": 1,
            "hyperparameters": {"lr": 3e-4, "max_steps": 0, "epochs": 1, "selector": "wordnet", "max_synonyms": 10},
            "steps": 50, "train_loss": 3.0 + seed, "wall_time_s": 10.0 + seed}


def grid_models() -> list[tuple[dict, float]]:
    """(model block, effect size) of every model; the effect moves each metric from the base's value."""
    def adapter(mid: str, effect: float, **train) -> tuple[dict, float]:
        block = {"id": mid, "name": mid.rsplit("-", 1)[0], "spec": f"runs/{mid}", "kind": "adapter",
                 "base": "smollm2-135m", "path": "", "adapter_path": f"runs/{mid}", "adapter_hash": "ab" * 32,
                 "base_id": BASE_ID, "training": training(**train)}
        return block, effect

    base = {"id": BASE_ID, "name": "smollm2-135m", "spec": "smollm2-135m", "kind": "causal_lm",
            "base": "smollm2-135m", "path": "", "adapter_path": None, "adapter_hash": None, "base_id": None,
            "training": None}
    models = [(base, 0.0)]
    models += [adapter(f"ntp-s{s}-0000010{s}", 0.15 * s, method="ntp", lam=0.0, seed=s) for s in range(3)]
    models += [adapter(f"concept025-s{s}-0000020{s}", 0.2 + 0.2 * s, method="concept", lam=0.25, seed=s)
               for s in range(3)]
    models += [adapter(f"concept{int(lam * 100):03d}-0000030{i}", 0.3 + 0.3 * lam, method="concept", lam=lam)
               for i, lam in enumerate((0.5, 0.75, 1.0))]
    models += [adapter(f"content{int(lam * 100):03d}-0000040{i}", 0.15 + 0.2 * lam, method="concept", lam=lam,
                       scope="content") for i, lam in enumerate((0.5, 1.0))]
    models += [adapter(f"noise{int(lam * 100):03d}-0000050{i}", -1.0 - 2 * lam, method="noise", lam=lam,
                       randomized=True) for i, lam in enumerate((0.5, 1.0))]
    models += [adapter(f"{obj}-0000060{i}", 0.1 * i, method=obj, lam=None, objective=obj)
               for i, obj in enumerate(("caft", "synonym-augment", "alternatives", "weighted-ce"))]
    return models


def _record(model: dict, task: str, variant: str, kind: str, metrics: dict[str, float], main: str,
            higher: dict[str, bool], base: dict[str, float] | None) -> dict:
    record = {"schema_version": 1, "task": task, "variant": variant, "model": model, "metrics": metrics,
              "main_metric": main, "higher_is_better": higher,
              "items": {"ids": ["a", "b", "c"], "columns": {"x": [1.0, 2.0, 3.0], "y": [1.0, 3.0, 2.0]}},
              "aggregations": {main: {"fn": "spearman", "columns": ["x", "y"]}}, "protocol": {"kind": kind},
              "options": {"limit": 5, "seed": 0, "split": "test", "layer": -1, "bos": "native", "extra": {}}}
    if base is not None:
        record["comparison"] = {"against": BASE_ID, "metrics": {
            m: {"metric": m, "a": base[m], "b": v, "diff": v - base[m], "lower": v - base[m] - CI_HALF,
                "upper": v - base[m] + CI_HALF, "significant": abs(v - base[m]) > CI_HALF}
            for m, v in metrics.items()}}
    return record


def grid_records(n_layers: int = 31) -> list[dict]:
    """Every result record of the grid (deterministic)."""
    rng = np.random.default_rng(0)
    records = []
    base_values: dict[tuple[str, str], dict[str, float]] = {}
    for model, effect in grid_models():
        is_base = model["kind"] == "causal_lm"
        for t, task in enumerate(SIMILARITY):
            shape = np.sin(np.linspace(0, 2.6, n_layers)) * 0.25 + 0.1 + 0.05 * t
            layers = shape + effect * 0.04 * np.linspace(0, 1, n_layers) + rng.normal(0, 0.004, n_layers)
            metrics = {"spearman": float(layers[-1]), **{f"spearman.L{i}": float(v) for i, v in enumerate(layers)}}
            records.append((model, task, "", "pair_similarity", metrics, "spearman", {"spearman": True}))
        for task, kind in LM:
            for corpus, level in (("wiki", 30.0), ("lee", 45.0)):
                ppl = level * (1 - 0.02 * effect if effect >= 0 else 12.0 ** -effect) + rng.normal(0, 0.2)
                acc = 0.3 + 0.01 * effect + rng.normal(0, 0.002)
                records.append((model, task, corpus, kind, {"perplexity": ppl, "accuracy": acc}, "perplexity",
                                {"perplexity": False, "accuracy": True}))
        records.append((model, "clustering", "", "concept_geometry",
                        {"clustering_score": 0.4 + 0.03 * effect + rng.normal(0, 0.003)}, "clustering_score",
                        {"clustering_score": True}))
        records.append((model, "centroid_similarity", "", "concept_geometry",
                        {"centroid_similarity": 0.6 + 0.02 * effect + rng.normal(0, 0.003)}, "centroid_similarity",
                        {"centroid_similarity": True}))
    out = []
    for model, task, variant, kind, metrics, main, higher in records:
        if model["kind"] == "causal_lm":
            base_values[(task, variant)] = metrics
            out.append(_record(model, task, variant, kind, metrics, main, higher, None))
        else:
            out.append(_record(model, task, variant, kind, metrics, main, higher, base_values[(task, variant)]))
    return out


def write_grid(root: Path, n_layers: int = 31) -> Path:
    for record in grid_records(n_layers):
        name = f"{record['task']}@{record['variant']}.json" if record["variant"] else f"{record['task']}.json"
        path = root / record["model"]["id"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))
    return root


if __name__ == "__main__":  # python tests/plot_grid.py /tmp/plots_check: the grid's plots, to look at
    import tempfile

    from leaderboard.build import build

    with tempfile.TemporaryDirectory() as tmp:
        report = build(write_grid(Path(tmp) / "results"), Path(tmp) / "leaderboard.md", plots_dir=Path(sys.argv[1]),
                       overwrite=True, n_resamples=20)
    print("\n".join(str(p) for p in report.plots))
