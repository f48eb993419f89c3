"""Where the points of a sweep run: ``local`` (one after another in this process) or ``submitit`` (each point
a job through `submitit <https://github.com/facebookincubator/submitit>`_: SLURM when the machine has it,
else its local executor, a process per job).

A submitit job runs :func:`run_point` (the same :func:`workflows.train_and_eval.train_and_eval` the local
launcher calls) on the point's config, pickled; so both launchers give the same adapters and results. The
first point runs alone when the base model's results are missing (it evaluates the base), the others then
fan out together and find them. Job logs go to ``<runs-dir>/submitit/``. Multi-GPU training inside one job
stays ``accelerate``/``torchrun``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from harness.config import AT_LEAST_0, AT_LEAST_1, option
from harness.errors import UserError

LAUNCHERS = ("local", "submitit")


@dataclass
class LaunchSettings:
    """The sweep's launcher flags (declared once, :mod:`harness.config`)."""

    launcher: str = option("local", help="local: the points one after another here; submitit: each point a job "
                                         "(SLURM when present, else submitit's local executor)")
    job_timeout_min: int = option(24 * 60, check=AT_LEAST_1,
                                  help="submitit: time limit of a job in minutes (default 1440)")
    job_gpus: int = option(0, check=AT_LEAST_0, help="submitit: GPUs per job (default 0: a job sees no GPU)")
    slurm_partition: str | None = option(None, help="submitit on SLURM: the partition to submit to")

    def __post_init__(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise UserError(f"--launcher must be one of {', '.join(LAUNCHERS)}, got {self.launcher!r}")


@dataclass(frozen=True)
class Job:
    label: str
    config: object  # workflows.train_and_eval.TrainAndEval


def run_point(config) -> str:
    """What one job does: train and evaluate one grid point; returns its adapter folder."""
    from workflows.train_and_eval import train_and_eval

    return str(train_and_eval(config).train.adapter)


def run_local(jobs: Sequence[Job], done: Callable[[], None]) -> None:
    for i, job in enumerate(jobs, 1):
        print(f"\n=== sweep {i}/{len(jobs)}: {job.label} ===")
        run_point(job.config)
        done()


def run_submitit(jobs: Sequence[Job], settings: LaunchSettings, folder: Path, base_first: bool,
                 done: Callable[[], None]) -> None:
    """Submit the jobs (the first alone when ``base_first``), wait for each, call ``done`` after each finished
    one; failed jobs are reported together, in one line, once every job has ended."""
    import submitit

    executor = submitit.AutoExecutor(folder=folder)
    extra = {"slurm_partition": settings.slurm_partition} if settings.slurm_partition else {}
    executor.update_parameters(name="harness-sweep", timeout_min=settings.job_timeout_min,
                               gpus_per_node=settings.job_gpus, **extra)
    waves = [jobs[:1], jobs[1:]] if base_first else [jobs]
    failed = []
    for wave in (w for w in waves if w):
        submitted = executor.map_array(run_point, [job.config for job in wave])
        labels = {s.job_id: job.label for s, job in zip(submitted, wave)}
        for s in submitted:
            print(f"  job {s.job_id}: {labels[s.job_id]} (log {s.paths.stdout})")
        for s in submitit.helpers.as_completed(submitted):
            try:
                s.result()
            except Exception as exc:  # noqa: BLE001 - a job's own error, reported with its log below
                failed.append(f"{labels[s.job_id]} ({type(exc).__name__}; log {s.paths.stderr})")
                continue
            print(f"  done: {labels[s.job_id]}")
            done()
    if failed:
        raise UserError(f"{len(failed)} sweep job(s) failed: {'; '.join(failed)}")
