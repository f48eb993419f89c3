"""``harness eval --lm-eval TASKS``: lm-eval tasks on a harness model, stored as harness result files.

lm-eval runs its tasks its own way (``simple_evaluate`` with ``log_samples``) on :class:`HarnessLM`, the
loaded model; each task becomes one result file ``lm_eval.<task>`` whose per-item columns are lm-eval's
per-document values, so the paired bootstrap recomputes each metric on resamples of documents:

- a metric lm-eval aggregates by ``mean`` (acc, acc_norm, exact_match, ...): column ``m``, ``mean(m)``;
- ``weighted_perplexity`` (word/byte perplexity of (loglikelihood, weight) pairs): columns ``m.nll`` = −ll and
  ``m.weight``, ``exp_ratio`` = exp(Σ −ll / Σ weight);
- ``bits_per_byte``: columns ``m.bits`` = −ll / ln 2 and ``m.weight`` (bytes), ``ratio`` = Σ bits / Σ bytes;
- ``perplexity`` (of per-document loglikelihoods): ``m.nll`` = −ll, ``m.weight`` = 1, ``exp_ratio``;
- any other aggregation (corpus-level F1, BLEU, ...): the value lm-eval reports, without a direction,
  so it is shown and never bootstrapped.

A metric of a filter other than ``none`` is named ``m.<filter>``. Tasks and their data are loaded before
the model, so an unknown task or missing data ends in one line (:class:`~harness.errors.UserError`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import UserError
from harness.results import Aggregation, Items
from harness.task import Metric, Task, TaskOutput

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel
    from harness.task import EvalOptions

PREFIX = "lm_eval."


def rolling_task_yaml(name: str, data_file: Path, metrics: tuple[str, ...] = ("word_perplexity",)) -> str:
    """An lm-eval task (YAML) scoring each ``{"text": ...}`` line of the JSON Lines ``data_file`` with
    ``loglikelihood_rolling``: lm-eval's perplexity of one's own texts (``--lm-eval-include`` its folder)."""
    listed = "".join(f"  - metric: {m}\n" for m in metrics)
    return (f"task: {name}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data_file}\ntest_split: test\n"
            f"output_type: loglikelihood_rolling\ndoc_to_text: \"\"\ndoc_to_target: \"{{{{text}}}}\"\nmetric_list:\n{listed}")


def result_name(task: str) -> str:
    """The harness task name of lm-eval task ``task`` (a name result files accept)."""
    return PREFIX + re.sub(r"[^A-Za-z0-9._-]", "_", task)


@dataclass
class LoadedTasks:
    """lm-eval's Task objects by name, loaded (data included) before any model is."""

    tasks: dict[str, Any]
    include_path: str | None


def load_tasks(names: list[str], include_path: str | None = None) -> LoadedTasks:
    """lm-eval tasks ``names`` (groups expand to their tasks) with their data; an unknown name or data that
    cannot be loaded (offline and not cached) is a user error."""
    from harness.interop.quiet import quiet_libraries

    with quiet_libraries():
        from lm_eval.tasks import TaskManager

        manager = TaskManager(include_path=include_path)
        known = set(manager.all_tasks)
        for name in names:
            if name not in known:
                import difflib

                close = difflib.get_close_matches(name, sorted(known), n=1)
                raise UserError(f"unknown lm-eval task {name}" + (f"; did you mean {close[0]}?" if close else
                                                                  " (lm_eval ls tasks lists them)"))
        try:
            loaded = manager.load(names)["tasks"]
        except Exception as exc:  # datasets raises many kinds (offline, not found, bad files): all the user's
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UserError(f"lm-eval task(s) {', '.join(names)}: data cannot be loaded ({type(exc).__name__}: "
                            f"{first[:200]}); offline, the data must be in the datasets cache or a local "
                            f"--lm-eval-include task") from None
    return LoadedTasks(tasks=dict(loaded), include_path=include_path)


def run_tasks(lm: "LanguageModel", loaded: LoadedTasks, options: "EvalOptions") -> list[tuple[Task, TaskOutput]]:
    """Run the loaded tasks on ``lm`` through lm-eval; one (declaration, output) per task."""
    from harness.interop.quiet import quiet_libraries

    with quiet_libraries():
        import lm_eval

        from harness.interop.lm_eval_model import HarnessLM

        results = lm_eval.simple_evaluate(
            model=HarnessLM(lm=lm, max_batch_tokens=options.max_batch_tokens), tasks=list(loaded.tasks.values()),
            limit=options.limit, log_samples=True, bootstrap_iters=0, random_seed=options.seed,
            numpy_random_seed=options.seed, torch_random_seed=options.seed, fewshot_random_seed=options.seed)
    out = []
    for name, task in loaded.tasks.items():
        out.append(convert(name, task, results["results"][name], results["samples"][name],
                           results.get("higher_is_better", {}).get(name, {}), results.get("n-shot", {}).get(name)))
    return out


def convert(name: str, task: Any, reported: dict[str, Any], samples: list[dict[str, Any]],
            higher: dict[str, bool], n_shot: Any) -> tuple[Task, TaskOutput]:
    """One lm-eval task's reported values and logged samples -> a harness task declaration and its output."""
    agg_names = {m: getattr(fn, "__name__", str(fn)) for m, fn in task.aggregation().items()}
    doc_ids = sorted({int(s["doc_id"]) for s in samples})
    row = {d: i for i, d in enumerate(doc_ids)}
    columns: dict[str, list[float | None]] = {}
    metrics, values = [], {}
    for filt in sorted({s["filter"] for s in samples}, key=lambda f: (f != "none", f)):
        rows = [s for s in samples if s["filter"] == filt]
        for m in rows[0]["metrics"] if rows else ():
            key = m if filt == "none" else f"{m}.{re.sub(r'[^A-Za-z0-9_-]', '_', filt)}"
            value = reported.get(f"{m},{filt}")
            cols, agg = _columns(key, agg_names.get(m, ""), [(row[int(s["doc_id"])], s[m]) for s in rows],
                                 len(doc_ids))
            columns.update(cols)
            direction = higher.get(m) if agg is not None else None
            metrics.append(Metric(key, direction, f"lm-eval {m} ({filt})", agg))
            values[key] = float(value) if isinstance(value, (int, float)) else math.nan
    if not metrics:
        raise UserError(f"lm-eval task {name} reported no per-document metric")
    declared = Task(name=result_name(name), description=f"lm-eval task {name}", metrics=tuple(metrics),
                    main_metric=metrics[0].name, run=lambda lm, ctx, prepared: [], requires=frozenset({"causal_lm"}))
    config = task.config
    data = {"source": "lm-eval", "task": name, "version": _jsonable(task.VERSION if hasattr(task, "VERSION") else None),
            "dataset_path": _jsonable(getattr(config, "dataset_path", None)),
            "dataset_name": _jsonable(getattr(config, "dataset_name", None)), "n_docs": len(doc_ids)}
    output = TaskOutput(metrics=values, items=Items(ids=[str(d) for d in doc_ids], columns=columns),
                        protocol={"lm_eval_num_fewshot": _jsonable(n_shot)}, data=data)
    return declared, output


def _columns(key: str, agg: str, values: list[tuple[int, Any]], n: int
             ) -> tuple[dict[str, list[float | None]], Aggregation | None]:
    """Per-document columns of one metric and the aggregation that recomputes lm-eval's value from them; a
    document this metric's filter did not score has no value (``None``, null in the file; NaN once aggregated)."""
    col: list[float | None]
    if agg == "mean":
        col = [None] * n
        for i, v in values:
            col[i] = _finite(float(v))
        return {key: col}, Aggregation("mean", (key,))
    if agg in ("weighted_perplexity", "bits_per_byte", "perplexity"):
        num: list[float | None] = [None] * n
        den: list[float | None] = [None] * n
        scale = 1 / math.log(2) if agg == "bits_per_byte" else 1.0
        for i, v in values:
            ll, weight = (v, 1.0) if agg == "perplexity" else v
            num[i], den[i] = _finite(-float(ll) * scale), _finite(float(weight))
        top = f"{key}.bits" if agg == "bits_per_byte" else f"{key}.nll"
        return {top: num, f"{key}.weight": den}, Aggregation("ratio" if agg == "bits_per_byte" else "exp_ratio",
                                                              (top, f"{key}.weight"))
    return {}, None


def _finite(value: float) -> float | None:
    """A document's value, or None where lm-eval logged NaN or an infinity (a log-likelihood of -inf): a result
    file holds no such number, and the metric aggregating it is undefined either way."""
    return value if math.isfinite(value) else None


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
