"""Representation-geometry tasks (paper section 5.1): ``clustering`` and ``centroid_similarity``.

Inputs (:mod:`tasks.geometry_data`) are the held-out concept sets of the base model (:mod:`concepts.builder`,
split ``heldout`` of the document-level split with ``--split-seed`` and ``--heldout-size``, never
training text), built from ``--geometry-corpus`` with ``--geometry-selector`` (default wiki and
wordnet; ``train-and-eval`` and ``sweep`` pass the training corpus and selector), so a base model
and each of its adapters see the same sets. From each held-out sequence (file order, up to
``--geometry-samples``) one content word whose concept set T* has a member besides the original
token is drawn with ``numpy.random.default_rng(split_seed)`` (the split seed, not the run's
``--seed``); its *variants* are ``input_ids[:position] + [t]`` for the original token (read from
the record) and then every other member of T*. Each variant's hidden state of layer ``--layer`` (default: last, after the final
norm) at that last token is one vector; causal attention means nothing after the content
token matters. Each prefix is run once and its key/value cache reused for all members.

The choice of concepts depends only on the concept file, the split seed and the sample count,
never on the model or the run seed, so every model compared gets exactly the same variant token
ids. Each concept is its own bootstrap cluster (one per held-out sequence). The
hidden states are computed once per model run and shared by both tasks (``ctx.shared``).
Metric formulas and the per-concept bootstrap pseudo-values: :mod:`tasks.geometry_metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from harness.results import Aggregation, Items
from harness.task import Metric, Task, TaskOutput, register_task
from tasks.geometry_data import OPTIONS, ConceptVariants, GeometryInputs, GeometryPlan, data_block, inputs_of, prepare, \
    protocol_block
from tasks.heldout import HeldoutSettings

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel
    from harness.task import EvalContext


def variant_hidden_states(lm: "LanguageModel", concepts: list[ConceptVariants], layer: int = -1,
                          max_batch_tokens: int | None = None, progress: bool = True) -> list[np.ndarray]:
    """For each concept, a (|T*|, d) float32 array: the layer-``layer`` hidden state at the substituted token,
    each prefix run once and its KV cache reused for every member
    (:meth:`harness.lm.interface.LanguageModel.hidden_at`)."""
    states = lm.hidden_at([c.prefix for c in concepts], [c.members for c in concepts], layers=(layer,),
                          max_batch_tokens=max_batch_tokens, progress=progress)
    return [s[0] for s in states]


def hidden_vectors(lm: "LanguageModel", ctx: "EvalContext", inputs: GeometryInputs) -> list[np.ndarray]:
    """Variant hidden states for this model, computed once per run and shared by both tasks."""
    key = ("geometry-hidden", lm.info.id, inputs.sha256, len(inputs.concepts),  # one context: one model
           inputs.settings["split_seed"], ctx.options.layer)
    if key not in ctx.shared:
        inputs.header.check_tokenizer(lm.tokenizer, inputs.path)
        ctx.shared[key] = variant_hidden_states(lm, inputs.concepts, ctx.options.layer,
                                                ctx.options.max_batch_tokens)
    return ctx.shared[key]


# ------------------------------------------------------------------ tasks


def run_clustering(lm: "LanguageModel", ctx: "EvalContext", plan: GeometryPlan) -> list[TaskOutput]:
    from tasks.geometry_metrics import clustering_stats

    inputs = inputs_of(ctx, plan)
    vectors = hidden_vectors(lm, ctx, inputs)
    st = clustering_stats(vectors)
    items = Items(ids=[c.id for c in inputs.concepts], clusters=[c.sequence for c in inputs.concepts], columns={
        "n": st.n.tolist(), "intra": st.intra.tolist(), "cross_sum": st.cross_sum.tolist(),
        "cross_pairs": st.cross_pairs.tolist(), "inter_item": st.inter_item.tolist(),
        "score_item": st.score_item.tolist()})
    return [TaskOutput(metrics=st.metrics(), items=items, protocol=protocol_block(inputs, ctx, vectors),
                       data=data_block(inputs))]


def run_centroids(lm: "LanguageModel", ctx: "EvalContext", plan: GeometryPlan) -> list[TaskOutput]:
    from tasks.geometry_metrics import centroid_stats

    inputs = inputs_of(ctx, plan)
    vectors = hidden_vectors(lm, ctx, inputs)
    st = centroid_stats(vectors)
    items = Items(ids=[c.id for c in inputs.concepts], clusters=[c.sequence for c in inputs.concepts],
                  columns={"centroid_cross": st.centroid_cross.tolist(), "item": st.item.tolist()})
    return [TaskOutput(metrics={"centroid_similarity": st.similarity}, items=items,
                       protocol=protocol_block(inputs, ctx, vectors), data=data_block(inputs))]


register_task(Task(
    name="clustering",
    description="Section 5.1: intra- minus inter-concept cosine of last-layer states of concept-set substitutions "
                "in held-out text",
    metrics=(Metric("clustering_score", True, "intra − inter", Aggregation("mean", ("score_item",))),
             Metric("intra", True, "mean pairwise cosine within a concept", Aggregation("mean", ("intra",))),
             Metric("inter", False, "mean cosine over all pairs from different concepts",
                    Aggregation("mean", ("inter_item",)))),
    main_metric="clustering_score", run=run_clustering, prepare=prepare, requires=frozenset({"causal_lm"}),
    options=OPTIONS, settings=HeldoutSettings))

register_task(Task(
    name="centroid_similarity",
    description="Section 5.1: mean pairwise cosine between concept centroids in held-out text (lower: better separated)",
    metrics=(Metric("centroid_similarity", False, "mean pairwise cosine across concept centroids",
                    Aggregation("mean", ("item",))),),
    main_metric="centroid_similarity", run=run_centroids, prepare=prepare, requires=frozenset({"causal_lm"}),
    options=OPTIONS, settings=HeldoutSettings))
