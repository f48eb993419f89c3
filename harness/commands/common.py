"""Argument groups several subcommands share, so every command spells them the same way.

The evaluation flags come from their declarations: :class:`harness.task.EvalOptions` (the engine's)
and the options of the registered tasks (:func:`harness.task.declared_options`).
"""

from __future__ import annotations

import argparse

from harness.models import DEVICE_HELP, DTYPE_HELP, DTYPES, EMBEDDED_DEFAULT, parse_device


def add_device_args(p: argparse.ArgumentParser) -> None:
    """``--device`` and ``--dtype`` (the form is checked here, their presence before a model loads)."""
    p.add_argument("--device", default="auto", type=parse_device, help=DEVICE_HELP)
    p.add_argument("--dtype", default="auto", choices=DTYPES, help=DTYPE_HELP)


def add_model_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--model", required=required, default=None if required else EMBEDDED_DEFAULT,
                   help=f"model spec: {EMBEDDED_DEFAULT} (embedded default), all-minilm-l6-v2, a model or adapter "
                        "folder, a sentence-transformers folder, or a hub id")
    p.add_argument("--base", help="base model for an adapter (overrides its adapter_config.json)")
    add_device_args(p)


def add_eval_args(p: argparse.ArgumentParser) -> None:
    """``--tasks``, every :class:`~harness.task.EvalOptions` flag and every registered task's options."""
    from harness.config import NAMES, add_arguments, add_flag
    from harness.task import EvalOptions, declared_options

    add_flag(p, "--tasks", "tasks", "all", "comma-separated task names, or all (see harness list)", check=NAMES)
    add_arguments(p, EvalOptions)
    for opt in declared_options():
        opt.add_to(p)


def eval_options(args: argparse.Namespace):
    """The :class:`~harness.task.EvalOptions` of parsed :func:`add_eval_args` flags."""
    from harness.config import from_args
    from harness.task import EvalOptions, declared_options

    return from_args(EvalOptions, args, task_options={o.name: getattr(args, o.name) for o in declared_options()})
