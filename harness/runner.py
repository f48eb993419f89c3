"""evaluate(model spec, tasks) -> result files: loading, seeding, caching, writing, printing.

Order of work, so that user errors cost nothing and write nothing:
1. resolve task names and the model spec (no torch);
2. ``prepare`` every task (resolve and parse its data);
3. load the model once, run each task, write each result atomically as it finishes;
4. for adapters (or any model with a base), compare against the base model's results
   with the paired bootstrap when they exist, and store the comparison in the result.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.lm.interface import LanguageModel
from harness.models import ModelInfo, describe_spec, load_model
from harness.plugins import load_plugins
from harness.provenance import git_commit, package_versions
from harness.registry import parse_names
from harness.results import SCHEMA_VERSION, load_result, result_path, write_result
from harness.task import TASKS, Task, TaskOutput


@dataclass
class EvalOptions:
    """Every option a task may read. Task-specific settings go in ``extra``."""

    results_dir: Path = Path("results")
    data_dir: str | None = None
    layer: int = -1
    bos: str = "native"
    split: str = "test"  # STS-B: test (default) or dev
    limit: int | None = None
    seed: int = 0
    max_batch_tokens: int = 4096
    n_resamples: int = 1000
    bootstrap_unit: str = "sequence"  # paired bootstrap: resample sequences (clusters) or single items
    extra: dict[str, Any] = field(default_factory=dict)

    def heldout_limit(self) -> int | None:
        """Cap on held-out sequences of corpus-based tasks: the smaller of --limit and --heldout-limit."""
        caps = [c for c in (self.limit, self.extra.get("heldout_limit")) if c]
        return min(caps) if caps else None

    def heldout_size(self) -> int:
        """Held-out sequences split off each corpus (--heldout-size)."""
        from harness.splits import HELDOUT_SIZE

        size = self.extra.get("heldout_size")
        return HELDOUT_SIZE if size is None else int(size)

    def split_seed(self) -> int:
        """Seed of every corpus split (--split-seed): fixed, never ``seed``, so held-out sets do not move with it."""
        from harness.splits import SPLIT_SEED

        seed = self.extra.get("split_seed")
        return SPLIT_SEED if seed is None else int(seed)

    def recorded(self) -> dict[str, Any]:
        d = asdict(self)
        d["results_dir"] = str(self.results_dir)
        return d


class EvalContext:
    """What a task sees besides the model: the options and shared caches of this run."""

    def __init__(self, options: EvalOptions) -> None:
        self.options = options
        self._embedding_cache = None
        self.shared: dict[str, Any] = {}  # caches tasks may share within one run (e.g. LM passes)
        self.model_info: ModelInfo | None = None  # the model being evaluated, set before prepare()

    def embeddings(self, lm: LanguageModel):
        from harness.embedding import EmbeddingCache, EmbeddingProtocol

        if self._embedding_cache is None or self._embedding_cache.lm is not lm:
            protocol = EmbeddingProtocol(layer=self.options.layer, bos=self.options.bos)
            self._embedding_cache = EmbeddingCache(lm, protocol, self.options.max_batch_tokens)
        return self._embedding_cache


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def select_tasks(spec: str, info: ModelInfo) -> list[Task]:
    """Tasks named in ``spec`` (or ``all``) that the model can run; an explicit misfit is an error."""
    load_plugins()
    names = parse_names(spec, TASKS)
    explicit = spec.strip() not in ("", "all")
    caps = {"hidden_states"} | ({"causal_lm"} if info.kind != "encoder" else set())
    tasks = []
    for n in names:
        task = TASKS.get(n)
        missing = task.requires - caps
        if missing:
            if explicit:
                raise UserError(f"task {n} needs {', '.join(sorted(missing))}, which {info.name} ({info.kind}) lacks")
            continue
        tasks.append(task)
    if not tasks:
        raise UserError(f"no task fits {info.name}")
    return tasks


def build_record(task: Task, out: TaskOutput, lm: LanguageModel, options: EvalOptions, wall: float) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "task": task.name,
        "variant": out.variant,
        "model": lm.info.to_dict(),
        "metrics": {k: float(v) for k, v in out.metrics.items()},
        "main_metric": task.main_metric,
        "higher_is_better": task.higher_is_better,
        "items": {"ids": out.items.ids, "clusters": out.items.cluster_ids(), "columns": out.items.columns},
        "aggregations": {k: {"fn": a.fn, "columns": list(a.columns)} for k, a in out.aggregations.items()},
        "protocol": out.protocol,
        "data": out.data,
        "seed": options.seed,
        "options": options.recorded(),
        "device": str(lm.device),
        "dtype": str(lm.dtype).replace("torch.", ""),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "wall_time_s": round(wall, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def attach_comparison(record: dict[str, Any], results_dir: Path, options: EvalOptions) -> dict[str, Any] | None:
    """Paired bootstrap of this result against the base model's result for the same task, if present."""
    base_id = record["model"].get("base_id")
    if not base_id:
        return None
    path = result_path(results_dir, base_id, record["task"], record.get("variant", ""))
    if not path.is_file():
        return None
    from harness.stats import paired_bootstrap

    base = load_result(path)
    comps = paired_bootstrap(base.record, record, n_resamples=options.n_resamples, seed=options.seed,
                             unit=options.bootstrap_unit)
    record["comparison"] = {"against": base_id, "against_file": str(path),
                            "metrics": {c.metric: c.to_dict() for c in comps}}
    return record["comparison"]


@dataclass
class RunSummary:
    info: ModelInfo
    paths: list[Path]
    records: list[dict[str, Any]]


def evaluate(spec: str, tasks: str = "all", options: EvalOptions | None = None, base: str | None = None,
             device: str = "auto", dtype: str = "auto", lm: LanguageModel | None = None) -> RunSummary:
    options = options or EvalOptions()
    info = lm.info if lm is not None else describe_spec(spec, base)
    selected = select_tasks(tasks, info)
    ctx = EvalContext(options)
    ctx.model_info = info
    prepared = {t.name: t.prepare(ctx) for t in selected}
    if lm is None:
        lm = load_model(spec, base=base, device=device, dtype=dtype)
    paths, records = [], []
    for task in selected:
        seed_everything(options.seed)
        start = time.perf_counter()
        outputs = task.run(lm, ctx, prepared[task.name])
        wall = time.perf_counter() - start
        for out in outputs:
            record = build_record(task, out, lm, options, wall / max(len(outputs), 1))
            attach_comparison(record, options.results_dir, options)
            path = write_result(result_path(options.results_dir, info.id, task.name, out.variant), record)
            paths.append(path)
            records.append(record)
    return RunSummary(info, paths, records)


def print_summary(summary: RunSummary, file=None) -> None:
    from tabulate import tabulate

    file = file or sys.stdout
    rows = []
    for r in summary.records:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in r["metrics"].items())
        rows.append([r["task"] + (f"@{r['variant']}" if r.get("variant") else ""), r["main_metric"],
                     f"{r['metrics'][r['main_metric']]:.4f}", metrics, len(r["items"]["ids"]), f"{r['wall_time_s']:.1f}s"])
    print(f"model: {summary.info.name} ({summary.info.kind}, id {summary.info.id})", file=file)
    print(tabulate(rows, headers=["task", "main metric", "value", "metrics", "items", "time"]), file=file)
    comps = [(r, r["comparison"]) for r in summary.records if r.get("comparison")]
    if comps:
        first = next(iter(comps[0][1]["metrics"].values()), {})
        print(f"\npaired bootstrap against the base model ({comps[0][1]['against']}; {first.get('n_resamples')} "
              f"resamples of {first.get('unit', 'item')}s):", file=file)
        print(format_comparisons([(r["task"] + (f"@{r['variant']}" if r.get("variant") else ""), c["metrics"].values())
                                  for r, c in comps]), file=file)
    print(f"\nwrote {len(summary.paths)} result file(s) under {summary.paths[0].parent if summary.paths else '-'}", file=file)


def format_comparisons(groups) -> str:
    """A table of B − A with 95% CI; ``*`` marks intervals that contain 0 (not significant)."""
    from tabulate import tabulate

    rows = []
    for label, comps in groups:
        for c in comps:
            c = c if isinstance(c, dict) else c.to_dict()
            arrow = {True: "↑", False: "↓"}.get(c.get("higher_is_better"), "")
            mark = "" if c["significant"] else "*"
            rows.append([label, f"{c['metric']}{arrow}", f"{c['a']:.4f}", f"{c['b']:.4f}", f"{c['diff']:+.4f}",
                         f"[{c['lower']:+.4f}, {c['upper']:+.4f}]{mark}"])
    return tabulate(rows, headers=["task", "metric", "A (base)", "B", "B − A", "95% CI"])
