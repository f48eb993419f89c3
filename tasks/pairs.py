"""The pair-similarity task type (paper section 4.1): a concrete task is one :class:`PairSimilarity`.

Each word or sentence goes through the model alone (after one context token, by default); its
final-layer hidden states are mean-pooled over its tokens and L2-normalised (:mod:`harness.embedding`); the score of a
pair is the cosine of its two vectors; the metric is Spearman's ρ between those cosines
and the human scores. Per-pair human score and cosine are kept for the paired bootstrap.

A new benchmark is one entry: its data file(s) by split (:class:`harness.data.DataFile`, with the
parser of its format, e.g. :func:`pair_reader`) and ``PairSimilarity(...).register()``. A task with
a test and a dev split gets the ``--split`` option (:data:`SPLIT`, default test).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from harness.data import DataFile, is_number, parse_number, read_lines, resolve, split_fields
from harness.errors import UserError
from harness.embedding import check_layers
from harness.results import Aggregation, Items, layer_name
from harness.task import Metric, Task, TaskOption, TaskOutput, register_task

SPEARMAN = Metric("spearman", higher_is_better=True, description="Spearman ρ of cosine vs human score",
                  aggregation=Aggregation("spearman", ("human", "cosine")))


@dataclass(frozen=True)
class Pair:
    """One benchmark item: two texts and the human score."""

    a: str
    b: str
    score: float
    line: int


def pair_reader(sep: str | None, score: int, a: int = 0, b: int = 1, header: str = "none",
                comment: str | None = None) -> Callable[[Path], list[Pair]]:
    """A parser of one pair format: fields split at ``sep`` (None: white space), texts in columns ``a``
    and ``b``, the human score in column ``score``. ``header``: ``none``, ``first`` (line 1 is a header)
    or ``optional`` (line 1 is a header when its score field is no number); lines starting with
    ``comment`` and blank lines are skipped. A malformed line is a user error naming file and line."""
    need = max(a, b, score) + 1

    def parse(path: Path) -> list[Pair]:
        rows = []
        for lineno, raw in enumerate(read_lines(path), start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or (comment and line.startswith(comment)) or (lineno == 1 and header == "first"):
                continue
            f = split_fields(line, sep, need, path, lineno)
            if lineno == 1 and header == "optional" and not is_number(f[score]):
                continue
            rows.append(Pair(f[a], f[b], parse_number(f[score], path, lineno), lineno))
        if not rows:
            raise UserError(f"{path}: no data rows")
        return rows

    return parse


def layer_metric(layer: int) -> Metric:
    """Spearman at one hidden-state layer, recomputable from that layer's per-pair cosines."""
    return Metric(layer_name("spearman", layer), higher_is_better=True, description=f"Spearman ρ at layer {layer}",
                  aggregation=Aggregation("spearman", ("human", layer_name("cosine", layer))))


def parse_layers(value: str | None) -> str | tuple[int, ...]:
    """``--layers``: ``all`` or a comma list of layer indices; () when not given."""
    if value is None or value.strip() == "":
        return ()
    if value.strip() == "all":
        return "all"
    try:
        return tuple(int(v) for v in value.split(","))
    except ValueError:
        raise UserError(f"--layers takes all or a comma-separated list of layer numbers, not {value!r}") from None


LAYERS = TaskOption("layers", "similarity tasks: also score these hidden-state layers from the same forward pass, "
                              "all or a comma list (0 = embeddings); the main metric stays --layer's")
SPLIT = TaskOption("split", "split of the similarity benchmarks that have several: test (default) or dev",
                   default="test", choices=("test", "dev"))


@dataclass(frozen=True)
class PairSimilarity:
    """The task type: which data file by split, and what the result's protocol notes."""

    name: str
    description: str
    files: dict[str, DataFile]  # split -> file; the first split is the default
    note: str = ""  # recorded in the protocol of every result

    def __post_init__(self) -> None:
        assert len(self.files) == 1 or (next(iter(self.files)) == SPLIT.default and set(self.files) <= set(SPLIT.choices)), \
            f"{self.name}: several splits must be among {SPLIT.choices}, {SPLIT.default} first"

    @property
    def options(self) -> tuple[TaskOption, ...]:
        return ((SPLIT,) if len(self.files) > 1 else ()) + (LAYERS,)

    def split(self, ctx) -> str:
        return ctx.option("split") if self.options else next(iter(self.files))

    def prepare(self, ctx):
        split = self.split(ctx)
        if split not in self.files:
            raise UserError(f"{self.name} has no split {split!r} (choose {', '.join(self.files)})")
        resolved = resolve(self.files[split], ctx.options.data_dir)
        pairs = resolved.read()
        if ctx.options.limit:
            pairs = pairs[: ctx.options.limit]
        return split, resolved, pairs, parse_layers(ctx.option("layers"))

    @staticmethod
    def layers(lm, prepared) -> tuple[int, ...]:
        """The --layers of this model as indices 0 … num_layers (a user error when one is out of range)."""
        wanted = prepared[3]
        return tuple(range(lm.num_layers + 1)) if wanted == "all" else check_layers(wanted, lm.num_layers, "--layers")

    def check(self, lm, ctx, prepared) -> None:
        self.layers(lm, prepared)

    def run(self, lm, ctx, prepared) -> list[TaskOutput]:
        split, resolved, pairs, _ = prepared
        cache = ctx.embeddings(lm)
        layers = self.layers(lm, prepared)
        metrics, items = score_pairs(pairs, lambda texts: cache.get(texts, (cache.protocol.layer,) + layers), layers)
        protocol = {"kind": "pair_similarity", "split": split, **({"note": self.note} if self.note else {}),
                    **cache.describe(), **({"layers": list(layers)} if layers else {})}
        return [TaskOutput(metrics=metrics, items=items, protocol=protocol, data=resolved.describe(),
                           variant=cache.protocol.variant(), extra_metrics=tuple(layer_metric(l) for l in layers))]

    def register(self) -> Task:
        return register_task(Task(name=self.name, description=self.description, metrics=(SPEARMAN,),
                                  main_metric="spearman", run=self.run, prepare=self.prepare, check=self.check,
                                  options=self.options,
                                  data=dict(self.files), default_split=next(iter(self.files))))


def score_pairs(pairs: list[Pair], embed, layers: tuple[int, ...] = ()) -> tuple[dict[str, float], Items]:
    """cosine_i = ⟨v(a_i), v(b_i)⟩ / (‖v(a_i)‖‖v(b_i)‖); metric = Spearman(human, cosine).

    ``embed(texts)`` gives ``(1 + len(layers), n, d)``: the protocol's layer (``cosine``, ``spearman``), then
    each of ``layers`` (``cosine.L<l>``, ``spearman.L<l>``)."""
    from harness.aggregate import spearman

    vecs_a = embed([p.a for p in pairs])
    vecs_b = embed([p.b for p in pairs])
    norms = np.linalg.norm(vecs_a, axis=-1) * np.linalg.norm(vecs_b, axis=-1)
    cosines = (vecs_a * vecs_b).sum(axis=-1) / np.maximum(norms, 1e-12)
    human = np.array([p.score for p in pairs], dtype=float)
    names = [""] + [layer_name("", layer) for layer in layers]
    columns = {"human": human.tolist(), **{f"cosine{n}": c.tolist() for n, c in zip(names, cosines)}}
    items = Items(ids=[f"{p.line}:{p.a}|{p.b}" for p in pairs], columns=columns, clusters=list(range(len(pairs))))
    return {f"spearman{n}": spearman(human, c) for n, c in zip(names, cosines)}, items
