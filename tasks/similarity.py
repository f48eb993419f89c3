"""Human-similarity tasks (paper section 4.1): MEN, WordSim353, SimLex-999, STS-B.

Each word or sentence goes through the model alone; its final-layer hidden states are
mean-pooled over real tokens and L2-normalised (:mod:`harness.embedding`); the score of a
pair is the cosine of its two vectors; the metric is Spearman's ρ between those cosines
and the human scores. Per-pair human score and cosine are kept for the paired bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data import DATA_FILES, Pair, parse_pairs, resolve
from harness.errors import UserError
from harness.task import Aggregation, Items, Metric, Task, TaskOutput, register_task

SPEARMAN = Metric("spearman", higher_is_better=True, description="Spearman ρ of cosine vs human score")


@dataclass(frozen=True)
class PairSimilarity:
    """The task type: which data file(s) by split, and what the texts are."""

    name: str
    description: str
    files: dict[str, str]  # split -> key in harness.data.DATA_FILES
    default_split: str = "test"
    note: str = ""  # recorded in the protocol of every result

    def split(self, ctx) -> str:
        if len(self.files) == 1:
            return next(iter(self.files))
        split = ctx.options.split
        if split not in self.files:
            raise UserError(f"{self.name} has no split {split!r} (choose {', '.join(self.files)})")
        return split

    def prepare(self, ctx):
        split = self.split(ctx)
        resolved = resolve(self.files[split], ctx.options.data_dir)
        pairs = parse_pairs(resolved)
        if ctx.options.limit:
            pairs = pairs[: ctx.options.limit]
        return split, resolved, pairs

    def run(self, lm, ctx, prepared) -> list[TaskOutput]:
        split, resolved, pairs = prepared
        metrics, items = score_pairs(pairs, ctx.embeddings(lm).get)
        protocol = {"kind": "pair_similarity", "split": split, **({"note": self.note} if self.note else {}),
                    **ctx.embeddings(lm).protocol.to_dict()}
        return [TaskOutput(metrics=metrics, items=items,
                           aggregations={"spearman": Aggregation("spearman", ("human", "cosine"))},
                           protocol=protocol, data=resolved.describe())]

    def task(self) -> Task:
        return Task(name=self.name, description=self.description, metrics=(SPEARMAN,), main_metric="spearman",
                    run=self.run, prepare=self.prepare, group="similarity")


def score_pairs(pairs: list[Pair], embed) -> tuple[dict[str, float], Items]:
    """cosine_i = ⟨v(a_i), v(b_i)⟩ / (‖v(a_i)‖‖v(b_i)‖); metric = Spearman(human, cosine)."""
    from harness.aggregate import spearman

    vecs_a = embed([p.a for p in pairs])
    vecs_b = embed([p.b for p in pairs])
    norms = np.linalg.norm(vecs_a, axis=1) * np.linalg.norm(vecs_b, axis=1)
    cosine = (vecs_a * vecs_b).sum(axis=1) / np.maximum(norms, 1e-12)
    human = np.array([p.score for p in pairs], dtype=float)
    items = Items(ids=[f"{p.line}:{p.a}|{p.b}" for p in pairs],
                  columns={"human": human.tolist(), "cosine": cosine.tolist()}, clusters=list(range(len(pairs))))
    return {"spearman": spearman(human, cosine)}, items


for _t in (
    PairSimilarity("men", "MEN: 3,000 word pairs rated for relatedness (Bruni et al., 2014)", {"test": "men"}),
    PairSimilarity("wordsim353", "WordSim353: 353 word pairs rated for relatedness (Finkelstein et al., 2002)",
                   {"test": "wordsim353"}),
    PairSimilarity("simlex999", "SimLex-999: 999 word pairs rated for similarity, not association (Hill et al., 2014)",
                   {"test": "simlex999"}),
    PairSimilarity("stsb", "STS-B: sentence pairs rated 0-5 (Cer et al., 2017); test split, --split dev for dev",
                   {"test": "stsb-test", "dev": "stsb-dev"},
                   note="the paper's '1,500 sentence pairs' is the size of the dev split (--split dev); "
                        "the default test split has 1,379"),
):
    register_task(_t.task())

assert set(DATA_FILES) >= {"men", "wordsim353", "simlex999", "stsb-test", "stsb-dev"}
