"""The ``harness`` command line: argparse subcommands only, no logic beyond parsing and calling.

Each subcommand lives in a module with ``add_parser(subparsers)``; the module must not
import torch at import time (``harness --help`` and ``harness list`` answer in well
under a second). A :class:`~harness.errors.UserError` ends in one line on stderr and
exit status 2.

The engine's own commands live in :mod:`harness.commands`; ``harness concepts`` lives with the concept
pipeline (:mod:`concepts.commands`), and the commands that orchestrate several packages (train,
train-and-eval, sweep, leaderboard) in the application layer, :mod:`workflows`: the engine reaches
both by module name only, as it reaches plugins: no ``import`` of them here, so the layers' contract
(``workflows`` above everything, ``harness`` at the bottom) holds, and ``python -m harness.cli`` stays the one entry point (``accelerate launch
-m harness.cli train ...``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from harness import __version__
from harness.errors import UserError

COMMAND_MODULES = (
    "harness.commands.list_tasks",
    "harness.commands.eval",
    "harness.commands.compare",
    "harness.commands.results",
    "concepts.commands",
    "workflows.train_commands",
    "workflows.sweep",
    "harness.commands.doctor",
    "harness.commands.lm_eval_path",
    "workflows.leaderboard_commands",
)
NUMBER_LIST = re.compile(r"^-\d*\.?\d+(,\s*-?\d*\.?\d+)*$")  # -1, -.5, -2,-1, -0.5,0.5


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a bad flag or value reported in one line (exit status 2) instead of the usage text;
    the subcommands' parsers are of this class too (``add_subparsers`` makes them so).

    A comma-separated list of numbers that starts with a minus sign (``--layers -2,-1``) is a value, as a
    single negative number is: argparse would take it for an unknown flag and say the option "expected one
    argument". No flag of the harness looks like a number, so nothing else can be meant."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NUMBER_LIST  # argparse keeps this pattern on the parser, unexported

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="harness",
        description="Evaluate, train and compare concept-level objectives for causal language models.",
    )
    parser.add_argument("--version", action="version", version=f"concept-harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
