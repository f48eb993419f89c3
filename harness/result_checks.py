"""What a valid result record is (:func:`validate`: among others, no NaN or infinity in its metrics,
comparison, per-item columns or protocol), and what a record from elsewhere must also be
(:func:`validate_untrusted`: every number finite, every string bounded, anywhere). Both return the list of
problems (empty when the record is fine), so a caller can refuse a file with every reason at once.
"""

from __future__ import annotations

import math
import re
from typing import Any

from harness.results import SCHEMA_VERSION

REQUIRED_KEYS = ("schema_version", "task", "model", "metrics", "main_metric")
# Limits on an imported (untrusted) result file; our own largest, per-token LM results, are a few MB.
MAX_IMPORT_BYTES = 256 << 20
MAX_NAME_CHARS = 128  # task, variant, model id, metric names
MAX_TEXT_CHARS = 4096  # any other string (paths, display names)
MAX_METRICS = 256
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")  # one path component, never '.' or '..'


def validate(record: Any) -> list[str]:
    """Return the schema problems of a result record (empty when valid)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    problems = [f"missing key {k!r}" for k in REQUIRED_KEYS if k not in record]
    if problems:
        return problems
    if type(record["schema_version"]) is not int or record["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version {record['schema_version']!r:.40} is not {SCHEMA_VERSION}")
    model = record["model"]
    if not isinstance(model, dict):
        problems.append("'model' is not an object")
    else:
        problems += [f"model lacks {k!r}" for k in ("id", "name", "spec") if k not in model]
    metrics, undefined = record["metrics"], record.get("undefined", {})
    if not isinstance(undefined, dict) or not all(isinstance(v, str) for v in undefined.values()):
        problems.append("'undefined' must map metric names to reasons")
    elif not isinstance(metrics, dict) or not all(
        _finite_number(v) or (v is None and k in undefined) for k, v in metrics.items()
    ):
        problems.append("'metrics' must map names to finite numbers (or null, with the reason under 'undefined')")
    elif not isinstance(record["main_metric"], str) or record["main_metric"] not in metrics:
        problems.append(f"main_metric {record['main_metric']!r:.60} not in metrics")
    problems += _value_problems(record.get("comparison"), "comparison", max_text=None)  # NaN never reaches a file
    problems += _value_problems(record.get("protocol"), "protocol", max_text=None)
    items = record.get("items")
    if items is not None:
        ids = items.get("ids") if isinstance(items, dict) else None
        cols = items.get("columns") if isinstance(items, dict) else None
        if not isinstance(ids, list) or not isinstance(cols, dict):
            problems.append("'items' must hold 'ids' and 'columns'")
        elif not all(isinstance(c, list) for c in cols.values()):
            problems.append("'items' columns must be lists")
        elif any(len(c) != len(ids) for c in cols.values()):
            problems.append("'items' columns differ in length from 'ids'")
        elif "clusters" in items and not _one_cluster_per_item(items["clusters"], len(ids)):
            problems.append("'items' clusters must give one integer or string per id")
        else:
            problems += _non_finite_items(cols)
    return problems + _aggregation_problems(record.get("aggregations"), items) + _compaction_problems(record)


COMPACT_ITEMS = ("per-cluster", "per-item")


def _compaction_problems(record: dict[str, Any]) -> list[str]:
    """A ``compacted`` block (harness.compaction) says what its items are; per-cluster items are one per cluster."""
    block = record.get("compacted")
    if block is None:
        return []
    if not isinstance(block, dict) or block.get("items") not in COMPACT_ITEMS:
        return [f"'compacted' must be an object whose 'items' is one of {', '.join(COMPACT_ITEMS)}"]
    lists = ("summed", "dropped")
    if not all(isinstance(block.get(k, []), list) for k in lists) or not isinstance(block.get("ranked", {}), dict) \
            or not isinstance(block.get("aggregations", {}), dict) or not _count(block.get("source_items", 0)):
        return ["'compacted' must hold lists 'summed' and 'dropped', objects 'ranked' and 'aggregations' and a "
                "count 'source_items'"]
    items = record.get("items")
    if block["items"] == "per-cluster" and isinstance(items, dict):
        clusters = items.get("clusters")
        if not isinstance(clusters, list) or len(set(map(str, clusters))) != len(clusters):
            return ["'compacted' per-cluster items must name one distinct cluster each"]
    return []


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _non_finite_items(columns: dict[str, list[Any]]) -> list[str]:
    """The first non-finite value of each column: an item without a value is null (an lm-eval document a
    filter did not score), never NaN. One pass per column, no call per value: per-token columns hold millions."""
    problems = []
    for name, col in columns.items():
        bad = next((i for i, v in enumerate(col) if isinstance(v, float) and not math.isfinite(v)), None)
        if bad is not None:
            problems.append(f"items column {name!r:.60} holds {col[bad]} at item {bad} (numbers must be finite; "
                            f"an item without a value is null)")
    return problems


def _aggregation_problems(aggregations: Any, items: Any) -> list[str]:
    """Each aggregation names a registered function (a plugin's too: :data:`~harness.aggregate.AGGREGATIONS`
    discovers them), columns the items hold (what the bootstrap recomputes) and settings that function accepts."""
    from harness.aggregate import AGGREGATIONS

    if aggregations is None:
        return []
    if not isinstance(aggregations, dict):
        return ["'aggregations' must be an object"]
    columns = items.get("columns") if isinstance(items, dict) and isinstance(items.get("columns"), dict) else {}
    for metric, agg in aggregations.items():
        if not (isinstance(agg, dict) and isinstance(agg.get("fn"), str) and agg["fn"] in AGGREGATIONS
                and isinstance(agg.get("columns"), list)
                and all(isinstance(c, str) and (not columns or c in columns) for c in agg["columns"])):
            known = ", ".join(a.name for a in AGGREGATIONS.registered())
            return [f"aggregation of {metric!r:.60} must name one of {known} and columns of 'items'"]
        problem = _settings_problem(AGGREGATIONS.get(agg["fn"]).settings, agg.get("settings"))
        if problem:
            return [f"aggregation of {metric!r:.60}: {problem}"]
    return []


def _settings_problem(cls: type | None, given: Any) -> str | None:
    """Why recorded aggregation settings ``given`` do not fit the aggregation's settings class ``cls``."""
    if given is None:
        return None
    if cls is None or not isinstance(given, dict):
        return "'settings' must be an object of the aggregation's own settings"
    from harness.errors import UserError

    try:
        cls(**given)  # a settings class that runs check_fields refuses a value out of its bounds
    except (TypeError, ValueError, UserError) as exc:
        return f"settings {str(exc).splitlines()[0]:.120}"
    return None


def _name_problem(what: str, value: Any) -> list[str]:
    if isinstance(value, str) and NAME.fullmatch(value) and len(value) <= MAX_NAME_CHARS:
        return []
    return [f"{what} {value!r:.60} is not a name (letters, digits, '.', '_', '-', at most {MAX_NAME_CHARS})"]


def _value_problems(value: Any, where: str, depth: int = 0, max_text: int | None = MAX_TEXT_CHARS) -> list[str]:
    """Non-finite numbers, strings over ``max_text`` characters (None: any length) and absurd nesting
    anywhere in ``value``."""
    if depth > 32:
        return [f"{where} is nested too deeply"]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where} is {value} (numbers must be finite)"]
    if isinstance(value, str) and max_text is not None and len(value) > max_text:
        return [f"{where} holds {len(value)} characters (at most {max_text})"]
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    problems: list[str] = []
    for key, child in children:
        problems += _value_problems(child, f"{where}.{key}" if isinstance(value, dict) else f"{where}[{key}]", depth + 1,
                                    max_text)
        if len(problems) >= 3:
            break
    return problems


_OPTIONAL_STR = ("kind", "base", "path", "adapter_path", "adapter_hash", "base_id", "display_name", "role")
_OPTIONAL_DICTS = ("higher_is_better", "protocol", "options", "comparison")


def validate_untrusted(record: Any) -> list[str]:
    """The problems of a result record from elsewhere, beyond :func:`validate`: the names that
    become paths or labels (task, model id, metrics) are safe names, fields have their types,
    every number is finite and every string bounded (the record is re-written and rendered here)."""
    problems = validate(record)
    if problems:
        return problems
    model, metrics = record["model"], record["metrics"]
    problems += _name_problem("task", record["task"])
    problems += _name_problem("model id", model["id"])
    if not isinstance(record.get("variant", ""), str) or len(record.get("variant", "")) > MAX_NAME_CHARS:
        problems.append(f"variant must be a string of at most {MAX_NAME_CHARS} characters")
    problems += [f"model {k} must be a string" for k in ("name", "spec") if not isinstance(model[k], str)]
    problems += [f"model {k} must be a string or null" for k in _OPTIONAL_STR
                 if not isinstance(model.get(k), (str, type(None)))]
    if not isinstance(model.get("training"), (dict, type(None))):
        problems.append("model training must be an object or null")
    problems += [f"{k!r} must be an object" for k in _OPTIONAL_DICTS if not isinstance(record.get(k, {}), dict)]
    if len(metrics) > MAX_METRICS:
        problems.append(f"{len(metrics)} metrics (at most {MAX_METRICS})")
    else:
        problems += [p for name in metrics for p in _name_problem("metric", name)]
    return problems + _value_problems(record, "record")


def _one_cluster_per_item(clusters: Any, n: int) -> bool:
    """``items.clusters`` (optional): the resampling unit of each item, e.g. its sequence (harness.bootstrap)."""
    return (isinstance(clusters, list) and len(clusters) == n
            and all(isinstance(c, (int, str)) and not isinstance(c, bool) for c in clusters))

