"""The settings of tasks that evaluate on the held-out part of a corpus split (LM and geometry tasks).

Declared once here as a settings dataclass (:class:`HeldoutSettings`, the idiom of :mod:`harness.registry`)
and named by every such task (``Task(settings=HeldoutSettings)``), so each field is one flag of
``harness eval`` with one meaning, and the code reads it typed (:func:`heldout_settings`), never by name.
The split itself is :func:`harness.splits.split_corpus`; its defaults are the engine's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.config import AT_LEAST_1, SEED, option
from harness.splits import HELDOUT_SIZE, SPLIT_SEED
from harness.task import task_settings

if TYPE_CHECKING:  # pragma: no cover
    from harness.task import EvalOptions


@dataclass(frozen=True)
class HeldoutSettings:
    """Which held-out sequences a corpus-based task evaluates (``--heldout-size``, ``--split-seed``,
    ``--heldout-limit``)."""

    heldout_size: int = option(HELDOUT_SIZE, type=int, check=AT_LEAST_1,
                               help=f"held-out sequences split off each corpus (default {HELDOUT_SIZE})")
    split_seed: int = option(SPLIT_SEED, type=int, check=SEED,
                             help=f"seed of the document-level corpus split (default {SPLIT_SEED}); the run's --seed "
                                  "never moves held-out sets")
    heldout_limit: int | None = option(None, type=int, check=AT_LEAST_1,
                                       help="evaluate only the first N held-out sequences of each corpus (LM and "
                                            "geometry tasks); the similarity benchmarks stay whole")

    def sequence_limit(self, limit: int | None) -> int | None:
        """Cap on held-out sequences evaluated: the smaller of the run's ``--limit`` and ``--heldout-limit``
        (None: every one)."""
        caps = [c for c in (limit, self.heldout_limit) if c]
        return min(caps) if caps else None


def heldout_settings(options: "EvalOptions") -> HeldoutSettings:
    """The held-out settings of a run (what ``ctx.settings(HeldoutSettings)`` gives a task)."""
    return task_settings(HeldoutSettings, options)
