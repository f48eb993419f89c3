"""What a finished training run leaves in its folder: the record ``harness_train.json`` (:func:`train_record`, read
by :mod:`harness.models` into ``ModelInfo.training``) and the adapter, staged then moved in (:func:`save_adapter`)."""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

from harness.atomic import atomic_write_json, atomic_write_text
from harness.config import recorded
from harness.models import TRAIN_CONFIG_FILE, portable_base
from harness.seen_texts import TRAINING_TEXTS_FILE
from trainers.objectives import method_name
from trainers.run_folder import LOG_FILE

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


def train_record(run, trainer, output, wall: float, n_trainable: int) -> dict[str, Any]:
    """The resolved config of the :class:`~trainers.training_run.TrainingRun` ``run`` and how its fit went (the
    ``transformers.Trainer`` and its ``train()`` output, ``wall`` seconds), as ``harness_train.json`` holds it;
    frozen heads add where they are cached and how stage 1 made them (``objective_heads``)."""
    from harness.provenance import git_commit, package_versions

    config, settings, header = run.config, run.settings, run.concept_file.header
    randomized = header.is_noise_control
    state = trainer.state
    record = {
        "method": method_name(config.objective, settings.lam, randomized),
        "objective": config.objective,
        **recorded(settings),
        "base": run.info.base,
        "base_id": run.info.id,
        "corpus": header.name("corpus"),
        "split": header.split_part or None,
        "selector": header.name("selector"),
        "randomized": randomized,
        "concept_file": str(run.concepts_path),
        "concept_file_sha256": run.concepts_sha256,
        "concept_header": {k: v for k, v in header.raw.items() if k not in ("type",)},
        "training_texts": run.seen[1],  # the file of the digests of the texts trained on (harness.seen_texts)
        "profile": config.profile,
        "hyperparameters": run.hyper.to_dict(),
        "seed": config.seed,
        "dtype": config.dtype,
        "activation_checkpointing": config.activation_checkpointing,
        "trainable_parameters": n_trainable,
        "train_sequences": len(run.train_set),
        "val_sequences": len(run.val_set),
        "steps": state.global_step,
        "epochs_done": state.epoch,
        "train_loss": finite_or_none(getattr(output, "training_loss", None)),  # a diverged run: null, not NaN
        "best_eval_loss": finite_or_none(state.best_metric),
        "best_checkpoint_step": state.best_global_step,
        "world_size": trainer.args.world_size,
        "resumed_from": run.resume_from.name if run.resume_from else None,
        "log": LOG_FILE,
        "wall_time_s": round(wall, 3),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    heads_record = getattr(run.heads.heads, "record", None) if run.heads is not None else None
    if heads_record:  # frozen heads: where they are cached, how stage 1 made them
        record["objective_heads"] = heads_record
    return record


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def save_adapter(model, out: Path, record: dict[str, Any], texts: str) -> None:
    """Stage the adapter and ``texts`` (``training_texts.json``), then move the files into ``out``;
    ``harness_train.json`` goes last. The adapter
    config names the base so that transformers, peft and lm-eval resolve it (:func:`harness.models.portable_base`:
    the hub id for the embedded default, which harness maps back to the embedded copy; the spec given
    otherwise; never a cache path or alias); the vocabulary is never resized, so no embedding layer is saved."""
    staging = out / f".staging-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    model.peft_config["default"].base_model_name_or_path = portable_base(record["base"])
    model.save_pretrained(str(staging), save_embedding_layers=False)
    from trainers.objective_heads import HEADS_FILE, save_heads, saved_heads

    heads = saved_heads(model)
    if heads is not None:  # not needed to evaluate the adapter; kept to continue or inspect the objective
        save_heads(heads, staging)
    atomic_write_text(staging / TRAINING_TEXTS_FILE, texts)
    atomic_write_json(staging / TRAIN_CONFIG_FILE, record)
    for name in ADAPTER_FILES + (TRAINING_TEXTS_FILE,) + ((HEADS_FILE,) if heads is not None else ()):
        os.replace(staging / name, out / name)
    os.replace(staging / TRAIN_CONFIG_FILE, out / TRAIN_CONFIG_FILE)
    shutil.rmtree(staging)

