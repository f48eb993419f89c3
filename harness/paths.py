"""Where the harness keeps things: one cache root for converted models, data and concept files; the
folders of installed packages; safe file names.

``HARNESS_CACHE`` overrides the default ``~/.cache/concept-harness``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def cache_root() -> Path:
    """The cache root (not created: ``harness doctor`` only looks)."""
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "concept-harness")


def cache_problem() -> str:
    """Why the cache root cannot hold the cache ('' when it can): it is a file, lies under one, or is (or
    would be made in) a folder this user may not write in. Said in the terms the user chose, so a wrong
    ``HARNESS_CACHE`` is named as such; ``harness doctor`` reports it, :func:`cache_dir` refuses it."""
    from harness.errors import UserError
    from harness.outputs import check_output_folder

    chosen = bool(os.environ.get("HARNESS_CACHE"))
    try:
        check_output_folder(cache_root(), "HARNESS_CACHE" if chosen else "cache folder")
    except UserError as exc:
        return str(exc) + ("" if chosen else " (set HARNESS_CACHE to a folder you may write in)")
    return ""


def cache_dir(*parts: str) -> Path:
    """``<cache>/<parts>``, created. Every command that writes to the cache comes here first, so an unusable
    cache root ends in one line naming it (:func:`cache_problem`) rather than an ``OSError`` at the first
    write, which could come after a model was loaded."""
    from harness.errors import UserError

    problem = cache_problem()
    if problem:
        raise UserError(problem)
    path = cache_root().joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. a file where a cache subfolder goes
        raise UserError(f"cannot create the cache folder {path}: {exc.strerror}") from None
    return path


def package_dir(package: str) -> Path | None:
    """The folder of an installed package (found without importing it), or None."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def env_true(var: str) -> bool:
    return os.environ.get(var, "") in ("1", "true", "TRUE", "yes")


def offline() -> bool:
    """True when downloads must not be tried (``HARNESS_OFFLINE``/``HF_HUB_OFFLINE`` set to 1)."""
    return env_true("HARNESS_OFFLINE") or env_true("HF_HUB_OFFLINE")


SLUG_CHARS = 100  # leaves room for a hash within the 128 characters of a name in a result file


def slug(text: str) -> str:
    """``text`` as one file-name component that is also a name a result file may hold: runs of other
    characters than ASCII letters, digits, ``._-`` become ``-``; no leading dot (not hidden, never ``..``);
    at most :data:`SLUG_CHARS` characters."""
    cleaned = _cleaned(text).lstrip(".-")[:SLUG_CHARS].rstrip("-")
    return cleaned or "model"


def _cleaned(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)


def slug_keeping_end(head: str, end: str) -> str:
    """:func:`slug` of ``head + end`` with ``end`` (what tells two names apart, e.g. a run's ``-seed1``) kept
    whole: when the two are longer than :data:`SLUG_CHARS`, ``head`` is cut instead and followed by the first 8
    hex digits of its sha256, so heads cut to the same characters still give different names. Names that fit
    are :func:`slug`'s, unchanged."""
    import hashlib

    if len(_cleaned(head + end).lstrip(".-")) <= SLUG_CHARS:
        return slug(head + end)
    tail = _cleaned(end)
    room = SLUG_CHARS - len(tail) - 9  # 9: "-" and the hash
    if room < 1:
        return slug(head + end)  # an end too long to keep: cut like any name
    digest = hashlib.sha256(head.encode()).hexdigest()[:8]
    return slug(f"{_cleaned(head).lstrip('.-')[:room].rstrip('-')}-{digest}{tail}")
