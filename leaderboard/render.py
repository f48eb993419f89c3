"""The leaderboard as GitHub markdown (one table per task family) and as one wide CSV.

Both are pure functions of the :class:`~leaderboard.table.Leaderboard`: no timestamps and
no absolute paths, so the same results folder always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import math

from leaderboard.table import TASK_TITLES, Column, Leaderboard, Row

NOT_SIGNIFICANT = "†"
METHOD_LABELS = {"base": "Base", "ntp": "NTP", "concept": "Concept", "noise": "Noise", "external": "External"}
FAMILY_TITLES = {  # protocol.kind -> section title; other kinds are spelled out from their name
    "pair_similarity": "Semantic similarity",
    "concept_geometry": "Concept geometry",
    "content_word_next_token": "Content-word next-token prediction",
    "global_next_token": "Global next-token prediction",
    "": "Other tasks",
}
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|*`<>"} | {"\n": " ", "\r": " "})


def escape_md(text: str) -> str:
    """Escape what would break a table cell or turn into markup (pipes first of all)."""
    return text.translate(_MD_SPECIAL)


def format_value(value: float) -> str:
    """Four decimals below 10 (correlations, accuracies), two above (perplexities), as in the paper."""
    if math.isnan(value):
        return "nan"
    return f"{value:.2f}" if abs(value) >= 10 else f"{value:.4f}"


def format_lambda(lam: float | None) -> str:
    return "—" if lam is None else f"{lam:g}"


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def family_title(family: str) -> str:
    return FAMILY_TITLES.get(family, family.replace("_", " ").capitalize())


def panel_title(col: Column) -> str:
    """A plot panel's title: the benchmark's own name (MEN, SimLex-999: the paper's), the corpus evaluated
    (``Content words (lee)``) and, for a chosen layer's column, the layer."""
    title = TASK_TITLES.get(col.task, col.task) + (f" ({col.variant})" if col.variant else "")
    return title if col.layer is None else f"{title}, layer {col.layer}"


def _optional_fields(board: Leaderboard) -> list[str]:
    """Corpus and selector columns appear only when some row was trained with one."""
    return [f for f in ("corpus", "selector") if any(getattr(r, f) for r in board.rows)]


def _cell_text(row: Row, col: Column) -> str:
    cell = row.cells.get(col.key)
    if cell is None:
        return "—"
    text = format_value(cell.value)
    if cell.bold:
        text = f"**{text}**"
    if cell.significant is False:
        text += NOT_SIGNIFICANT
    return text


def _table(board: Leaderboard, columns: list[Column]) -> list[str]:
    extra = _optional_fields(board)
    header = ["Base model", "Method", "λ"] + [f.capitalize() for f in extra] + ["Model"] + [c.label for c in columns]
    align = ["---", "---", "---:"] + ["---"] * len(extra) + ["---"] + ["---:"] * len(columns)
    lines = ["| " + " | ".join(escape_md(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    previous_group = None
    for row in board.rows:
        if not any(c.key in row.cells for c in columns):
            continue
        group = escape_md(board.group_names[row.group]) if row.group != previous_group else ""
        previous_group = row.group
        cells = [group, method_label(row.method), format_lambda(row.lam)]
        cells += [escape_md(getattr(row, f)) for f in extra] + [escape_md(row.name)]
        cells += [_cell_text(row, c) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# How a rebuild knows its own output (harness.outputs: a file the harness did not write is never replaced).
MARKDOWN_MARKER = "<!-- harness leaderboard build: rebuilt from the result files; edits here are replaced -->"
CSV_ROW_COLUMNS = ("base_model", "method", "lambda", "corpus", "selector", "model", "model_id", "kind")


def render_markdown(board: Leaderboard, plots: list[tuple[str, str]] = (), n_files: int | None = None,
                    sections: list[str] = ()) -> str:
    """Markdown: ``sections`` first (lines: the paper tables, :mod:`leaderboard.paper_render`), then a legend and
    one table per task family, then links to the plots ((title, relative path) pairs)."""
    lines = [MARKDOWN_MARKER, "# Leaderboard", ""]
    if not board.rows:
        return "\n".join(lines + ["No results yet: run `harness eval` or `harness leaderboard add`.", ""])
    n_models = len(board.rows)
    source = f"{n_files} result file(s) of {n_models} model(s)" if n_files is not None else f"{n_models} model(s)"
    lines += [f"Built from {source}: first the paper-shaped tables, then every result by task family.", ""]
    lines += list(sections)
    lines += [
        "## All results by task family", "",
        f"↑/↓: higher/lower is better; **bold**: the best value within each base model; "
        f"{NOT_SIGNIFICANT}: the 95% paired bootstrap interval of the difference from the base model contains 0 "
        f"(not significant); values without {NOT_SIGNIFICANT} differ significantly or were not compared. "
        "λ is the concept (or noise) weight; NTP is λ = 0; — marks a missing value.",
        "",
    ]
    families: dict[str, list[Column]] = {}
    for col in board.columns:
        families.setdefault(col.family, []).append(col)
    for family, columns in families.items():
        lines += [f"## {family_title(family)}", ""] + _table(board, columns) + [""]
    if plots:
        lines += ["## Plots", ""] + [f"![{escape_md(title)}]({path})" for title, path in plots] + [""]
    return "\n".join(lines)


def csv_header(board: Leaderboard) -> list[str]:
    head = list(CSV_ROW_COLUMNS)
    for col in board.columns:
        head += [f"{col.result_key}:{col.metric}", f"{col.result_key}:{col.metric}:significant"]
    return head


def render_csv(board: Leaderboard) -> str:
    """One row per model; floats in full precision (``repr``) so the CSV round-trips exactly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_header(board))
    for row in board.rows:
        values = [board.group_names[row.group], row.method,
                  "" if row.lam is None else repr(row.lam), row.corpus, row.selector, row.name, row.model_id, row.kind]
        for col in board.columns:
            cell = row.cells.get(col.key)
            values += ["", ""] if cell is None else [repr(cell.value), "" if cell.significant is None else str(cell.significant)]
        writer.writerow(values)
    return out.getvalue()
