"""``harness eval --mteb TASKS``: MTEB tasks on a harness model (:class:`HarnessEncoder`), stored as result files.

A task is an MTEB name (``STSBenchmark``) or ``FILE.py:Class`` / ``module:Class``, a task defined outside
MTEB's registry (a local data set, as the tests write). Its data is loaded before the model. MTEB evaluates
with its own evaluator; the result ``mteb.<name>`` holds every scalar score of its single split and subset
(``main_score`` averaged over them otherwise) and names MTEB's main score as the main metric.

Per-item values, where MTEB exposes them: for an STS task of one split and subset, MTEB's saved predictions
(the per-pair cosine) and the task's gold scores are the columns ``gold`` and ``cosine``, and the main score
``cosine_spearman`` declares ``spearman(gold, cosine)`` (Spearman is unchanged by MTEB's rescaling of the gold
scores), so the paired bootstrap resamples pairs as for our own similarity tasks. Other task types keep
their scores only (shown, not bootstrapped).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.embedding import protocol_record
from harness.errors import UserError
from harness.results import Aggregation, Items
from harness.task import Metric, Task, TaskOutput

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel
    from harness.task import EvalOptions

PREFIX = "mteb."


def load_tasks(names: list[str]) -> list[Any]:
    """MTEB task objects with their data loaded; an unknown name or missing data is a user error."""
    from harness.interop.quiet import quiet_libraries

    tasks = []
    with quiet_libraries():
        for name in names:
            task = _task(name)
            try:
                task.load_data()
            except Exception as exc:  # datasets raises many kinds (offline, not found, bad files)
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise UserError(f"MTEB task {name}: data cannot be loaded ({type(exc).__name__}: {first[:200]}); "
                                f"offline, the data must be in the datasets cache or a local task file") from None
            tasks.append(task)
    return tasks


def _task(name: str) -> Any:
    if ":" in name:
        where, _, cls_name = name.rpartition(":")
        try:
            if where.endswith(".py"):
                spec = importlib.util.spec_from_file_location(Path(where).stem, where)
                if spec is None or not Path(where).is_file():
                    raise UserError(f"--mteb {name}: no file {where}")
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            else:
                module = importlib.import_module(where)
            return getattr(module, cls_name)()
        except (ImportError, AttributeError, SyntaxError) as exc:
            raise UserError(f"--mteb {name}: {type(exc).__name__}: {exc}") from None
    import mteb

    try:
        return mteb.get_task(name)
    except KeyError as exc:
        raise UserError(f"unknown MTEB task {name}: {str(exc).strip(chr(34) + chr(39))}") from None


def result_name(task: Any) -> str:
    return PREFIX + re.sub(r"[^A-Za-z0-9._-]", "_", task.metadata.name)


def run_task(lm: "LanguageModel", task: Any, options: "EvalOptions") -> tuple[Task, TaskOutput]:
    """Evaluate ``task`` through ``mteb.evaluate`` on ``lm`` with the run's embedding protocol."""
    from harness.interop.mteb_encoder import HarnessEncoder
    from harness.interop.quiet import quiet_libraries

    gold = _gold_scores(task)
    encoder = HarnessEncoder(lm, options.embedding_protocol(), options.max_batch_tokens)
    with quiet_libraries(), tempfile.TemporaryDirectory() as folder:
        import mteb

        result = mteb.evaluate(encoder, task, cache=None, prediction_folder=folder, show_progress_bar=False,
                               encode_kwargs={"batch_size": 64, "show_progress_bar": False}).task_results[0]
        predictions = task._predictions_path(folder)
        saved = json.loads(predictions.read_text()) if predictions.is_file() else {}
    return convert(task, result, gold, saved, encoder)


def _gold_scores(task: Any) -> list[float] | None:
    """The gold scores of an STS task of one split and one subset (None otherwise)."""
    from mteb.abstasks.sts import AbsTaskSTS

    splits = list(task.metadata.eval_splits)
    if not isinstance(task, AbsTaskSTS) or len(splits) != 1 or task.metadata.is_multilingual:
        return None
    data = task.dataset[splits[0]] if splits[0] in task.dataset else None
    return None if data is None else [float(s) for s in data["score"]]


def convert(task: Any, result: Any, gold: list[float] | None, saved: dict[str, Any],
            encoder: Any) -> tuple[Task, TaskOutput]:
    meta = task.metadata
    main = meta.main_score
    flat = [s for split in result.scores.values() for s in split]
    values: dict[str, float] = {}
    if len(flat) == 1:
        values = {k: float(v) for k, v in flat[0].items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("main_score", "evaluation_time")}
    values[main] = float(result.get_score())
    columns: dict[str, list[float]] = {}
    cosine = _saved_cosines(saved)
    if gold is not None and cosine is not None and len(cosine) == len(gold):
        columns = {"gold": gold, "cosine": cosine}
    aggregation = Aggregation("spearman", ("gold", "cosine")) if columns and main == "cosine_spearman" else None
    metrics = [Metric(main, True, f"MTEB main score ({main})", aggregation)]
    metrics += [Metric(k, None, f"MTEB {k}") for k in values if k != main]
    declared = Task(name=result_name(task), description=f"MTEB task {meta.name}", metrics=tuple(metrics),
                    main_metric=main, run=lambda lm, ctx, prepared: [])
    n = len(next(iter(columns.values()))) if columns else 0
    data = {"source": "mteb", "task": meta.name, "type": meta.type, "dataset": dict(meta.dataset),
            "splits": list(result.scores), "n_items": n}
    out = TaskOutput(metrics=values, items=Items(ids=[str(i) for i in range(n)], columns=columns),
                     variant=encoder.protocol.variant(),
                     protocol={**protocol_record(encoder.lm.tokenizer, encoder.protocol), "mteb_similarity": "cosine",
                               "mteb_prompts": "none"},
                     data={k: v for k, v in data.items() if not (isinstance(v, float) and math.isnan(v))})
    return declared, out


def _saved_cosines(saved: dict[str, Any]) -> list[float] | None:
    subsets = [v for k, v in saved.items() if k != "mteb_model_meta" and isinstance(v, dict)]
    if len(subsets) != 1 or len(subsets[0]) != 1:
        return None
    scores = next(iter(subsets[0].values()))
    return [float(x) for x in scores["cosine_scores"]] if isinstance(scores, dict) and "cosine_scores" in scores else None
