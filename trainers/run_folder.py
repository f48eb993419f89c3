"""The output folder of a training run: its identity, checkpoints, log, and the space it needs.

An output folder holds one run: ``run.json`` (its identity, written before training), checkpoints
under ``checkpoints/``, the per-step log ``train_log.jsonl`` and, once finished, the adapter and
``harness_train.json``. :class:`RunFolder` is one such folder through a run's life: its
:meth:`~RunFolder.state` says whether it is new, holds this very run finished, or holds it interrupted
(resumable); anything else is a user error, so nothing a user had is overwritten.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from harness.atomic import atomic_write_json
from harness.errors import UserError
from harness.models import TRAIN_CONFIG_FILE
from trainers.profiles import Hyper

RUN_FILE = "run.json"  # identity of the run an output folder holds (written before training)
LOG_FILE = "train_log.jsonl"
CHECKPOINTS = "checkpoints"
LOCK_FILE = ".run.lock"  # held while a process trains into the folder (run_lock)
# Keys older code put in the run.json of every objective's runs, now only in the concept objective's (its own
# settings, trainers.objectives.ConceptSettings): another objective never read them, so a folder of one of its runs
# that holds them is still that run. Stable identifiers of an older layout: keep them literally as they are.
FORMERLY_SHARED_KEYS = ("lambda_scope", "mass_threshold")


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


@dataclass(frozen=True)
class RunFolder:
    """The output folder ``out`` of the run whose identity is ``identity`` (``run.json``), through its life:
    :meth:`claim` it (locked; a failure leaves nothing that blocks a retry), read its :meth:`state`, check the
    disk space, :meth:`open` it for training (the identity written, the log kept up to the resumed checkpoint)."""

    out: Path
    identity: dict[str, Any]

    @property
    def checkpoints(self) -> Path:
        return self.out / CHECKPOINTS

    @property
    def log(self) -> Path:
        return self.out / LOG_FILE

    @contextmanager
    def claim(self) -> Iterator[None]:
        """Train into the folder under its lock (:func:`run_lock`); a failure leaves nothing that blocks a retry
        (:meth:`clear_unstarted`)."""
        from harness.outputs import check_output_folder as check_place

        created = not check_place(self.out, "--out").exists()
        with run_lock(self.out):
            try:
                yield
            except BaseException:
                if is_main_process():
                    self.clear_unstarted(created)
                raise

    def state(self, resume: bool) -> str:
        """``new`` | ``finished`` | ``resume``; a folder holding anything else is a user error. A folder that
        holds only what a run writes before its first checkpoint (a run that failed or was killed early) is
        ``new``, and cleared (on the main process): nothing there is worth keeping, so it never blocks a retry.
        The run held is this run when its ``run.json`` equals the identity, keys of :data:`FORMERLY_SHARED_KEYS`
        that the identity lacks aside (a folder written by older code)."""
        from harness.outputs import check_output_folder as check_place

        out = self.out
        check_place(out, "--out")
        if not out.exists() or not any(p.name != LOCK_FILE for p in out.iterdir()) or self._started_only():
            if is_main_process():
                self.clear_unstarted(created=False)  # what a run killed before its first checkpoint left
            return "new"
        run_file = out / RUN_FILE
        if not run_file.is_file():
            raise UserError(f"--out {out} is not empty and holds no training run of this harness; choose another "
                            f"folder")
        try:
            held = json.loads(run_file.read_text())
        except (OSError, json.JSONDecodeError):
            raise UserError(f"--out {out}: {RUN_FILE} cannot be read; choose another folder") from None
        held = {k: v for k, v in held.items() if k in self.identity or k not in FORMERLY_SHARED_KEYS}
        if held != self.identity:
            diff = sorted(k for k in set(held) | set(self.identity) if held.get(k) != self.identity.get(k))
            raise UserError(f"--out {out} holds another run ({', '.join(diff)} differ); choose another folder")
        if (out / TRAIN_CONFIG_FILE).is_file():
            return "finished"
        if last_checkpoint(self.checkpoints) is not None and not resume:
            raise UserError(f"--out {out} holds an interrupted run of these settings: pass --resume to continue it")
        return "resume"

    def record(self) -> dict[str, Any]:
        """The ``harness_train.json`` of a finished run."""
        return json.loads((self.out / TRAIN_CONFIG_FILE).read_text())

    def resume_point(self, state: str, resume: bool) -> Path | None:
        """The checkpoint a ``resume`` run continues from (None: from the start, said when ``--resume`` asked)."""
        resume_from = last_checkpoint(self.checkpoints) if state == "resume" else None
        if resume and resume_from is None and is_main_process():
            print(f"harness: note: --out {self.out} holds no checkpoint to resume; training from the start",
                  file=sys.stderr)
        return resume_from

    def open(self, resume_from: Path | None) -> None:
        """Record the run's identity; keep the log lines up to the resumed checkpoint (or start it afresh)."""
        from trainers.trainer import trim_log

        self.out.mkdir(parents=True, exist_ok=True)
        if not (self.out / RUN_FILE).is_file():
            atomic_write_json(self.out / RUN_FILE, self.identity)
        if resume_from is not None:
            trim_log(self.log, int(resume_from.name.split("-")[1]))
        elif self.log.exists():
            self.log.unlink()  # a run that never reached a checkpoint starts over

    def _started_only(self) -> bool:
        """The folder holds nothing but what a run writes before its first checkpoint."""
        early = {RUN_FILE, LOG_FILE, CHECKPOINTS, LOCK_FILE}
        return ((self.out / RUN_FILE).is_file() and all(p.name in early for p in self.out.iterdir())
                and last_checkpoint(self.checkpoints) is None)

    def clear_unstarted(self, created: bool) -> None:
        """After a failed run: remove what it wrote before its first checkpoint (``run.json``, the log, an
        empty or half-written ``checkpoints/``) and the folder itself if the run created it; keep any checkpoint."""
        from harness.outputs import remove_if_empty

        if self.out.is_dir() and self._started_only():
            for name in (RUN_FILE, LOG_FILE):
                (self.out / name).unlink(missing_ok=True)
            shutil.rmtree(self.checkpoints, ignore_errors=True)
        if created:
            remove_if_empty(self.out)


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Exclusive lock on a run folder while a process trains into it (rank 0 of a distributed run takes it
    for all); a second run into the same folder ends in one line instead of interleaving with the first."""
    from filelock import FileLock, Timeout

    if not is_main_process():
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UserError(f"--out {out} is being trained into by another process; wait for it or choose another "
                        f"folder") from None
    try:
        yield
    finally:
        lock.release()


def is_main_process() -> bool:
    """Rank 0 of a ``torchrun`` / ``accelerate launch`` run (or the only process)."""
    return os.environ.get("RANK", "0") == "0"


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


def load_train_log(out: Path) -> list[dict[str, Any]]:
    """The per-step log of an output folder (one dict per line)."""
    path = Path(out) / LOG_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
