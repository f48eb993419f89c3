"""Representation-geometry tasks (paper section 5.1): ``clustering`` and ``centroid_similarity``.

Inputs are the held-out concept sets of the base model (:mod:`harness.concepts.builder`,
split ``heldout`` of the document-level split with ``--split-seed`` and ``--heldout-size``, never
training text), built from ``--geometry-corpus`` with ``--geometry-selector`` (default wiki and
wordnet; ``train-and-eval`` and ``sweep`` pass the training corpus and selector), so a base model
and each of its adapters see the same sets. From each held-out sequence (file order, up to
``--geometry-samples``) one content word whose concept set T* has a member besides the original
token is drawn with ``numpy.random.default_rng(split_seed)`` (the split seed, not the run's
``--seed``); its *variants* are ``input_ids[:position] + [t]`` for the original token (read from
the record) and then every other member of T*. Each variant's hidden state of layer ``--layer`` (default: last, after the final
norm) at that last token is one vector; causal attention means nothing after the content
token matters. Each prefix is run once and its key/value cache reused for all members. A held-out
file not cached yet is built in ``run`` (with the evaluated model when it is the base), never in
``prepare``, which loads no model.

The choice of concepts depends only on the concept file, the split seed and the sample count,
never on the model or the run seed, so every model compared gets exactly the same variant token
ids. Each concept is its own bootstrap cluster (one per held-out sequence). The
hidden states are computed once per model run and shared by both tasks (``ctx.shared``).
Metric formulas and the per-concept bootstrap pseudo-values: :mod:`harness.geometry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import UserError
from harness.task import Aggregation, Items, Metric, Task, TaskOutput, register_task

if TYPE_CHECKING:  # pragma: no cover
    from harness.concepts.concept_file import ConceptRecord, ConceptTarget
    from harness.lm.interface import LanguageModel
    from harness.runner import EvalContext

DEFAULT_CORPUS = "wiki"
DEFAULT_SELECTOR = "wordnet"
DEFAULT_SAMPLES = 1000


@dataclass(frozen=True)
class ConceptVariants:
    """One concept instance: a held-out sequence's content word and every member substituted."""

    id: str  # "<sequence index>:<position>", the bootstrap item id
    word: str
    prefix: tuple[int, ...]  # input_ids[:position]
    members: tuple[int, ...]  # the original token, then the other members of T*
    member_words: tuple[str, ...]

    @property
    def sequence(self) -> int:
        """The held-out sequence it comes from: its bootstrap cluster."""
        return int(self.id.split(":")[0])

    def variant_ids(self) -> list[list[int]]:
        return [list(self.prefix) + [t] for t in self.members]


@dataclass
class GeometryInputs:
    """What ``prepare`` resolved: the concept file and the chosen concept instances."""

    path: Path
    sha256: str
    header: dict[str, Any]
    concepts: list[ConceptVariants]
    settings: dict[str, Any]
    checked_unseen: bool | None = None  # the sets share no document with the model's training text (checked)


def concept_members(t: "ConceptTarget") -> tuple[list[int], list[str]]:
    """The original token (``token_id``, read from the record, not from the set), then every other set
    member once, in set order. For a built file that is T* as stored; a noise control's set never holds
    the original, which still heads the variants."""
    members, words = [t.token_id], [t.word]
    for tid, w in zip(t.set_ids, t.set_words):
        if tid not in members:
            members.append(tid)
            words.append(w)
    return members, words


def choose_concepts(records: list["ConceptRecord"], samples: int, seed: int) -> list[ConceptVariants]:
    """One content word per sequence, uniformly among targets with a set member besides the original
    token (≥ 2 variants), for the first ``samples`` sequences (file order) that have one; the rng
    advances once per sequence used."""
    rng = np.random.default_rng(seed)
    out: list[ConceptVariants] = []
    for rec in records:
        if len(out) >= samples:
            break
        eligible = [t for t in rec.targets if set(t.set_ids) - {t.token_id}]
        if not eligible:
            continue
        t = eligible[int(rng.integers(len(eligible)))]
        members, words = concept_members(t)
        out.append(ConceptVariants(id=f"{rec.index}:{t.position}", word=t.word,
                                   prefix=tuple(rec.input_ids[: t.position]), members=tuple(members),
                                   member_words=tuple(words)))
    return out


def variant_hidden_states(lm: "LanguageModel", concepts: list[ConceptVariants], layer: int = -1,
                          max_batch_tokens: int | None = None, progress: bool = True) -> list[np.ndarray]:
    """For each concept, a (|T*|, d) float32 array: the layer-``layer`` hidden state at the substituted token,
    each prefix run once and its KV cache reused for every member
    (:meth:`harness.lm.interface.LanguageModel.hidden_at`)."""
    states = lm.hidden_at([c.prefix for c in concepts], [c.members for c in concepts], layers=(layer,),
                          max_batch_tokens=max_batch_tokens, progress=progress)
    return [s[0] for s in states]


# ------------------------------------------------------------------ data


def _settings(ctx: "EvalContext") -> dict[str, Any]:
    extra = ctx.options.extra
    samples = extra.get("geometry_samples")
    samples = DEFAULT_SAMPLES if samples is None else int(samples)
    if samples < 2:
        raise UserError("--geometry-samples must be at least 2")
    if ctx.options.heldout_limit():
        samples = min(samples, ctx.options.heldout_limit())
    return {"corpus": extra.get("geometry_corpus") or DEFAULT_CORPUS,
            "selector": extra.get("geometry_selector") or DEFAULT_SELECTOR,
            "concepts": extra.get("geometry_concepts"), "samples": samples,
            "heldout_size": ctx.options.heldout_size(), "split_seed": ctx.options.split_seed()}


def _base_spec(ctx: "EvalContext") -> str:
    info = getattr(ctx, "model_info", None)
    if info is None:
        raise UserError("geometry tasks need the model being evaluated (run them through harness eval)")
    return info.base  # an adapter's base; a plain causal LM's own spec


def _cache_settings(ctx: "EvalContext", settings: dict[str, Any]) -> dict[str, Any]:
    # --limit (quick checks) builds only the first sequences of the held-out part, as its own cache entry
    return {"limit": ctx.options.heldout_limit(), "heldout_size": settings["heldout_size"],
            "split_seed": settings["split_seed"]}


def concept_file_path(ctx: "EvalContext", settings: dict[str, Any]) -> Path:
    """The held-out concept file: ``--geometry-concepts`` if given, else where the cached build for the base
    model is (or will be: :func:`resolve_inputs` builds it)."""
    if settings["concepts"]:
        path = Path(settings["concepts"]).expanduser()
        if not path.is_file():
            raise UserError(f"concept file {path} does not exist")
        return path
    from harness.concepts.builder import concept_cache_path

    spec = _base_spec(ctx)
    try:
        return concept_cache_path(spec, settings["corpus"], "heldout", settings["selector"],
                                  **_cache_settings(ctx, settings))
    except UserError as exc:
        raise UserError(f"held-out concept sets ({settings['corpus']}, {settings['selector']}) for {spec} "
                        f"are missing and cannot be built: {exc}") from None


@dataclass
class MissingConcepts:
    """What ``prepare`` returns when the cached held-out concept file does not exist yet: ``run`` builds it
    (:func:`resolve_inputs`), so that no model is loaded before every task is prepared."""

    settings: dict[str, Any]


def _key(settings: dict[str, Any]) -> tuple:
    return ("geometry-inputs", tuple(sorted((k, str(v)) for k, v in settings.items())))


def prepare(ctx: "EvalContext") -> "GeometryInputs | MissingConcepts":
    """Resolve the held-out concept sets and choose the concepts (both tasks share them); a cached file
    not built yet is left to ``run``."""
    settings = _settings(ctx)
    if _key(settings) in ctx.shared:
        return ctx.shared[_key(settings)]
    path = concept_file_path(ctx, settings)
    if not path.is_file():
        return MissingConcepts(settings)
    ctx.shared[_key(settings)] = load_inputs(ctx, path, settings)
    return ctx.shared[_key(settings)]


def resolve_inputs(lm: "LanguageModel", ctx: "EvalContext", prepared: "GeometryInputs | MissingConcepts"
                   ) -> GeometryInputs:
    """The prepared inputs; a missing cached file is built first, with ``lm`` itself when it is the base
    model (an adapter's base is loaded for the build)."""
    if isinstance(prepared, GeometryInputs):
        return prepared
    settings = prepared.settings
    if _key(settings) not in ctx.shared:
        from harness.concepts.builder import cached_concept_file

        model = lm if lm.info.kind == "causal_lm" else _base_spec(ctx)
        path = cached_concept_file(model, settings["corpus"], "heldout", settings["selector"],
                                   **_cache_settings(ctx, settings))
        ctx.shared[_key(settings)] = load_inputs(ctx, path, settings)
    return ctx.shared[_key(settings)]


def load_inputs(ctx: "EvalContext", path: Path, settings: dict[str, Any]) -> GeometryInputs:
    """Read the held-out concept file and choose the concepts."""
    from harness.concepts.concept_file import load_concept_file
    from harness.data import sha256_of

    cf = load_concept_file(path)
    if _split_part(cf.header) == "train":
        raise UserError(f"concept file {path} was built from training text; the geometry tasks need held-out text")
    concepts = choose_concepts(cf.records, settings["samples"], settings["split_seed"])
    if len(concepts) < 2:
        raise UserError(f"concept file {path} has {len(concepts)} sequence(s) with a concept set of ≥ 2 members; "
                        f"the geometry tasks need at least 2")
    return GeometryInputs(path=path, sha256=sha256_of(path), header=cf.header, concepts=concepts,
                          settings=settings, checked_unseen=_check_unseen(cf, ctx))


def _check_unseen(cf: Any, ctx: "EvalContext") -> bool | None:
    """When the held-out sets come from the corpus the evaluated model was trained on: True if they share
    no document with its training text (else a UserError, :func:`harness.splits.check_unseen`)."""
    from harness.corpora import BUILTIN, load_corpus
    from harness.splits import check_unseen

    training = ctx.model_info.training if ctx.model_info is not None else None
    trained = ((training or {}).get("concept_header") or {}).get("corpus")
    built = cf.header.get("corpus")
    if not (isinstance(trained, dict) and isinstance(built, dict) and trained.get("sha256") == built.get("sha256")):
        return None
    corpus = load_corpus(built["name"] if built.get("name") in BUILTIN else built["source"])
    return check_unseen(corpus, [r.text for r in cf.records], training)


def hidden_vectors(lm: "LanguageModel", ctx: "EvalContext", inputs: GeometryInputs) -> list[np.ndarray]:
    """Variant hidden states for this model, computed once per run and shared by both tasks."""
    from harness.concepts.concept_file import check_fits_tokenizer

    key = ("geometry-hidden", lm.info.id, inputs.sha256, len(inputs.concepts),
           inputs.settings["split_seed"], ctx.options.layer)
    if key not in ctx.shared:
        check_fits_tokenizer(inputs.header, lm.tokenizer, inputs.path)
        ctx.shared[key] = variant_hidden_states(lm, inputs.concepts, ctx.options.layer,
                                                ctx.options.max_batch_tokens)
    return ctx.shared[key]


def _split_part(header: dict[str, Any]) -> str:
    split = header.get("split", "")
    return str(split.get("part", "") if isinstance(split, dict) else split)


def _protocol(inputs: GeometryInputs, ctx: "EvalContext", vectors: list[np.ndarray]) -> dict[str, Any]:
    s, h = inputs.settings, inputs.header

    def name(key: str, default: str) -> str:  # header blocks are {"name": ...} dicts (builder) or plain strings
        value = h.get(key, default)
        return str(value.get("name", default)) if isinstance(value, dict) else str(value)

    return {"kind": "concept_geometry", "layer": ctx.options.layer, "position": "substituted content token",
            "corpus": name("corpus", s["corpus"]), "split": _split_part(h) or "heldout",
            "selector": name("selector", s["selector"]), "concept_model": h.get("model"),
            "samples": s["samples"], "split_seed": s["split_seed"], "heldout_size": s["heldout_size"],
            "checked_unseen": inputs.checked_unseen,
            "concepts": len(vectors),
            "variants": int(sum(len(v) for v in vectors)),
            "bootstrap": "per-concept influence-function pseudo-values (harness.geometry)"}


def _data(inputs: GeometryInputs) -> dict[str, Any]:
    h = inputs.header  # the corpus and split blocks (with their sha256) the builder recorded
    return {"concept_file": str(inputs.path), "concept_file_sha256": inputs.sha256,
            **{k: h[k] for k in ("corpus", "split") if isinstance(h.get(k), dict)}}


# ------------------------------------------------------------------ tasks


def run_clustering(lm: "LanguageModel", ctx: "EvalContext", prepared: Any) -> list[TaskOutput]:
    from harness.geometry import clustering_stats

    inputs = resolve_inputs(lm, ctx, prepared)
    vectors = hidden_vectors(lm, ctx, inputs)
    st = clustering_stats(vectors)
    items = Items(ids=[c.id for c in inputs.concepts], clusters=[c.sequence for c in inputs.concepts], columns={
        "n": st.n.tolist(), "intra": st.intra.tolist(), "cross_sum": st.cross_sum.tolist(),
        "cross_pairs": st.cross_pairs.tolist(), "inter_item": st.inter_item.tolist(),
        "score_item": st.score_item.tolist()})
    aggs = {"clustering_score": Aggregation("mean", ("score_item",)), "intra": Aggregation("mean", ("intra",)),
            "inter": Aggregation("mean", ("inter_item",))}
    return [TaskOutput(metrics=st.metrics(), items=items, aggregations=aggs, protocol=_protocol(inputs, ctx, vectors),
                       data=_data(inputs))]


def run_centroids(lm: "LanguageModel", ctx: "EvalContext", prepared: Any) -> list[TaskOutput]:
    from harness.geometry import centroid_stats

    inputs = resolve_inputs(lm, ctx, prepared)
    vectors = hidden_vectors(lm, ctx, inputs)
    st = centroid_stats(vectors)
    items = Items(ids=[c.id for c in inputs.concepts], clusters=[c.sequence for c in inputs.concepts],
                  columns={"centroid_cross": st.centroid_cross.tolist(), "item": st.item.tolist()})
    return [TaskOutput(metrics={"centroid_similarity": st.similarity}, items=items,
                       aggregations={"centroid_similarity": Aggregation("mean", ("item",))},
                       protocol=_protocol(inputs, ctx, vectors), data=_data(inputs))]


register_task(Task(
    name="clustering",
    description="Section 5.1: intra- minus inter-concept cosine of last-layer states of concept-set substitutions "
                "in held-out text",
    metrics=(Metric("clustering_score", True, "intra − inter"),
             Metric("intra", True, "mean pairwise cosine within a concept"),
             Metric("inter", False, "mean cosine over all pairs from different concepts")),
    main_metric="clustering_score", run=run_clustering, prepare=prepare, requires=frozenset({"causal_lm"}),
    group="geometry"))

register_task(Task(
    name="centroid_similarity",
    description="Section 5.1: mean pairwise cosine between concept centroids in held-out text (lower: better separated)",
    metrics=(Metric("centroid_similarity", False, "mean pairwise cosine across concept centroids"),),
    main_metric="centroid_similarity", run=run_centroids, prepare=prepare, requires=frozenset({"causal_lm"}),
    group="geometry"))
