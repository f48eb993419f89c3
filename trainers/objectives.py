"""Training objectives: named, pure functions of (logits, labels, concept batch, settings).

Notation (one micro-batch): ``logits`` [B, T, V] from the model's own forward pass, ``labels``
[B, T] (−100 = ignored), and a :class:`ConceptBatch` of N concept targets, target i sitting at
``position[i]`` of row ``batch_index[i]`` with concept set T*_i = ``set_ids[i][set_mask[i]]``.
Token t of a row is predicted from the logits at t − 1 (the usual causal shift).

Shared terms, all from ONE log-normaliser ``lse = logsumexp(logits, −1)`` per position:

- NTP: ``nll_t = lse_{t−1} − logits_{t−1}[label_t]``, ``L_NTP = Σ_t nll_t / N_tok``;
- concept: ``log p(T*_i) = logsumexp(logits_{p_i−1}[T*_i]) − lse_{p_i−1}`` (a gather of |T*| logits per
  target and a logsumexp over them: no second softmax over the vocabulary, no copy of [B, T, V]),
  ``ℓ_i = −log p(T*_i) = −log Σ_{t∈T*_i} p(t | prefix)``;
- mass threshold: ``keep_i = [p(T*_i) < threshold]`` (decided on detached values), and
  ``L_concept = Σ_i keep_i · ℓ_i / N`` (zeroed targets still count in N, as the paper sets the
  loss of such a target to 0); the share ``1 − mean(keep)`` is logged as ``zeroed_share``.

λ scopes (:func:`combine`, the one place where losses are normalised):

- ``all`` (the paper's equation 3.3): ``L = (1 − λ)·L_NTP + λ·L_concept``;
- ``content`` (the paper's public code): ``L = (Σ_{non-content} nll + (1 − λ)·Σ_{content} nll) / N_tok
  + λ·L_concept``, content positions being those that carry a concept target.

Every objective returns a per-micro-batch mean; the trainer tells ``transformers.Trainer`` so
(``loss_is_scaled_for_ga = False``) and it divides by the gradient-accumulation steps. That,
and nothing else, is how accumulation is handled.

This module is imported at CLI start-up (:data:`harness.plugins.BUILTIN_PLUGINS`): torch is
imported inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Callable

from concepts.concept_sets import DEFAULT_MASS_THRESHOLD
from harness.config import SHARE, Check, check_fields, option, provided
from harness.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    import torch

LAMBDA_SCOPES = ("all", "content")


@dataclass
class ConceptBatch:
    """The N concept targets of one micro-batch, flattened over its rows.

    ``position`` indexes ``input_ids`` (the content token itself); its prediction comes from
    the logits at ``position − 1``. ``set_ids`` [N, S] is padded (any id) where ``set_mask`` is False.
    Nothing here assumes the set holds the original token (the label at ``position``): a built
    concept file puts it first, a noise control's sets never contain it, and every term below
    reads the set only through ``set_ids``/``set_mask`` and the original only through ``labels``."""

    batch_index: "torch.Tensor"  # [N] long
    position: "torch.Tensor"  # [N] long, ≥ 1
    set_ids: "torch.Tensor"  # [N, S] long
    set_mask: "torch.Tensor"  # [N, S] bool

    def __len__(self) -> int:
        return int(self.position.shape[0])


@dataclass(frozen=True)
class ObjectiveSettings:
    """What an objective may read besides the tensors; each field is a flag of ``harness train``,
    ``train-and-eval`` and ``sweep`` and a key of ``harness_train.json`` (:mod:`harness.config`).

    ``lam`` is shared though only objectives that read λ use it, because λ is a run's identity across objectives:
    a sweep's dimension, the ``lam{λ}-...`` of run-folder names, "λ = 0 means NTP" (:func:`is_pure_ntp`), the
    leaderboard's λ column. ``extra`` holds the settings objectives declare for themselves (a dataclass of
    :func:`harness.config.option` fields passed as ``register_objective(..., settings=...)``, as
    :class:`ConceptSettings`): their flags join the commands, their values arrive here by name and the objective
    reads them with :meth:`of`. So an objective with settings of its own is one change in its own module."""

    lam: float = option(0.0, key="lambda", check=SHARE, help="concept-loss weight λ in [0, 1] (0 = pure NTP)")
    extra: dict[str, Any] = provided(lambda: OBJECTIVES.settings_classes())  # the registered ones' (Objective.settings)

    def __post_init__(self) -> None:  # the declared checks, for settings made in Python (flags: where parsed)
        check_fields(self, provided=True)

    def of(self, cls: type) -> Any:
        """The settings an objective declared (class ``cls``), from the values given (else its defaults)."""
        return cls(**{f.name: self.extra[f.name] for f in fields(cls) if self.extra.get(f.name) is not None})


@dataclass(frozen=True)
class ConceptSettings:
    """The concept objective's own settings; recorded under their field names (``lambda_scope``, ``mass_threshold``)."""

    lambda_scope: str = option("all", choices=LAMBDA_SCOPES,
                               help="all: L = (1−λ)·NTP + λ·concept (the paper's equation); content: (1−λ) scales "
                                    "NTP only at content-word positions (the paper's public code)")
    mass_threshold: float = option(DEFAULT_MASS_THRESHOLD, check=Check(gt=0, le=1),
                                   help="concept loss is 0 for a target once its set holds this much probability "
                                        f"(default {DEFAULT_MASS_THRESHOLD})")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class LossOutput:
    """The loss to back-propagate and what to log for this micro-batch (plain floats)."""

    loss: "torch.Tensor"
    logs: dict[str, float]


@dataclass(frozen=True)
class Objective:
    """A named loss. ``uses_concepts``: it reads the concept batch (the collator always builds one);
    ``settings``: a dataclass of its own settings (see :class:`ObjectiveSettings`), or None;
    ``reads_lambda``: λ is its setting (it names its runs, a sweep trains it at every λ; else see :meth:`own`);
    ``needs_targets(settings)``: a concept file without targets is a user error;
    ``heads(base model, own settings, HeadsContext)``: extra modules (built before LoRA is added), attached to
    the model and run inside its forward pass as ``heads(final hidden states, labels, output embeddings,
    progress) -> LossOutput`` (:mod:`trainers.objective_heads`), their term added to the loss, ``progress``
    being the share of the optimizer steps done (None before it is known); trained beside the LoRA weights when they require gradients (:mod:`trainers.caft_joint`), else frozen
    (:mod:`trainers.caft`); ``prepare(examples, tokenizer, own settings, seed)``: rewrites the training
    examples once before training (:mod:`trainers.beyond_tokens`)."""

    name: str
    fn: Callable[["torch.Tensor", "torch.Tensor", ConceptBatch | None, ObjectiveSettings], LossOutput]
    description: str
    uses_concepts: bool = True
    settings: type | None = None
    reads_lambda: bool = False
    needs_targets: Callable[[ObjectiveSettings], bool] = lambda settings: False
    heads: Callable[[Any, Any], Any] | None = None
    prepare: Callable[[list, Any, Any, int], list] | None = None

    def __call__(self, logits, labels, concepts, settings: ObjectiveSettings) -> LossOutput:
        return self.fn(logits, labels, concepts, settings)

    def own(self, settings: ObjectiveSettings) -> ObjectiveSettings:
        """``settings`` holding only this objective's own extra settings (those it records), checked. An
        objective with settings of its own that does not read λ gets λ's default (recorded λ = 0), so a λ
        flag never makes two of its runs differ (``ntp`` keeps the λ given, as its runs always recorded)."""
        if self.settings is None:
            return replace(settings, extra={})
        settings.of(self.settings)  # its __post_init__ checks the values: one-line user errors
        names = {f.name for f in fields(self.settings)}
        if not self.reads_lambda:
            settings = ObjectiveSettings(extra=settings.extra)
        return replace(settings, extra={k: v for k, v in settings.extra.items() if k in names})


OBJECTIVES: Registry[Objective] = Registry("objective", discover=True)  # found by walking trainers/ (harness.plugins)


def register_objective(name: str, description: str, uses_concepts: bool = True, settings: type | None = None,
                       **hooks: Any):
    """``@register_objective("name", "what it does")`` over ``fn(logits, labels, concepts, settings)``;
    ``settings``: the objective's own settings dataclass (:class:`ObjectiveSettings`); ``hooks``: the other
    fields of :class:`Objective` (``reads_lambda``, ``needs_targets``, ``heads``, ``prepare``). A module of
    ``trainers/`` (or of a plugin package) that calls it at its top level is found by :mod:`harness.plugins`."""

    def wrap(fn):
        OBJECTIVES.register(name, Objective(name, fn, description, uses_concepts, settings, **hooks))
        return fn

    return wrap


# ------------------------------------------------------------------ shared terms


@dataclass
class NtpTerms:
    nll: "torch.Tensor"  # [B, T−1] per-position NLL (0 where ignored)
    valid: "torch.Tensor"  # [B, T−1] bool
    lse: "torch.Tensor"  # [B, T−1] log-normaliser of each predicting position

    @property
    def n_tokens(self) -> "torch.Tensor":
        return self.valid.sum()


def ntp_terms(logits: "torch.Tensor", labels: "torch.Tensor") -> NtpTerms:
    """Per-position next-token NLL from one logsumexp (reused by the concept term).

    Computed by :func:`trainers.logit_ops.lse_and_pick` (float32, one gradient buffer in the backward pass)."""
    from trainers.logit_ops import lse_and_pick

    target = labels[:, 1:]
    valid = target.ne(-100)
    lse, picked = lse_and_pick(logits, target.clamp(min=0))
    nll = (lse - picked) * valid
    return NtpTerms(nll=nll, valid=valid, lse=lse)


def concept_logprob(logits: "torch.Tensor", lse: "torch.Tensor", concepts: ConceptBatch) -> "torch.Tensor":
    """``log p(T*_i | prefix) = logsumexp(logits[b, p−1, T*_i]) − lse[b, p−1]`` for every target, [N]."""
    import torch

    from trainers.logit_ops import gather_logits

    row = concepts.batch_index
    pred_pos = concepts.position - 1
    set_logits = gather_logits(logits, row.unsqueeze(1), pred_pos.unsqueeze(1), concepts.set_ids)  # [N, S]
    set_logits = set_logits.masked_fill(~concepts.set_mask, float("-inf"))
    return torch.logsumexp(set_logits, dim=-1) - lse[row, pred_pos]


@dataclass
class ConceptTerms:
    nll: "torch.Tensor"  # [N] −log p(T*_i)
    keep: "torch.Tensor"  # [N] bool: mass below the threshold
    mass: "torch.Tensor"  # [N] p(T*_i), detached


def concept_terms(logits: "torch.Tensor", ntp: NtpTerms, concepts: ConceptBatch, threshold: float) -> ConceptTerms:
    logp = concept_logprob(logits, ntp.lse, concepts)
    mass = logp.detach().exp()
    return ConceptTerms(nll=-logp, keep=mass < threshold, mass=mass)


def content_mask(ntp: NtpTerms, concepts: ConceptBatch) -> "torch.Tensor":
    """[B, T−1] True at the predicting positions of concept targets (the content words)."""
    mask = ntp.valid.new_zeros(ntp.valid.shape)
    mask[concepts.batch_index, concepts.position - 1] = True
    return mask & ntp.valid


def combine(ntp: NtpTerms, concept: ConceptTerms | None, concepts: ConceptBatch | None,
            settings: ObjectiveSettings, scope: str = "all") -> LossOutput:
    """THE place losses are normalised and mixed (formulas in the module docstring), with λ = ``settings.lam``
    and the λ ``scope`` (the concept objective's ``ConceptSettings.lambda_scope``).

    Per-micro-batch means: NTP over the batch's label tokens, L_concept over its N targets
    (an empty set of targets gives 0 and still carries the graph)."""
    import torch

    n_tok = ntp.n_tokens.clamp(min=1)
    ntp_loss = ntp.nll.sum() / n_tok
    if concept is None:
        return LossOutput(loss=ntp_loss, logs=to_floats(ntp_loss=ntp_loss, n_tokens=ntp.n_tokens))
    n_con = concept.nll.shape[0]
    concept_loss = (concept.nll * concept.keep).sum() / max(n_con, 1)
    lam = float(settings.lam)
    if scope == "all":
        loss = (1.0 - lam) * ntp_loss + lam * concept_loss
    else:
        weight = torch.where(content_mask(ntp, concepts), 1.0 - lam, 1.0)
        loss = (ntp.nll * weight).sum() / n_tok + lam * concept_loss
    zeroed = (~concept.keep).sum() / max(n_con, 1)
    raw = concept.nll.detach().sum() / max(n_con, 1)
    return LossOutput(loss=loss, logs=to_floats(
        ntp_loss=ntp_loss, concept_loss=concept_loss, concept_nll_unthresholded=raw, zeroed_share=zeroed,
        set_mass=concept.mass.sum() / max(n_con, 1), n_tokens=ntp.n_tokens, n_concepts=torch.tensor(n_con)))


def to_floats(**values) -> dict[str, float]:
    """Detached tensors -> floats with one device sync: what an objective puts in :attr:`LossOutput.logs`."""
    import torch

    names = list(values)
    flat = torch.stack([values[n].detach().float().reshape(()).cpu() for n in names]).tolist()
    return dict(zip(names, flat))


# ------------------------------------------------------------------ the objectives


@register_objective("ntp", "next-token prediction only: L = L_NTP (cross-entropy over all label tokens)",
                    uses_concepts=False)
def ntp_objective(logits, labels, concepts, settings: ObjectiveSettings) -> LossOutput:
    return combine(ntp_terms(logits, labels), None, None, settings)


@register_objective("concept", "L = (1−λ)·L_NTP + λ·L_concept, L_concept = −log Σ_{t∈T*} p(t|prefix), zeroed "
                               "once p(T*) reaches the mass threshold; λ scope all (paper) or content (public code)",
                    settings=ConceptSettings, reads_lambda=True,
                    needs_targets=lambda settings: not is_pure_ntp("concept", settings.lam))
def concept_objective(logits, labels, concepts: ConceptBatch | None, settings: ObjectiveSettings) -> LossOutput:
    if concepts is None:
        raise ValueError("the concept objective needs a concept batch")
    own, ntp = settings.of(ConceptSettings), ntp_terms(logits, labels)
    return combine(ntp, concept_terms(logits, ntp, concepts, own.mass_threshold), concepts, settings, own.lambda_scope)


def is_pure_ntp(objective: str, lam: float) -> bool:
    """THE rule "λ = 0 means NTP": the ntp objective, or the concept objective at λ = 0 (its concept term weighs
    nothing), trains next-token prediction only: its runs are named ``ntp`` and it needs no concept targets."""
    return objective == "ntp" or (objective == "concept" and lam == 0.0)


def method_name(objective: str, lam: float, randomized: bool) -> str:
    """What a leaderboard calls the run: ``ntp`` (:func:`is_pure_ntp`), ``noise`` (the concept
    objective on a randomised concept file), ``concept``, or the objective's own name."""
    if is_pure_ntp(objective, lam):
        return "ntp"
    if objective == "concept":
        return "noise" if randomized else "concept"
    return objective
