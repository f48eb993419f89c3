"""What ``harness train`` takes (:class:`TrainConfig`, declared once: each field is a flag) and what it gives back
(:class:`TrainResult`). Imported at CLI start-up to make the flags: torch is imported inside functions only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import SEED, nested, option, overrides
from harness.models import DEVICE_HELP, DTYPE_HELP, DTYPES, EMBEDDED_DEFAULT, parse_device
from trainers.objectives import OBJECTIVES, ObjectiveSettings
from trainers.profiles import DEFAULT_PROFILE, PROFILES, Hyper
from trainers.reporting import report_targets


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
