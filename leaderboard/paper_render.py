"""The paper tables (:mod:`leaderboard.paper_tables`) as markdown sections and as one long CSV.

Markdown: a legend, then per training corpus a similarity table and a language-modelling and
geometry table, a row per configuration (its seeds' mean ± sd). CSV: a row per table, model (every
seed its own row) and column, with the value, and Δ with its 95% interval against the base model and
against NTP. Both are pure functions of the tables: no timestamps and no absolute paths.
"""

from __future__ import annotations

import csv
import io

from leaderboard.paper_tables import SIMILARITY, PaperCell, PaperColumn, PaperRow, PaperTable
from leaderboard.render import escape_md, format_value
from leaderboard.significance import BETTER, WORSE

BASE_MARKS = {BETTER: "▲", WORSE: "▼"}
NTP_MARKS = {BETTER: "△", WORSE: "▽"}
PAPER_CSV_COLUMNS = (
    "table", "training_corpus", "base_model", "configuration", "label", "method", "lambda", "lambda_scope", "seed",
    "model", "model_id", "column", "task", "variant", "metric", "value",
    "base_delta", "base_lower", "base_upper", "base_significant",
    "ntp_model_id", "ntp_delta", "ntp_lower", "ntp_upper", "ntp_significant",
)


def legend(n_resamples: int, seed: int, csv_name: str, unit: str = "sequence") -> str:
    resampled = "held-out sequences" if unit == "sequence" else "single tokens"
    return (
        "One pair of tables per training corpus, shaped as the paper's tables 3–6. A row is a configuration: "
        "runs that differ only by training seed are one row, their mean ± sample standard deviation (n − 1) "
        "across seeds (Seeds: how many; (n=k) where a column has fewer). ID/OOD: results on the row's training "
        "corpus / on the other corpora (a base model's follow the table's corpus); PPL and Acc: content-word "
        "next-token prediction, Global: every token; ↑/↓: higher/lower is better; **bold**: the best of its base "
        f"model. {BASE_MARKS[BETTER]}/{BASE_MARKS[WORSE]}: significantly better/worse than the base model, "
        f"{NTP_MARKS[BETTER]}/{NTP_MARKS[WORSE]}: than NTP (λ = 0, same base model, seed and training settings): "
        f"the 95% paired bootstrap interval of Δ ({n_resamples} resamples of {resampled}, pairs or "
        f"concepts, seed {seed}) excludes 0; for several seeds, only when every seed's interval does, on the same "
        f"side. No mark: not significant, or not compared; —: no result. `{csv_name}` has every seed, with Δ and its interval "
        "against both."
    )


def title(table: PaperTable) -> str:
    name = "Similarity" if table.kind == SIMILARITY else "Language modelling and geometry"
    if not table.corpus:
        return name
    where = f" (ID: {table.corpus}; OOD: {', '.join(table.oods)})" if table.kind != SIMILARITY and table.oods else ""
    return f"{name}, trained on {table.corpus}{where}"


def _decimals(value: float) -> int:
    text = format_value(value)
    return len(text) - text.index(".") - 1 if "." in text else 0


def cell_text(cell: PaperCell, n_seeds: int) -> str:
    """``0.3405``, or ``0.3405 ± 0.0040`` for several seeds (the sd to the mean's decimals), then the marks."""
    mean = format_value(cell.mean)
    text = f"**{mean}**" if cell.bold else mean
    if cell.sd is not None:
        text += f" ± {cell.sd:.{_decimals(cell.mean)}f}"
    if len(cell.values) != n_seeds:
        text += f" (n={len(cell.values)})"
    return text + BASE_MARKS.get(cell.base_mark, "") + NTP_MARKS.get(cell.ntp_mark, "")


def _arrow(table: PaperTable, col: PaperColumn) -> str:
    hib = next((r.cells[col.header].higher_is_better for r in table.rows if col.header in r.cells), None)
    return {True: " ↑", False: " ↓"}.get(hib, "")


def markdown_table(table: PaperTable) -> list[str]:
    seeds = any(len(r.models) > 1 for r in table.rows)
    header = ["Model", "Method"] + (["Seeds"] if seeds else []) + [c.header + _arrow(table, c) for c in table.columns]
    align = ["---", "---"] + (["---:"] if seeds else []) + ["---:"] * len(table.columns)
    lines = ["| " + " | ".join(escape_md(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    previous = None
    for row in table.rows:
        group = escape_md(row.group_name) if row.config.group != previous else ""
        previous = row.config.group
        cells = [group, escape_md(row.label)] + ([str(len(row.models))] if seeds else [])
        cells += [cell_text(row.cells[c.header], len(row.models)) if c.header in row.cells else "—"
                  for c in table.columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_paper_markdown(tables: list[PaperTable], n_resamples: int, seed: int, csv_name: str,
                          unit: str = "sequence") -> list[str]:
    """The paper sections' lines (nothing when there is no table)."""
    if not tables:
        return []
    lines = ["## Paper tables", "", legend(n_resamples, seed, csv_name, unit), ""]
    for table in tables:
        lines += [f"## {title(table)}", ""] + markdown_table(table) + [""]
    return lines


def _num(value: float | None) -> str:
    return "" if value is None else repr(value)


def _csv_rows(table: PaperTable, row: PaperRow) -> list[list[str]]:
    out = []
    c = row.config
    for model in row.models:
        for col in table.columns:
            cell = row.cells.get(col.header)
            v = next((v for v in cell.values if v.model.id == model.id), None) if cell else None
            if v is None:
                continue
            b, n = v.vs_base, v.vs_ntp
            out.append([table.kind, table.corpus, row.group_name, c.config_id, row.label, c.method, _num(c.lam),
                        c.scope, "" if v.seed is None else str(v.seed), model.display_name or model.name, model.id,
                        col.header, col.task, v.summary.variant, v.metric, repr(v.value),
                        *(["", "", "", ""] if b is None else [repr(b.diff), repr(b.lower), repr(b.upper), str(b.significant)]),
                        v.ntp.id if v.ntp else "",
                        *(["", "", "", ""] if n is None else [repr(n.diff), repr(n.lower), repr(n.upper), str(n.significant)])])
    return out


def render_paper_csv(tables: list[PaperTable]) -> str:
    """One row per table, model and column; floats in full precision (``repr``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAPER_CSV_COLUMNS)
    for table in tables:
        for row in table.rows:
            writer.writerows(_csv_rows(table, row))
    return out.getvalue()
