"""lm-eval, MTEB and datasets talk to the terminal a lot (INFO logs, warnings about settings we chose, progress
bars per split); inside ``harness eval`` that is noise whose cause is ours, so it is held back here. Errors
still surface, as exceptions the callers turn into one line."""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Iterator

LOGGERS = ("lm_eval", "lm-eval", "mteb", "datasets", "evaluate", "sentence_transformers", "httpx", "urllib3")


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Within: the libraries' loggers at ERROR, their Python warnings ignored, datasets' progress bars off."""
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import datasets

        bars = datasets.utils.logging.is_progress_bar_enabled()
        datasets.utils.logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - datasets is a dependency
        bars = False
    try:
        with warnings.catch_warnings():
            for module in ("lm_eval", "mteb", "datasets", "sentence_transformers"):
                warnings.filterwarnings("ignore", module=module + r"(\..*)?")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        if bars:
            datasets.utils.logging.enable_progress_bar()
