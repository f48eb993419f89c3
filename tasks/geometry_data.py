"""The geometry tasks' inputs: held-out concept sets, the concepts chosen from them, and what a result
records about them (see :mod:`tasks.geometry` for the method).

``prepare`` needs no model: it validates the options, finds the concept file (``--geometry-concepts``,
or the cached build of the base model for the corpus, held-out part and selector) and, when it exists,
reads it and chooses the concepts, so a malformed file fails before any model is loaded. A cached build
that does not exist yet is made when a task first runs, by the base model the runner provides
(``ctx.base_model()``: the model evaluated, or an adapter's base), so it is never loaded twice for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from concepts.concept_header import ConceptHeader
from concepts.selectors.llm import JUDGE_BACKENDS
from harness.errors import UserError
from harness.config import AT_LEAST_1
from harness.task import TaskOption
from tasks.heldout import HeldoutSettings

if TYPE_CHECKING:  # pragma: no cover
    from concepts.concept_file import ConceptFile, ConceptRecord, ConceptTarget
    from harness.task import EvalContext

DEFAULT_CORPUS = "wiki"
DEFAULT_SELECTOR = "wordnet"
DEFAULT_SAMPLES = 1000
OPTIONS = (
    TaskOption("geometry_corpus", f"corpus whose held-out split gives the geometry tasks' concept sets (default: "
                                  f"{DEFAULT_CORPUS}; train-and-eval and sweep: the training corpus)"),
    TaskOption("geometry_selector", f"synonym selector of the geometry tasks' concept sets (default: {DEFAULT_SELECTOR}; "
                                    f"train-and-eval and sweep: the training selector)"),
    TaskOption("geometry_samples", "held-out sequences for clustering/centroid_similarity", type=int,
               default=DEFAULT_SAMPLES, check=AT_LEAST_1),
    TaskOption("geometry_concepts", "a concept file to use instead of the cached held-out build (geometry tasks)"),
    TaskOption("geometry_judge", "judge of the geometry tasks' llm-selector sets (default: the embedded default; "
                                 "train-and-eval and sweep: the training judge)"),
    TaskOption("geometry_judge_backend", "what runs --geometry-judge: hf (default) or vllm (train-and-eval and sweep: "
                                         "the training backend)", choices=JUDGE_BACKENDS),
)  # and those of HeldoutSettings (the tasks' settings=)


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
    """The concept file read and the concept instances chosen from it."""

    path: Path
    sha256: str
    header: ConceptHeader
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


@dataclass
class GeometryPlan:
    """What ``prepare`` resolved; ``inputs`` is None until a missing cached build is made."""

    settings: dict[str, Any]
    path: Path
    inputs: GeometryInputs | None = None


def settings_of(ctx: "EvalContext") -> dict[str, Any]:
    samples = int(ctx.option("geometry_samples"))
    if samples < 2:
        raise UserError("--geometry-samples must be at least 2")
    heldout = ctx.settings(HeldoutSettings)
    if heldout.sequence_limit(ctx.options.limit):
        samples = min(samples, heldout.sequence_limit(ctx.options.limit))
    return {"corpus": ctx.option("geometry_corpus") or DEFAULT_CORPUS,
            "selector": ctx.option("geometry_selector") or DEFAULT_SELECTOR,
            "concepts": ctx.option("geometry_concepts"), "samples": samples,
            "heldout_size": heldout.heldout_size, "split_seed": heldout.split_seed,
            "judge": ctx.option("geometry_judge"), "judge_backend": ctx.option("geometry_judge_backend")}


def _build_settings(ctx: "EvalContext", settings: dict[str, Any]) -> dict[str, Any]:
    """The builder settings of the held-out concept sets (``--limit`` builds only the first sequences of the
    held-out part, as its own cache entry); the llm selector's judge and backend when given (not the
    defaults: the cache keys of the builds made before these options existed stay the same)."""
    llm = settings["selector"] == "llm"
    judge = {"judge": settings["judge"], "judge_backend": settings["judge_backend"]} if llm else {}
    return {"limit": ctx.settings(HeldoutSettings).sequence_limit(ctx.options.limit), "heldout_size": settings["heldout_size"],
            "split_seed": settings["split_seed"], **{k: v for k, v in judge.items() if v not in (None, "hf")}}


def prepare(ctx: "EvalContext") -> GeometryPlan:
    """Find (and, when it exists, read) the held-out concept sets; both tasks share the plan."""
    from concepts.concept_cache import concept_cache_path
    from harness.models import describe_spec

    settings = settings_of(ctx)
    key = ("geometry-inputs", tuple(sorted((k, str(v)) for k, v in settings.items())))
    if key in ctx.shared:
        return ctx.shared[key]
    if settings["concepts"]:
        path = Path(settings["concepts"]).expanduser()
        if not path.is_file():
            raise UserError(f"concept file {path} does not exist")
    else:
        info = ctx.model_info
        if info is None:
            raise UserError("geometry tasks need the model being evaluated (run them through harness eval)")
        base = info if info.kind == "causal_lm" else describe_spec(info.base)  # an adapter's sets are its base's
        try:
            path = concept_cache_path(base, settings["corpus"], "heldout", settings["selector"],
                                      dtype=ctx.base_dtype(), **_build_settings(ctx, settings))
        except UserError as exc:
            raise _cannot_build(settings, base.spec, exc) from None
    plan = GeometryPlan(settings, path)
    if path.is_file():
        plan.inputs = _read(path, settings, ctx)
    elif settings["selector"] == "llm":  # a judge this machine cannot get fails before any model loads
        from concepts.judge_check import require_judge

        require_judge(settings["judge"], "--geometry-judge", "download it or pass --geometry-judge <folder or hub id>")
    ctx.shared[key] = plan
    return plan


def inputs_of(ctx: "EvalContext", plan: GeometryPlan) -> GeometryInputs:
    """The plan's inputs, building the cached held-out concept sets with the base model first if missing."""
    if plan.inputs is None:
        from concepts.concept_cache import cached_concept_file

        s = plan.settings
        base = ctx.base_model()
        try:
            path = cached_concept_file(base, s["corpus"], "heldout", s["selector"], **_build_settings(ctx, s))
        except UserError as exc:
            raise _cannot_build(s, base.info.spec, exc) from None
        plan.inputs = _read(path, s, ctx)
    return plan.inputs


def _cannot_build(settings: dict[str, Any], spec: str, exc: UserError) -> UserError:
    return UserError(f"held-out concept sets ({settings['corpus']}, {settings['selector']}) for {spec} are missing "
                     f"and cannot be built: {exc}")


def _read(path: Path, settings: dict[str, Any], ctx: "EvalContext") -> GeometryInputs:
    """Read the concept file and choose the concepts (user errors for training text or too few concepts)."""
    from concepts.concept_file import load_concept_file
    from harness.data import sha256_of

    cf = load_concept_file(path)
    if cf.header.split_part == "train":
        raise UserError(f"concept file {path} was built from training text; the geometry tasks need held-out text")
    concepts = choose_concepts(cf.records, settings["samples"], settings["split_seed"])
    if len(concepts) < 2:
        raise UserError(f"concept file {path} has {len(concepts)} sequence(s) with a concept set of ≥ 2 members; "
                        f"the geometry tasks need at least 2")
    return GeometryInputs(path=path, sha256=sha256_of(path), header=cf.header, concepts=concepts,
                          settings=settings, checked_unseen=_check_unseen(cf, path, concepts, ctx))


def _check_unseen(cf: "ConceptFile", path: Path, concepts: list[ConceptVariants], ctx: "EvalContext") -> bool | None:
    """True when no sequence the concepts come from shares a document of the sets' corpus with the texts the
    evaluated model was trained on (checked by their digests, whatever the corpus; a shared document is a
    UserError, :func:`harness.seen_texts.check_unseen`); None when there is nothing to check (a base model,
    an adapter the harness did not train or trained before it recorded its texts). A file that names no
    corpus is checked sequence by sequence (each its own document)."""
    from harness.corpora import load_corpus
    from harness.seen_texts import check_unseen

    seen = ctx.model_info.trained_texts() if ctx.model_info is not None else None
    if seen is None:
        return None
    spec = cf.header.corpus_spec
    corpus = load_corpus(spec) if spec else None
    used = {c.sequence for c in concepts}
    records = [r for r in cf.records if r.index in used]
    where = f"corpus {corpus.name} at {corpus.source}, " if corpus is not None else ""
    return check_unseen(corpus, [r.text for r in records], seen,
                        f"held-out sequences of the geometry concept sets ({where}concept file {path})",
                        labels=[r.index for r in records])


def protocol_block(inputs: GeometryInputs, ctx: "EvalContext", vectors: list[np.ndarray]) -> dict[str, Any]:
    s, h = inputs.settings, inputs.header
    return {"kind": "concept_geometry", "layer": ctx.options.layer, "position": "substituted content token",
            "corpus": h.name("corpus") or s["corpus"], "split": h.split_part or "heldout",
            "selector": h.name("selector") or s["selector"], "concept_model": h.raw.get("model"),
            "samples": s["samples"], "split_seed": s["split_seed"], "heldout_size": s["heldout_size"],
            "checked_unseen": inputs.checked_unseen,
            "concepts": len(vectors),
            "variants": int(sum(len(v) for v in vectors)),
            # a recorded string (every geometry result file): a stable identifier, kept literally although the
            # module it names is now tasks.geometry_metrics
            "bootstrap": "per-concept influence-function pseudo-values (harness.geometry)"}


def data_block(inputs: GeometryInputs) -> dict[str, Any]:
    """The concept file and the corpus and split blocks (with their sha256) the builder recorded."""
    return {"concept_file": str(inputs.path), "concept_file_sha256": inputs.sha256,
            **{k: inputs.header.block(k) for k in ("corpus", "split") if inputs.header.block(k)}}
