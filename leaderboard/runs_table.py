"""The "Runs" section: per model, how big its training was and what it cost, from the result files alone.

A row per evaluated model (base, every trained adapter, external models): its label and seed
(:func:`leaderboard.configs.configuration`), the training sequences, epochs, optimizer steps and
sequence-updates (steps × batch size × gradient accumulation × processes: how many sequences the
optimizer saw, the size the grid is chosen by), the training wall time (``harness_train.json``), the
summed wall time of its evaluations (its result files' provenance), and the commits that trained and
evaluated it. The totals row sums the wall times, so a published grid states its own cost.
"""

from __future__ import annotations

from typing import Any, Iterable

from leaderboard.reader import Summary

HEADER = ("Model", "Seed", "Train seqs", "Epochs", "Steps", "Seq-updates", "Train (min)", "Eval (min)",
          "Trained at", "Evaluated at")


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _short(commit: Any) -> str:
    return commit[:7] if isinstance(commit, str) and commit else "—"


def run_rows(summaries: Iterable[Summary]) -> list[tuple[str, ...]]:
    """The table's rows, in the order of the models' first result file (summaries come sorted by path), then
    the totals."""
    from leaderboard.configs import configuration

    models: dict[str, dict[str, Any]] = {}
    for s in summaries:
        m = models.setdefault(s.model.id, {"model": s.model, "eval": 0.0, "commits": set()})
        m["eval"] += s.wall_time_s or 0.0
        if s.git_commit:
            m["commits"].add(s.git_commit[:7])
    rows, train_total, eval_total = [], 0.0, 0.0
    for m in models.values():
        config = configuration(m["model"])
        training = m["model"].training or {}
        hyper = training.get("hyperparameters") if isinstance(training.get("hyperparameters"), dict) else {}
        steps, batch = _int(training.get("steps")), _int(hyper.get("batch_size"))
        accum, world = _int(hyper.get("grad_accum")) or 1, _int(training.get("world_size")) or 1
        updates = steps * batch * accum * world if steps is not None and batch is not None else None
        wall = training.get("wall_time_s") if isinstance(training.get("wall_time_s"), (int, float)) else None
        train_total += wall or 0.0
        eval_total += m["eval"]
        epochs = training.get("epochs_done")
        rows.append((config.label, "—" if config.seed is None else str(config.seed),
                     str(_int(training.get("train_sequences")) or "—"),
                     f"{epochs:g}" if isinstance(epochs, (int, float)) else "—", "—" if steps is None else str(steps),
                     "—" if updates is None else f"{updates:,}", _minutes(wall), _minutes(m["eval"]),
                     _short(training.get("git_commit")), ", ".join(sorted(m["commits"])) or "—"))
    rows.append(("Total", "", "", "", "", "", _minutes(train_total), _minutes(eval_total), "", ""))
    return rows


def render_runs(summaries: list[Summary]) -> list[str]:
    """Markdown lines of the section (none without results)."""
    if not summaries:
        return []
    from leaderboard.render import escape_md

    lines = ["## Runs", "", "What each model's training was and what it cost: sequence-updates = optimizer steps × "
             "batch size × gradient accumulation × processes; wall times as recorded by training "
             "(`harness_train.json`) and by each evaluation (the result files), in minutes.", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * 2 + "---:|" * 6 + "---|" * 2]
    lines += ["| " + " | ".join(escape_md(c) for c in row) + " |" for row in run_rows(summaries)]
    return lines + [""]
