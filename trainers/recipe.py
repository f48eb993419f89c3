"""``train(config)``: concept file + base model -> LoRA adapter folder, top to bottom.

Order of work, so that user errors cost nothing and overwrite nothing:

1. check the settings (λ ∈ [0, 1], scope, threshold, hyperparameters) and the objective name;
2. resolve the base model (no adapters) and load its tokenizer; read the concept file and check it
   was built for that tokenizer;
3. check the output folder: empty or new; or holding this same run (``run.json``): finished ->
   returned as it is, interrupted -> needs ``resume``; anything else is a user error;
4. check free disk space against an estimate of checkpoints + adapter;
5. load the model, add LoRA, train with :class:`trainers.trainer.ObjectiveTrainer`
   (checkpoints in ``OUT/checkpoints``, per-step log in ``OUT/train_log.jsonl``);
6. save the adapter into a staging folder, then move its files into ``OUT`` with
   ``harness_train.json`` last: a folder holding ``harness_train.json`` holds a whole adapter.

The output folder is itself the adapter folder: ``harness eval --model OUT`` and
``PeftModel.from_pretrained(base, OUT)`` read it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from harness.data import sha256_of
from harness.errors import UserError
from harness.models import TRAIN_CONFIG_FILE, ModelInfo, describe_spec, load_tokenizer, model_folder
from harness.results import atomic_write_json
from trainers.objectives import OBJECTIVES, ObjectiveSettings, method_name
from trainers.profiles import DEFAULT_PROFILE, Hyper, resolve_profile

RUN_FILE = "run.json"  # identity of the run an output folder holds (written before training)
LOG_FILE = "train_log.jsonl"
CHECKPOINTS = "checkpoints"
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


@dataclass
class TrainConfig:
    """Everything ``harness train`` takes. ``overrides`` are :class:`~trainers.profiles.Hyper` fields."""

    model: str
    concepts: Path
    out: Path
    lam: float = 0.0
    objective: str = "concept"
    lambda_scope: str = "all"
    mass_threshold: float = 0.6
    profile: str = DEFAULT_PROFILE
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    resume: bool = False
    device: str = "auto"
    dtype: str = "auto"
    report_to: str = "none"
    progress: bool = True


@dataclass
class TrainResult:
    adapter: Path
    record: dict[str, Any]  # the contents of harness_train.json
    reused: bool = False  # the folder already held this finished run


def is_randomized(header: dict[str, Any]) -> bool:
    """A concept file written by ``harness concepts randomize`` (the noise control)."""
    return bool(header.get("randomized"))


def _header_field(header: dict[str, Any], key: str) -> Any:
    value = header.get(key)
    if isinstance(value, dict):
        return value.get("name") or value.get("id") or value
    return value


# ------------------------------------------------------------------ the output folder


def last_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The highest-numbered checkpoint whose ``trainer_state.json`` (written last) is complete."""
    if not checkpoint_dir.is_dir():
        return None
    found = []
    for p in checkpoint_dir.iterdir():
        m = re.fullmatch(r"checkpoint-(\d+)", p.name)
        if m and p.is_dir():
            try:
                json.loads((p / "trainer_state.json").read_text())
            except (OSError, json.JSONDecodeError):
                continue  # killed while saving
            found.append((int(m.group(1)), p))
    return max(found)[1] if found else None


def check_output_folder(out: Path, identity: dict[str, Any], resume: bool) -> str:
    """``new`` | ``finished`` | ``resume``; a folder holding anything else is a user error."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    if not out.exists() or not any(out.iterdir()):
        return "new"
    run_file = out / RUN_FILE
    if not run_file.is_file():
        raise UserError(f"--out {out} is not empty and holds no training run of this harness; choose another folder")
    try:
        held = json.loads(run_file.read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError(f"--out {out}: {RUN_FILE} cannot be read; choose another folder") from None
    if held != identity:
        diff = sorted(k for k in set(held) | set(identity) if held.get(k) != identity.get(k))
        raise UserError(f"--out {out} holds another run ({', '.join(diff)} differ); choose another folder")
    if (out / TRAIN_CONFIG_FILE).is_file():
        return "finished"
    if last_checkpoint(out / CHECKPOINTS) is not None and not resume:
        raise UserError(f"--out {out} holds an interrupted run of these settings: pass --resume to continue it")
    return "resume"


def is_main_process() -> bool:
    """Rank 0 of a ``torchrun`` / ``accelerate launch`` run (or the only process)."""
    return os.environ.get("RANK", "0") == "0"


def prepare_output_folder(out: Path, identity: dict[str, Any], resume_from: Path | None) -> None:
    """Record the run's identity; keep the log lines up to the resumed checkpoint (or start it afresh)."""
    from trainers.trainer import trim_log

    out.mkdir(parents=True, exist_ok=True)
    if not (out / RUN_FILE).is_file():
        atomic_write_json(out / RUN_FILE, identity)
    if resume_from is not None:
        trim_log(out / LOG_FILE, int(resume_from.name.split("-")[1]))
    elif (out / LOG_FILE).exists():
        (out / LOG_FILE).unlink()  # a run that never reached a checkpoint starts over


def count_lora_parameters(source: str, hyper: Hyper) -> int:
    """LoRA parameters the run will train: r·(in + out) per target linear layer, counted on a model
    built on the meta device (no weights read, no memory used)."""
    from harness.lm.hf_load import linear_layer_sizes

    targets = set(hyper.target_modules)
    return sum(hyper.lora_r * (n_in + n_out) for name, n_in, n_out in linear_layer_sizes(source)
               if name.rsplit(".", 1)[-1] in targets)


def estimate_disk_bytes(n_trainable: int) -> int:
    """Checkpoints (adapter + two AdamW moments, float32; at most 2 kept + 1 being written) plus the
    final adapter and a 16 MB margin for trainer state, logs and RNG states."""
    per_checkpoint = 3 * 4 * n_trainable
    return 3 * per_checkpoint + 4 * n_trainable + (16 << 20)


def check_disk_space(folder: Path, need: int) -> None:
    probe = Path(folder)
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < need:
        raise UserError(f"not enough disk space under {probe}: training needs about {need / 2**20:.0f} MB for "
                        f"checkpoints and the adapter, {free / 2**20:.0f} MB are free")


# ------------------------------------------------------------------ train


def train(config: TrainConfig, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train one LoRA adapter into ``config.out`` (see the module docstring for the order of work)."""
    settings = ObjectiveSettings(lam=config.lam, scope=config.lambda_scope, mass_threshold=config.mass_threshold)
    objective = OBJECTIVES.get(config.objective)
    hyper = resolve_profile(config.profile, config.overrides)
    info = describe_spec(config.model)
    if info.kind != "causal_lm":
        raise UserError(f"--model {config.model} is {'an adapter' if info.kind == 'adapter' else 'an encoder'}: "
                        f"train from a causal LM (a base model)")
    from harness.concepts.concept_file import load_concept_file

    tokenizer = load_tokenizer(model_folder(info))
    concepts_path = Path(config.concepts).expanduser().resolve()
    concept_file = load_concept_file(concepts_path, tokenizer)
    from trainers.data import examples_from_records, split_validation

    examples = examples_from_records(concept_file.records, hyper.max_length, hyper.max_synonyms)
    if objective.uses_concepts and config.lam > 0 and not any(e.positions for e in examples):
        raise UserError(f"concept file {concepts_path} holds no concept targets to train on")
    train_set, val_set = split_validation(examples, hyper.val_fraction, config.seed)

    out = Path(config.out).expanduser().resolve()
    config = replace(config, dtype=resolved_dtype(config))
    digest = sha256_of(concepts_path)
    identity = run_identity(config, info, hyper, digest)
    state = check_output_folder(out, identity, config.resume)
    if state == "finished":
        return TrainResult(adapter=out, record=json.loads((out / TRAIN_CONFIG_FILE).read_text()), reused=True)

    from harness.models import load_model
    from harness.runner import seed_everything

    check_disk_space(out, estimate_disk_bytes(count_lora_parameters(model_folder(info), hyper)))
    seed_everything(config.seed)
    from trainers.trainer import add_lora

    model = add_lora(load_model(config.model, device="cpu", dtype=config.dtype).module, hyper)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    resume_from = last_checkpoint(out / CHECKPOINTS) if state == "resume" else None
    if is_main_process():  # other processes of a distributed run only read the folder
        prepare_output_folder(out, identity, resume_from)

    trainer = build_trainer(config, hyper, model, tokenizer, train_set, val_set, objective, settings, out, callbacks)
    start = time.perf_counter()
    model.train()
    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    wall = time.perf_counter() - start

    record = train_record(config, info, hyper, settings, concept_file.header, concepts_path, digest,
                          n_trainable, len(train_set), len(val_set), trainer, output, wall, resume_from)
    if trainer.is_world_process_zero():
        save_adapter(trainer.model, out, record)
    trainer.accelerator.wait_for_everyone()
    return TrainResult(adapter=out, record=record)


def resolved_dtype(config: TrainConfig) -> str:
    """``auto`` -> the dtype it means on this machine (recorded, and part of the run's identity)."""
    from harness.models import pick_device, pick_dtype

    return str(pick_dtype(config.dtype, pick_device(config.device))).replace("torch.", "")


def run_identity(config: TrainConfig, info: ModelInfo, hyper: Hyper, concepts_sha256: str) -> dict[str, Any]:
    """What makes two runs the same run (an output folder holds exactly one)."""
    return {"base": info.base, "concepts_sha256": concepts_sha256, "objective": config.objective,
            "lambda": config.lam, "lambda_scope": config.lambda_scope, "mass_threshold": config.mass_threshold,
            "profile": config.profile, "hyperparameters": hyper.to_dict(), "seed": config.seed, "dtype": config.dtype}


def build_trainer(config: TrainConfig, hyper: Hyper, model, tokenizer, train_set, val_set, objective, settings,
                  out: Path, callbacks: Sequence[Any]):
    from transformers import EarlyStoppingCallback

    from trainers.data import ConceptCollator
    from trainers.trainer import ObjectiveTrainer, StepLog, training_arguments

    args = training_arguments(hyper, out / CHECKPOINTS, config.seed, config.device, config.report_to)
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
                 header: dict[str, Any], concepts_path: Path, digest: str, n_trainable: int, n_train: int,
                 n_val: int, trainer, output, wall: float, resume_from: Path | None) -> dict[str, Any]:
    """The resolved config written as ``harness_train.json`` (read by harness.models into ModelInfo.training)."""
    from harness.provenance import git_commit, package_versions

    randomized = is_randomized(header)
    state = trainer.state
    return {
        "method": method_name(config.objective, config.lam, randomized),
        "objective": config.objective,
        "lambda": config.lam,
        "lambda_scope": settings.scope,
        "mass_threshold": settings.mass_threshold,
        "base": info.base,
        "base_id": info.id,
        "corpus": _header_field(header, "corpus"),
        "split": split.get("part") if isinstance(split := header.get("split"), dict) else split,
        "selector": _header_field(header, "selector"),
        "randomized": randomized,
        "concept_file": str(concepts_path),
        "concept_file_sha256": digest,
        "concept_header": {k: v for k, v in header.items() if k not in ("type",)},
        "profile": config.profile,
        "hyperparameters": hyper.to_dict(),
        "seed": config.seed,
        "dtype": config.dtype,
        "trainable_parameters": n_trainable,
        "train_sequences": n_train,
        "val_sequences": n_val,
        "steps": state.global_step,
        "epochs_done": state.epoch,
        "train_loss": getattr(output, "training_loss", None),
        "best_eval_loss": state.best_metric,
        "best_checkpoint_step": state.best_global_step,
        "world_size": trainer.args.world_size,
        "resumed_from": resume_from.name if resume_from else None,
        "log": LOG_FILE,
        "wall_time_s": round(wall, 3),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def save_adapter(model, out: Path, record: dict[str, Any]) -> None:
    """Stage the adapter, then move its files into ``out``; ``harness_train.json`` goes last. The adapter
    config names the base by its spec (an alias like ``smollm2-135m`` travels between machines, a cache
    path would not); the vocabulary is never resized, so no embedding layer is saved."""
    staging = out / f".staging-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    model.peft_config["default"].base_model_name_or_path = record["base"]
    model.save_pretrained(str(staging), save_embedding_layers=False)
    atomic_write_json(staging / TRAIN_CONFIG_FILE, record)
    for name in ADAPTER_FILES:
        os.replace(staging / name, out / name)
    os.replace(staging / TRAIN_CONFIG_FILE, out / TRAIN_CONFIG_FILE)
    shutil.rmtree(staging)


def load_train_log(out: Path) -> list[dict[str, Any]]:
    """The per-step log of an output folder (one dict per line)."""
    path = Path(out) / LOG_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

