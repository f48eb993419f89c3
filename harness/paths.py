"""Where the harness keeps things: one cache root for converted models, data and concept files.

``HARNESS_CACHE`` overrides the default ``~/.cache/concept-harness``.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    root = Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "concept-harness")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def offline() -> bool:
    """True when downloads must not be tried (``HARNESS_OFFLINE``/``HF_HUB_OFFLINE`` set to 1)."""
    return any(os.environ.get(v, "") in ("1", "true", "TRUE", "yes") for v in ("HARNESS_OFFLINE", "HF_HUB_OFFLINE"))
