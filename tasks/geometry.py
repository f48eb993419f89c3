"""Representation-geometry tasks (paper section 5.1): ``clustering`` and ``centroid_similarity``.

Inputs (:mod:`tasks.geometry_data`) are the held-out concept sets of the base model (:mod:`harness.concepts.builder`,
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
Metric formulas and the per-concept bootstrap pseudo-values: :mod:`harness.geometry`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from harness.results import Aggregation, Items
from harness.task import Metric, Task, TaskOutput, register_task
from tasks.geometry_data import OPTIONS, ConceptVariants, GeometryInputs, GeometryPlan, data_block, inputs_of, prepare, \
    protocol_block

if TYPE_CHECKING:  # pragma: no cover
    from harness.models import LoadedModel
    from harness.task import EvalContext


def variant_hidden_states(lm: "LoadedModel", concepts: list[ConceptVariants], layer: int = -1,
                          max_batch_tokens: int = 4096, progress: bool = True) -> list[np.ndarray]:
    """For each concept, a (|T*|, d) float32 array: the layer-``layer`` hidden state at the substituted token.

    Equal to running every ``prefix + [t]`` in full (causal attention), at a fraction of the cost:
    concepts are grouped by prefix length into batches of ≤ ``max_batch_tokens / 4`` padded prefix
    tokens (each member holds a copy of its prefix's cache, ~4 members per concept); each batch runs
    its right-padded prefixes once, then every member as one token that attends to its own prefix's
    cache entries only (attention mask) at position ``len(prefix)`` (explicit position ids)."""
    import torch
    from tqdm import tqdm

    from harness.embedding import length_batches

    backbone = lm.backbone
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    out: list[np.ndarray | None] = [None] * len(concepts)
    batches = length_batches([len(c.prefix) for c in concepts], max(max_batch_tokens // 4, 1))
    with torch.inference_mode():
        for batch in tqdm(batches, desc=f"geometry: {len(concepts)} concepts", disable=None if progress else True,
                          leave=False):
            width = max(len(concepts[i].prefix) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width + 1), dtype=torch.long)
            for r, i in enumerate(batch):
                prefix = concepts[i].prefix
                ids[r, : len(prefix)] = torch.tensor(prefix)
                mask[r, : len(prefix)] = 1
            mask[:, width] = 1  # the substituted token itself
            cache = backbone(input_ids=ids.to(lm.device), attention_mask=mask[:, :width].to(lm.device),
                             use_cache=True, return_dict=True).past_key_values
            rows = [r for r, i in enumerate(batch) for _ in concepts[i].members]
            cache.batch_select_indices(torch.tensor(rows, device=lm.device))
            members = torch.tensor([[t] for i in batch for t in concepts[i].members], dtype=torch.long)
            positions = torch.tensor([[len(concepts[i].prefix)] for i in batch for _ in concepts[i].members])
            step = backbone(input_ids=members.to(lm.device), attention_mask=mask[rows].to(lm.device),
                            position_ids=positions.to(lm.device), past_key_values=cache, use_cache=True,
                            output_hidden_states=layer != -1, return_dict=True)
            hidden = (step.last_hidden_state if layer == -1 else step.hidden_states[layer])[:, -1].float().cpu().numpy()
            start = 0
            for i in batch:
                n = len(concepts[i].members)
                out[i] = hidden[start: start + n]
                start += n
    return out  # type: ignore[return-value]


def hidden_vectors(lm: "LoadedModel", ctx: "EvalContext", inputs: GeometryInputs) -> list[np.ndarray]:
    """Variant hidden states for this model, computed once per run and shared by both tasks."""
    key = ("geometry-hidden", lm.info.id, inputs.sha256, len(inputs.concepts),  # one context: one model
           inputs.settings["split_seed"], ctx.options.layer)
    if key not in ctx.shared:
        inputs.header.check_tokenizer(lm.tokenizer, inputs.path)
        ctx.shared[key] = variant_hidden_states(lm, inputs.concepts, ctx.options.layer,
                                                ctx.options.max_batch_tokens)
    return ctx.shared[key]


# ------------------------------------------------------------------ tasks


def run_clustering(lm: "LoadedModel", ctx: "EvalContext", plan: GeometryPlan) -> list[TaskOutput]:
    from harness.geometry import clustering_stats

    inputs = inputs_of(ctx, plan)
    vectors = hidden_vectors(lm, ctx, inputs)
    st = clustering_stats(vectors)
    items = Items(ids=[c.id for c in inputs.concepts], clusters=[c.sequence for c in inputs.concepts], columns={
        "n": st.n.tolist(), "intra": st.intra.tolist(), "cross_sum": st.cross_sum.tolist(),
        "cross_pairs": st.cross_pairs.tolist(), "inter_item": st.inter_item.tolist(),
        "score_item": st.score_item.tolist()})
    return [TaskOutput(metrics=st.metrics(), items=items, protocol=protocol_block(inputs, ctx, vectors),
                       data=data_block(inputs))]


def run_centroids(lm: "LoadedModel", ctx: "EvalContext", plan: GeometryPlan) -> list[TaskOutput]:
    from harness.geometry import centroid_stats

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
    options=OPTIONS))

register_task(Task(
    name="centroid_similarity",
    description="Section 5.1: mean pairwise cosine between concept centroids in held-out text (lower: better separated)",
    metrics=(Metric("centroid_similarity", False, "mean pairwise cosine across concept centroids",
                    Aggregation("mean", ("item",))),),
    main_metric="centroid_similarity", run=run_centroids, prepare=prepare, requires=frozenset({"causal_lm"}),
    options=OPTIONS))
