"""A model block -> its *configuration*: the short method label, the settings that make the
configuration, and the settings an NTP run must share with it to be its reference.

A configuration is what a run was asked to do: its training record (``harness_train.json``, kept
in ``model.training``) without the training seed and without what the run produced or where it ran
(:data:`RUN_RECORD`: losses, steps, wall time, paths, versions, ...), the concept objective's own settings read
as one fixed value in another objective's record (:data:`CONCEPT_ONLY`). Runs that differ only by seed
are one configuration, shown as the mean and spread across seeds (:mod:`leaderboard.paper_tables`,
:mod:`leaderboard.plot_data`).

The NTP reference of a trained run (λ = 0 of the concept objective, or the ``ntp`` objective) is the
NTP run of the same base model, training corpus and split, profile, hyperparameters and dtype
(:data:`NTP_SHARED`): the same training size and settings except what only the concept loss reads
(λ, its scope, the mass threshold, the synonym selector and set size, the noise flag, the objective's
own settings). Why not the whole configuration: those settings do not change an NTP run, so an NTP
run recorded under other values of them is still the same run.

Labels: ``Base``, ``NTP``, ``Concept λ=0.25``, ``Noise λ=0.5``, with `` (content scope)`` when λ scales
NTP only at content-word positions (the public code's variant), the other objectives by
:data:`OBJECTIVE_LABELS` (else their registered name), external models by their display name. The
labels are keyed by objective name rather than read from ``trainers.objectives``: the leaderboard
imports ``harness`` only (``lint-imports``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from harness.results import ResultModel
from leaderboard.table import classify, display_name

OBJECTIVE_LABELS = {"caft": "CAFT", "synonym-augment": "Synonym-augment", "alternatives": "Alternatives",
                    "weighted-ce": "Weighted CE", "ntp": "NTP"}
METHOD_LABELS = {"base": "Base", "ntp": "NTP", "concept": "Concept", "noise": "Noise"}
# keys of harness_train.json that record what one run did or where, not what it was asked to do
RUN_RECORD = frozenset({
    "seed", "base_id", "concept_file", "concept_file_sha256", "concept_header", "training_texts",
    "activation_checkpointing", "trainable_parameters", "train_sequences", "val_sequences", "steps", "epochs_done",
    "train_loss", "best_eval_loss", "best_checkpoint_step", "resumed_from", "log", "wall_time_s", "versions",
    "git_commit", "created",
})
# Settings of the concept objective (its own: trainers.objectives.ConceptSettings) that older code recorded for every
# objective, a run of another objective holding the values it was given (ntp) or these defaults (the others). They
# never changed such a run, so in another objective's record they read as these values whether present or not
# (:func:`_settings`): its records from before and after are one configuration, the configurations of older records
# keep their keys. Stable identifiers of recorded values (0.6 was DEFAULT_MASS_THRESHOLD): keep them literally.
CONCEPT_ONLY = {"lambda_scope": "all", "mass_threshold": 0.6}
NTP_SHARED = ("base", "corpus", "split", "profile", "hyperparameters", "dtype", "world_size")
NTP_IGNORED_HYPER = frozenset({"selector", "max_synonyms"})  # shape the concept sets only


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Config:
    """Where a model's results go in the paper tables."""

    group: str  # base model spec (:func:`leaderboard.table.classify`); "" for encoders and external models
    method: str  # base | ntp | concept | noise | <objective> | external
    lam: float | None
    scope: str  # lambda_scope ("all", "content"); "" when not recorded
    corpus: str  # the training corpus; "" for a model the harness did not train
    label: str
    key: str  # canonical JSON of the configuration (seed excluded): models with the same key are its seeds
    ntp_key: str | None  # canonical JSON of NTP_SHARED; None for an untrained model
    seed: int | None

    @property
    def trained(self) -> bool:
        return self.ntp_key is not None

    @property
    def config_id(self) -> str:
        """A short stable name of the configuration (the CSV's ``configuration`` column)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:10]


def method_label(method: str, lam: float | None, scope: str, objective: str) -> str:
    if method in ("concept", "noise"):
        label = f"{METHOD_LABELS[method]} λ={lam:g}" if lam is not None else METHOD_LABELS[method]
        return label + (" (content scope)" if scope == "content" else "")
    return METHOD_LABELS.get(method) or OBJECTIVE_LABELS.get(objective or method, objective or method)


def configuration(model: ResultModel) -> Config:
    """The configuration of a result's model block (see the module docstring)."""
    c = classify(model)
    training = model.training or {}
    if not (training.get("method") or training.get("objective")):
        label = "Base" if c.method == "base" else display_name(model)
        return Config(c.group, c.method, None, "", "", label, _canonical({"model": model.id}), None, None)
    settings = _settings(training)
    shared = {k: training.get(k) for k in NTP_SHARED}
    if isinstance(shared["hyperparameters"], dict):
        shared["hyperparameters"] = {k: v for k, v in shared["hyperparameters"].items() if k not in NTP_IGNORED_HYPER}
    shared["base"] = c.group
    scope = str(training.get("lambda_scope") or "") if c.method in ("concept", "noise") else ""
    seed = training.get("seed")
    objective = str(training.get("objective") or "")
    return Config(c.group, c.method, c.lam, scope, c.corpus, method_label(c.method, c.lam, scope, objective),
                  _canonical({"group": c.group, **settings}), _canonical(shared),
                  seed if isinstance(seed, int) and not isinstance(seed, bool) else None)


def trend_key(model: ResultModel) -> str:
    """Canonical JSON of the configuration without λ: the configurations of one key are one line against λ
    in the plots (:mod:`leaderboard.plot_data`)."""
    settings = {k: v for k, v in _settings(model.training or {}).items() if k != "lambda"}
    return _canonical({"group": classify(model).group, **settings})


def settings_differences(models: list[ResultModel]) -> list[dict[str, str]]:
    """Per model, ``key=value`` of the training settings (flattened, ``hyperparameters.lr``) in which the
    models differ: what tells apart configurations that share a label."""
    flat = [_flatten(_settings(m.training or {})) for m in models]
    keys = sorted({k for f in flat for k in f})
    differing = [k for k in keys if len({_canonical(f.get(k)) for f in flat}) > 1]
    return [{k: _canonical(f.get(k)).strip('"') for k in differing} for f in flat]


def _settings(training: dict[str, Any]) -> dict[str, Any]:
    """What a training record says the run was asked to do: the record without :data:`RUN_RECORD`, and for an
    objective other than concept (a record that names one), :data:`CONCEPT_ONLY`'s values in place of its own."""
    settings = {k: v for k, v in training.items() if k not in RUN_RECORD}
    if training.get("objective") not in (None, "", "concept"):
        settings.update(CONCEPT_ONLY)
    return settings


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out

