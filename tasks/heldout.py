"""The options of tasks that evaluate on the held-out part of a corpus split (LM and geometry tasks).

Declared once here and listed by every such task, so each is one flag of ``harness eval`` with one
meaning. The split itself is :func:`harness.splits.split_corpus`; its defaults are the engine's.
"""

from __future__ import annotations

from harness.config import AT_LEAST_1, SEED
from harness.splits import HELDOUT_SIZE, SPLIT_SEED
from harness.task import TaskOption

HELDOUT_SIZE_OPTION = TaskOption("heldout_size", f"held-out sequences split off each corpus (default {HELDOUT_SIZE})",
                                 type=int, default=HELDOUT_SIZE, check=AT_LEAST_1)
SPLIT_SEED_OPTION = TaskOption("split_seed", f"seed of the document-level corpus split (default {SPLIT_SEED}); the "
                                             "run's --seed never moves held-out sets", type=int, default=SPLIT_SEED,
                               check=SEED)
HELDOUT_LIMIT_OPTION = TaskOption("heldout_limit", "evaluate only the first N held-out sequences of each corpus (LM "
                                                   "and geometry tasks); the similarity benchmarks stay whole", type=int,
                                  check=AT_LEAST_1)
HELDOUT_OPTIONS = (HELDOUT_SIZE_OPTION, SPLIT_SEED_OPTION, HELDOUT_LIMIT_OPTION)
