"""``train(config)``: concept file + base model -> LoRA adapter folder, top to bottom.

Order of work, so that user errors cost nothing and overwrite nothing:

1. check the settings (λ ∈ [0, 1], scope, threshold, hyperparameters) and the objective name;
2. resolve the base model (no adapters) and load its tokenizer; read the concept file and check it
   was built for that tokenizer and from the train part of its split, if it names one;
3. check the output folder: empty or new; or holding this same run (``run.json``): finished ->
   returned as it is, interrupted -> needs ``resume``; anything else is a user error;
4. check free disk space against an estimate of checkpoints + adapter;
5. load the model, build the objective's heads on it if it has any (``caft``: stage 1, or its cache), add
   LoRA, train with :class:`trainers.trainer.ObjectiveTrainer`
   (checkpoints in ``OUT/checkpoints``, per-step log in ``OUT/train_log.jsonl``);
6. save the adapter and the digests of the texts it was trained and validated on (``training_texts.json``,
   :mod:`harness.seen_texts`) into a staging folder, then move its files into ``OUT`` with
   ``harness_train.json`` last: a folder holding ``harness_train.json`` holds a whole adapter.

The output folder is itself the adapter folder: ``harness eval --model OUT`` and
``PeftModel.from_pretrained(base, OUT)`` read it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from concepts.concept_header import ConceptHeader
from harness.config import SEED, nested, option, overrides, recorded
from harness.data import sha256_of
from harness.errors import UserError
from harness.lm.load import model_folder, resolved_dtype
from harness.lm.tokenizer import load_tokenizer
from harness.models import (DEVICE_HELP, DTYPE_HELP, DTYPES, EMBEDDED_DEFAULT, TRAIN_CONFIG_FILE, ModelInfo,
                            describe_spec, parse_device, portable_base)
from harness.atomic import atomic_write_json, atomic_write_text
from harness.seen_texts import TRAINING_TEXTS_FILE, training_texts_file
from trainers.objectives import OBJECTIVES, HeadsContext, ObjectiveSettings, method_name
from trainers.profiles import DEFAULT_PROFILE, PROFILES, Hyper, resolve_profile
from trainers.reporting import report_targets
from trainers.run_folder import (CHECKPOINTS, LOG_FILE, check_disk_space, check_output_folder, claimed,
                                 clear_unstarted, count_lora_parameters, estimate_disk_bytes, is_main_process,
                                 last_checkpoint, prepare_output_folder)

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


@dataclass
class TrainConfig:
    """Everything ``harness train`` takes, declared once: each field is a flag (:mod:`harness.config`),
    ``train-and-eval`` and ``sweep`` nest this config, and ``harness_train.json`` records it.
    ``overrides`` are :class:`~trainers.profiles.Hyper` fields (None: the profile's)."""

    model: str = option(EMBEDDED_DEFAULT, help=f"base model spec (default: the embedded {EMBEDDED_DEFAULT})")
    concepts: Path | None = option(None, type=Path, help="concept file (harness concepts build)")
    out: Path | None = option(None, type=Path, help="output folder: becomes the adapter folder (checkpoints inside)")
    objective: str = option("concept", help="training objective (see harness list): ntp, concept, ...")
    settings: ObjectiveSettings = nested(ObjectiveSettings)
    profile: str = option(DEFAULT_PROFILE, choices=tuple(PROFILES),
                          help="hyperparameter profile: cpu (default, minutes on a laptop CPU) or paper (the "
                               "paper's setup, docs/training-settings.md)")
    overrides: dict[str, Any] = overrides(Hyper)
    seed: int = option(0, check=SEED, help="seed of the run")
    resume: bool = option(False, help="continue from the last checkpoint in the output folder")
    device: str = option("auto", type=parse_device, help=DEVICE_HELP)
    dtype: str = option("auto", choices=DTYPES, help=DTYPE_HELP)
    report_to: str = option("none", type=report_targets, help="transformers logging integrations: none, all, wandb,...")
    progress: bool = option(True, flag="--no-progress", help="no progress bar")
    activation_checkpointing: bool = option(
        True, flag="--no-activation-checkpointing",
        help="keep every layer's activations instead of recomputing them in the backward pass (faster, ~1.5 GB "
             "more memory per 1,024 training tokens of SmolLM2-135M; the adapter is the same)")

    def __post_init__(self) -> None:
        OBJECTIVES.get(self.objective).own(self.settings)  # unknown names, settings outside their domain: fail now


@dataclass
class TrainResult:
    adapter: Path
    record: dict[str, Any]  # the contents of harness_train.json
    reused: bool = False  # the folder already held this finished run


# ------------------------------------------------------------------ train


def train(config: TrainConfig, callbacks: Sequence[Any] = (), model: Any = None) -> TrainResult:
    """Train one LoRA adapter into ``config.out`` (see the module docstring for the order of work).

    ``model``: the base model's module, already loaded with the training dtype (``train-and-eval``'s), trained
    in place instead of loading the model again, and given back as it was (:func:`harness.lm.hf_load.unwrap_lora`)."""
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
    identity = run_identity(config, info, hyper, digest)
    with claimed(out):
        return _train_into(out, config, identity, info, hyper, settings, objective, tokenizer, concept_file,
                           concepts_path, digest, train_set, val_set, seen, callbacks, model)


def _train_into(out: Path, config: TrainConfig, identity: dict[str, Any], info: ModelInfo, hyper: Hyper,
                settings: ObjectiveSettings, objective, tokenizer, concept_file, concepts_path: Path, digest: str,
                train_set, val_set, seen: tuple[str, dict], callbacks: Sequence[Any], base: Any) -> TrainResult:
    """The part of :func:`train` that runs holding ``out`` (:func:`trainers.run_folder.claimed`)."""
    state = check_output_folder(out, identity, config.resume)
    if state == "finished":
        return TrainResult(adapter=out, record=json.loads((out / TRAIN_CONFIG_FILE).read_text()), reused=True)
    if state == "new" and is_main_process():
        clear_unstarted(out, created=False)  # what a run killed before its first checkpoint left

    from harness.lm.load import load_model
    from harness.runner import seed_everything

    check_disk_space(out, estimate_disk_bytes(count_lora_parameters(model_folder(info), hyper)))
    seed_everything(config.seed)
    from trainers.trainer import add_lora, attach_heads, build_objective_heads, release_heads

    if base is None:
        base = load_model(config.model, device="cpu", dtype=config.dtype, info=info).module
    heads = build_objective_heads(objective, settings, base, HeadsContext(
        train_set, tokenizer.pad_token_id, hyper.batch_size, hyper.grad_accum, hyper.warmup_ratio, config.seed,
        config.device, info.name, config.progress and is_main_process()))
    model = add_lora(base, hyper)
    resume_from = last_checkpoint(out / CHECKPOINTS) if state == "resume" else None
    if config.resume and resume_from is None and is_main_process():
        print(f"harness: note: --out {out} holds no checkpoint to resume; training from the start", file=sys.stderr)
    attach_heads(model, heads, resume_from)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if is_main_process():  # other processes of a distributed run only read the folder
        prepare_output_folder(out, identity, resume_from)

    trainer = build_trainer(config, hyper, model, tokenizer, train_set, val_set, objective, settings, out, callbacks)
    start = time.perf_counter()
    model.train()
    try:
        output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    finally:
        release_heads(heads)
    wall = time.perf_counter() - start

    record = train_record(config, info, hyper, settings, concept_file.header, concepts_path, digest, seen[1],
                          n_trainable, len(train_set), len(val_set), trainer, output, wall, resume_from)
    if getattr(heads, "record", None):  # frozen heads: where they are cached, how stage 1 made them
        record["objective_heads"] = heads.record
    if trainer.is_world_process_zero():
        save_adapter(trainer.model, out, record, seen[0])
    trainer.accelerator.wait_for_everyone()
    from harness.lm.hf_load import unwrap_lora

    unwrap_lora(model)  # the base module, as it came (a given one serves as the base again)
    return TrainResult(adapter=out, record=record)


def run_identity(config: TrainConfig, info: ModelInfo, hyper: Hyper, concepts_sha256: str) -> dict[str, Any]:
    """What makes two runs the same run (an output folder holds exactly one)."""
    return {"base": info.base, "concepts_sha256": concepts_sha256, "objective": config.objective,
            **recorded(config.settings), "profile": config.profile, "hyperparameters": hyper.to_dict(),
            "seed": config.seed, "dtype": config.dtype}


def build_trainer(config: TrainConfig, hyper: Hyper, model, tokenizer, train_set, val_set, objective, settings,
                  out: Path, callbacks: Sequence[Any]):
    from transformers import EarlyStoppingCallback

    from trainers.data import ConceptCollator
    from trainers.trainer import ObjectiveTrainer, StepLog, training_arguments

    args = training_arguments(hyper, out / CHECKPOINTS, config.seed, config.device, config.report_to,
                              config.activation_checkpointing)
    trainer = ObjectiveTrainer(model=model, args=args, train_dataset=[e.as_feature() for e in train_set],
                               eval_dataset=[e.as_feature() for e in val_set] or None,
                               data_collator=ConceptCollator(pad_id=tokenizer.pad_token_id),
                               objective=objective, settings=settings)
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(StepLog(trainer, out / LOG_FILE, progress=config.progress))
    if args.load_best_model_at_end:
        trainer.add_callback(EarlyStoppingCallback(early_stopping_patience=hyper.early_stopping_patience))
    for cb in callbacks:
        trainer.add_callback(cb)
    return trainer


def train_record(config: TrainConfig, info: ModelInfo, hyper: Hyper, settings: ObjectiveSettings,
                 header: ConceptHeader, concepts_path: Path, digest: str, texts: dict[str, Any], n_trainable: int,
                 n_train: int, n_val: int, trainer, output, wall: float, resume_from: Path | None) -> dict[str, Any]:
    """The resolved config written as ``harness_train.json`` (read by harness.models into ModelInfo.training)."""
    from harness.provenance import git_commit, package_versions

    randomized = header.is_noise_control
    state = trainer.state
    return {
        "method": method_name(config.objective, settings.lam, randomized),
        "objective": config.objective,
        **recorded(settings),
        "base": info.base,
        "base_id": info.id,
        "corpus": header.name("corpus"),
        "split": header.split_part or None,
        "selector": header.name("selector"),
        "randomized": randomized,
        "concept_file": str(concepts_path),
        "concept_file_sha256": digest,
        "concept_header": {k: v for k, v in header.raw.items() if k not in ("type",)},
        "training_texts": texts,  # the file of the digests of the texts trained on (harness.seen_texts)
        "profile": config.profile,
        "hyperparameters": hyper.to_dict(),
        "seed": config.seed,
        "dtype": config.dtype,
        "activation_checkpointing": config.activation_checkpointing,
        "trainable_parameters": n_trainable,
        "train_sequences": n_train,
        "val_sequences": n_val,
        "steps": state.global_step,
        "epochs_done": state.epoch,
        "train_loss": finite_or_none(getattr(output, "training_loss", None)),  # a diverged run: null, not NaN
        "best_eval_loss": finite_or_none(state.best_metric),
        "best_checkpoint_step": state.best_global_step,
        "world_size": trainer.args.world_size,
        "resumed_from": resume_from.name if resume_from else None,
        "log": LOG_FILE,
        "wall_time_s": round(wall, 3),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


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
    from trainers.trainer import HEADS_FILE, save_heads, saved_heads

    heads = saved_heads(model)
    if heads is not None:  # not needed to evaluate the adapter; kept to continue or inspect the objective
        save_heads(heads, staging)
    atomic_write_text(staging / TRAINING_TEXTS_FILE, texts)
    atomic_write_json(staging / TRAIN_CONFIG_FILE, record)
    for name in ADAPTER_FILES + (TRAINING_TEXTS_FILE,) + ((HEADS_FILE,) if heads is not None else ()):
        os.replace(staging / name, out / name)
    os.replace(staging / TRAIN_CONFIG_FILE, out / TRAIN_CONFIG_FILE)
    shutil.rmtree(staging)

