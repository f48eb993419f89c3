"""evaluate(model spec, tasks) -> result files: loading, seeding, caching, writing, printing.

Order of work, so that user errors cost nothing and write nothing:
1. resolve task names and the model spec, once (no torch; an adapter is hashed once);
2. ``prepare`` every task (resolve and parse its data);
3. load the model once (or use the one given), run each task, check its outputs against its
   declaration, write each result atomically as it finishes;
4. for adapters (or any model with a base), compare against the base model's results
   with the paired bootstrap when they exist, and store the comparison in the result.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.comparison import Comparison, MetricComparison
from harness.embedding import check_layers
from harness.errors import UserError
from harness.lm.interface import LanguageModel
from harness.lm.load import load_model, resolved_dtype
from harness.models import ModelInfo, describe_spec, dtype_name
from harness.plugins import load_plugins
from harness.provenance import git_commit, package_versions
from harness.registry import parse_names
from harness.result_files import load_result, result_path, write_result
from harness.results import Items, ResultModel, ResultRecord, split_layer
from harness.task import TASKS, EvalContext, EvalOptions, Task, TaskOutput, aggregations, directions


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


def build_record(task: Task, out: TaskOutput, lm: LanguageModel, options: EvalOptions, wall: float,
                 labels: dict[str, str] | None = None) -> ResultRecord:
    """The result of one output; ``labels`` (``role``, ``display_name``) go into its model block."""
    task.check_output(out)
    model = ResultModel.from_dict({**lm.info.to_dict(), **(labels or {})})
    metrics = {k: float(v) for k, v in out.metrics.items()}
    undefined = {k: undefined_reason(task, k, len(out.items.ids)) for k, v in metrics.items() if not math.isfinite(v)}
    for metric, reason in undefined.items():
        print(f"harness: note: {task.name}{'@' + out.variant if out.variant else ''}: {metric} is undefined "
              f"({reason}); recorded without a value", file=sys.stderr)
    declared = task.output_metrics(out)
    return ResultRecord(
        task=task.name, variant=out.variant, model=model, undefined=undefined,
        metrics={k: None if k in undefined else v for k, v in metrics.items()}, main_metric=task.main_metric,
        higher_is_better=directions(declared), aggregations=aggregations(declared),
        protocol=out.protocol, data=out.data, seed=options.seed, options=options.recorded(),
        provenance={"device": str(lm.device), "dtype": dtype_name(lm.dtype),
                    "versions": package_versions(), "git_commit": git_commit(), "wall_time_s": round(wall, 3),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        items=Items(ids=out.items.ids, columns=out.items.columns, clusters=out.items.cluster_ids()),
    )


def undefined_reason(task: Task, metric: str, n_items: int) -> str:
    """Why ``metric`` has no finite value: what it aggregates, over how many items."""
    agg = task.aggregations.get(metric)
    what = f"{agg.fn} of {', '.join(agg.columns)}" if agg else "its value"
    return f"{what} over {n_items} item(s) is not a finite number, e.g. too few items or constant values"


def attach_comparison(record: ResultRecord, options: EvalOptions) -> Comparison | None:
    """Paired bootstrap of this result against the base model's result for the same task, if present and measured
    under the same embedding protocol (:mod:`harness.pairing`)."""
    base_id = record.model.base_id
    if not base_id:
        return None
    path = result_path(options.results_dir, base_id, record.task, record.variant)
    if not path.is_file():
        return None
    from harness.pairing import ProtocolMismatch, reference_bootstrap

    base = load_result(path)
    try:
        comps = reference_bootstrap(base.record, record, n_resamples=options.n_resamples, seed=options.seed,
                                    unit=options.bootstrap_unit)
    except ProtocolMismatch as exc:  # an old base result: this one stands, without a comparison
        print(f"harness: warning: {record.key} not compared with the base: {exc}", file=sys.stderr)
        return None
    record.comparison = Comparison(against=base_id, against_file=str(path), metrics={c.metric: c for c in comps})
    return record.comparison


@dataclass
class RunSummary:
    info: ModelInfo
    paths: list[Path]
    records: list[ResultRecord]


def evaluate(spec: str, tasks: str = "all", options: EvalOptions | None = None, base: str | None = None,
             device: str = "auto", dtype: str = "auto", lm: LanguageModel | None = None,
             base_lm: LanguageModel | None = None, labels: dict[str, str] | None = None) -> RunSummary:
    """Run ``tasks`` on model ``spec`` (or on ``lm``, already loaded) and write one result per output.

    ``base_lm``: the loaded base model of an adapter, for tasks that need it (otherwise loaded on
    demand, once); ``labels``: the leaderboard's ``role``/``display_name`` for the model block."""
    from harness.outputs import check_output_folder

    options = options or EvalOptions()
    check_output_folder(options.results_dir, "--results-dir")  # before the work whose results it is to hold
    info = lm.info if lm is not None else describe_spec(spec, base)
    selected = select_tasks(tasks, info)
    loaded: dict[str, LanguageModel] = {}

    def base_model() -> LanguageModel:
        if base_lm is not None:
            return base_lm
        if info.kind == "causal_lm":  # a base model is its own base
            return loaded["model"]
        if "base" not in loaded:
            loaded["base"] = load_model(info.base, device=device, dtype=dtype)
        return loaded["base"]

    def base_dtype() -> str:
        """What :func:`base_model` gives, known before it loads: the given base's, the evaluated model's for a
        base causal LM, else what ``device``/``dtype`` resolve to (as the base would be loaded)."""
        if base_lm is not None:
            return dtype_name(base_lm.dtype)
        if info.kind == "causal_lm" and lm is not None:
            return dtype_name(lm.dtype)
        return resolved_dtype(device, dtype)

    ctx = EvalContext(options, info, base_model, base_dtype)
    prepared = {t.name: t.prepare(ctx) for t in selected}
    loaded["model"] = lm = lm if lm is not None else load_model(spec, base=base, device=device, dtype=dtype, info=info)
    check_layers((options.layer,), lm.num_layers, "--layer")
    for task in selected:  # settings that must fit the model fail before anything is written
        task.check(lm, ctx, prepared[task.name])
    paths, records = [], []
    for task in selected:
        seed_everything(options.seed)
        start = time.perf_counter()
        outputs = task.run(lm, ctx, prepared[task.name])
        wall = time.perf_counter() - start
        for out in outputs:
            record = build_record(task, out, lm, options, wall / max(len(outputs), 1), labels)
            attach_comparison(record, options)
            paths.append(write_result(result_path(options.results_dir, info.id, task.name, out.variant), record))
            records.append(record)
    return RunSummary(info, paths, records)


def print_summary(summary: RunSummary, file=None) -> None:
    from tabulate import tabulate

    file = file or sys.stdout
    rows = []
    for r in summary.records:
        metrics = ", ".join(f"{k}={_shown(v)}" for k, v in r.metrics.items() if split_layer(k)[1] is None)
        profile = {split_layer(k)[1]: v for k, v in r.metrics.items() if split_layer(k)[1] is not None and v is not None}
        if profile:  # --layers: the best layer here, every layer in the result file
            best = max(profile, key=lambda layer: profile[layer])
            metrics += f"; best layer {best} of {len(profile)}: {profile[best]:.4f}"
        rows.append([r.key, r.main_metric, _shown(r.metrics[r.main_metric]), metrics,
                     len(r.items.ids) if r.items else 0, f"{r.wall_time_s or 0:.1f}s"])
    print(f"model: {summary.info.name} ({summary.info.kind}, id {summary.info.id})", file=file)
    print(tabulate(rows, headers=["task", "main metric", "value", "metrics", "items", "time"]), file=file)
    compared = [r for r in summary.records if r.comparison is not None]
    if compared:
        first = next(iter(compared[0].comparison.metrics.values()), None)
        print(f"\npaired bootstrap against the base model ({compared[0].comparison.against}; "
              f"{first.n_resamples if first else None} resamples of {first.unit if first else 'item'}s):", file=file)
        labels = (f"A: {compared[0].comparison.against} (base)", f"B: {summary.info.id}")
        print(format_comparisons([(r.key, [c for m, c in r.comparison.metrics.items() if split_layer(m)[1] is None])
                                  for r in compared], labels), file=file)
    print(f"\nwrote {len(summary.paths)} result file(s) under {summary.paths[0].parent if summary.paths else '-'}", file=file)


def _shown(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def side_labels(a: ResultModel, b: ResultModel) -> tuple[str, str]:
    """The column heads of A and B: each side's model id, and ``(base)`` on the side that is the base
    model of the other (the other's ``base_id`` names it): which side is the base depends on the order
    the user gave, not on the position."""
    return (f"A: {a.id}" + (" (base)" if b.base_id and b.base_id == a.id else ""),
            f"B: {b.id}" + (" (base)" if a.base_id and a.base_id == b.id else ""))


def format_comparisons(groups: list[tuple[str, list[MetricComparison]]], labels: tuple[str, str] = ("A", "B"),
                       confidence: float = 0.95) -> str:
    """A table of B − A with its ``confidence`` CI; ``*`` marks intervals that contain 0 (not significant).
    ``labels`` head the A and B columns (:func:`side_labels`)."""
    from tabulate import tabulate

    rows = []
    for label, comps in groups:
        for c in comps:
            arrow = {True: "↑", False: "↓"}.get(c.higher_is_better, "")
            mark = "" if c.significant else "*"
            rows.append([label, f"{c.metric}{arrow}", f"{c.a:.4f}", f"{c.b:.4f}", f"{c.diff:+.4f}",
                         f"[{c.lower:+.4f}, {c.upper:+.4f}]{mark}"])
    return tabulate(rows, headers=["task", "metric", *labels, "B − A", f"{confidence:.0%} CI"])
