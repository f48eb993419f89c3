"""``--report-to``: the transformers logging integrations a run reports to, checked where the flag is parsed.

An entry is ``none``, ``all`` (every integration installed) or one of transformers' integrations that is
installed here: a misspelt or missing one would otherwise fail inside ``Trainer`` after the weights are
loaded, with transformers' traceback. Only a value other than ``none``/``all`` imports transformers.
"""

from __future__ import annotations

import argparse

MEANINGS = ("none", "all")


def report_targets(text: str) -> str:
    """``--report-to`` as its canonical text (entries joined by commas, each once); argparse's one-line error
    when this machine cannot report to an entry, or ``none``/``all`` is given with other entries."""
    entries = list(dict.fromkeys(e.strip() for e in text.split(",") if e.strip()))
    if not entries:
        raise argparse.ArgumentTypeError(f"names nothing (got {text!r})")
    if len(entries) > 1 and set(entries) & set(MEANINGS):
        raise argparse.ArgumentTypeError(f"none and all stand alone, not in a list (got {text!r})")
    for name in entries:
        if name not in MEANINGS:
            _check(name)
    return ",".join(entries)


def _check(name: str) -> None:
    from transformers.integrations.integration_utils import (INTEGRATION_TO_CALLBACK,
                                                             get_available_reporting_integrations)

    if name not in INTEGRATION_TO_CALLBACK:
        raise argparse.ArgumentTypeError(f"unknown integration {name!r} (choose none, all or one of "
                                         f"{', '.join(sorted(INTEGRATION_TO_CALLBACK))})")
    if name not in get_available_reporting_integrations():
        raise argparse.ArgumentTypeError(f"{name} is not installed here (pip install {name}), or use --report-to none")
