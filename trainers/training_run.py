"""A training run as one object, built once by :func:`prepare_run` before anything is written: its resolved config,
objective, hyperparameters, base model, tokenizer, concept file, training and validation examples, and output
folder (:class:`~trainers.run_folder.RunFolder`, named by the run's identity). The model joins it when
:func:`trainers.recipe.train` has loaded and wrapped it. Every later step (the trainer, the record) reads the run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.config import recorded
from harness.data import sha256_of
from harness.errors import UserError
from harness.lm.load import model_folder, resolved_dtype
from harness.lm.tokenizer import load_tokenizer
from harness.models import ModelInfo, describe_spec
from harness.seen_texts import training_texts_file
from trainers.objective_heads import HeadsContext
from trainers.objectives import OBJECTIVES, Objective, ObjectiveSettings
from trainers.profiles import Hyper, resolve_profile
from trainers.run_folder import RunFolder, is_main_process
from trainers.train_config import TrainConfig


@dataclass
class TrainingRun:
    """One training run. ``config``: as given, with the objective's own settings only (what it records) and the
    dtype resolved (part of the identity); ``seen``: (``training_texts.json``'s text, its summary for the record)
    of the texts trained and validated on; ``model``: the LoRA model being trained (None until loaded) and
    ``heads`` its objective's attached heads (:class:`trainers.objective_heads.AttachedHeads`, or None);
    ``resume_from``: the checkpoint it continues from."""

    config: TrainConfig
    objective: Objective
    hyper: Hyper
    info: ModelInfo
    tokenizer: Any
    concept_file: Any  # concepts.concept_file.ConceptFile
    concepts_path: Path
    concepts_sha256: str
    train_set: list
    val_set: list
    seen: tuple[str, dict]
    folder: RunFolder
    model: Any = None
    heads: Any = None
    resume_from: Path | None = None

    @property
    def settings(self) -> ObjectiveSettings:
        return self.config.settings

    def heads_context(self) -> HeadsContext:
        """What the objective's heads may read of the run (:attr:`trainers.objectives.Objective.heads`)."""
        c = self.config
        return HeadsContext(self.train_set, self.tokenizer.pad_token_id, self.hyper.batch_size, self.hyper.grad_accum,
                            self.hyper.warmup_ratio, c.seed, c.device, self.info.name, c.progress and is_main_process())


def prepare_run(config: TrainConfig) -> TrainingRun:
    """Steps 1–2 of :func:`trainers.recipe.train`: check the settings and the objective, resolve the base model and
    its tokenizer, read the concept file (built for that tokenizer, from the train part of its split if it names
    one), make and split the examples, let the objective rewrite them; nothing written."""
    if config.concepts is None or config.out is None:
        raise UserError("training needs a concept file (--concepts) and an output folder (--out)")
    objective = OBJECTIVES.get(config.objective)
    config = replace(config, settings=objective.own(config.settings))  # it records its own settings only
    settings = config.settings
    hyper = resolve_profile(config.profile, config.overrides)
    info = describe_spec(config.model)
    if info.kind != "causal_lm":
        raise UserError(f"--model {config.model} is {'an adapter' if info.kind == 'adapter' else 'an encoder'}: "
                        f"train from a causal LM (a base model)")
    from concepts.concept_file import load_concept_file

    tokenizer = load_tokenizer(model_folder(info))
    concepts_path = Path(config.concepts).expanduser().resolve()
    concept_file = load_concept_file(concepts_path, tokenizer)
    concept_file.header.check_training_part(concepts_path)
    from trainers.data import examples_from_records, split_validation

    examples = examples_from_records(concept_file.records, hyper.max_length, hyper.max_synonyms)
    if objective.needs_targets(settings) and not any(e.positions for e in examples):
        raise UserError(f"concept file {concepts_path} holds no concept targets to train on")
    train_set, val_set = split_validation(examples, hyper.val_fraction, config.seed)
    seen = training_texts_file(e.text for e in train_set + val_set)  # validation text too: it picks the checkpoint
    if objective.prepare is not None:
        train_set = objective.prepare(train_set, tokenizer, settings.of(objective.settings), config.seed)

    out = Path(config.out).expanduser().resolve()
    config = replace(config, dtype=resolved_dtype(config.device, config.dtype))  # recorded: part of the identity
    digest = sha256_of(concepts_path)
    folder = RunFolder(out, run_identity(config, info, hyper, digest))
    return TrainingRun(config, objective, hyper, info, tokenizer, concept_file, concepts_path, digest, train_set,
                       val_set, seen, folder)


def run_identity(config: TrainConfig, info: ModelInfo, hyper: Hyper, concepts_sha256: str) -> dict[str, Any]:
    """What makes two runs the same run (an output folder holds exactly one): ``run.json``."""
    return {"base": info.base, "concepts_sha256": concepts_sha256, "objective": config.objective,
            **recorded(config.settings), "profile": config.profile, "hyperparameters": hyper.to_dict(),
            "seed": config.seed, "dtype": config.dtype}
