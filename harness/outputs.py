"""One rule for every file and folder a command writes (no torch).

- An existing file the harness did not write is never replaced without ``--overwrite``. What counts as
  the harness's own is said by the caller (``ours``: e.g. a leaderboard begins with its marker line, a
  plot is listed in its folder's manifest), so a rebuild replaces its own output and nothing else.
- The place must be usable before any work starts: not a folder where a file goes (or a file where a
  folder goes), not under a file, a name the file system accepts, a folder the user may write in. A
  long evaluation therefore never ends in a write that cannot happen.

Writing itself is atomic (:mod:`harness.atomic`), and a write that fails anyway (a full disk) ends in one
line naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from harness.errors import UserError


def _exists(path: Path, flag: str) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # e.g. ENAMETOOLONG
        raise UserError(f"{flag} {str(path)[:80]}{'...' if len(str(path)) > 80 else ''}: {exc.strerror}") from None


def _nearest_existing(path: Path, flag: str) -> Path:
    """The nearest ancestor of ``path`` that exists; a file on the way is a user error."""
    probe = path.parent
    while not _exists(probe, flag):
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"{flag} {path} lies under {probe}, which is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: no permission to write in {probe}")
    return probe


def check_name(path: Path, flag: str) -> None:
    """Every component of ``path`` is a name the file system accepts."""
    limit = os.pathconf(_nearest_existing(path, flag), "PC_NAME_MAX")
    too_long = next((part for part in path.parts if len(os.fsencode(part)) > limit), None)
    if too_long is not None:
        raise UserError(f"{flag} {str(path)[:80]}...: a name of {len(os.fsencode(too_long))} bytes (this file system "
                        f"allows {limit})")


def check_output_file(path: Path | str, flag: str, *, overwrite: bool = False,
                      ours: Callable[[Path], bool] | None = None) -> Path:
    """``path`` as a file this command may write: see the module docstring."""
    path = Path(path)
    if _exists(path, flag):
        if path.is_dir():
            raise UserError(f"{flag} {path} is a folder, not a file")
        if not overwrite and not (ours is not None and ours(path)):
            raise UserError(f"{flag} {path} exists and was not written by this harness: pass --overwrite to "
                            f"replace it, or choose another name")
    check_name(path, flag)
    return path


def check_output_folder(path: Path | str, flag: str) -> Path:
    """``path`` as a folder this command may create or write into."""
    path = Path(path)
    if _exists(path, flag):
        if not path.is_dir():
            raise UserError(f"{flag} {path} is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UserError(f"{flag} {path}: no permission to write in it")
        return path
    check_name(path, flag)
    return path


def begins_with(marker: str) -> Callable[[Path], bool]:
    """An ``ours`` test: the file's first line starts with ``marker`` (how a harness text file says so)."""

    def test(path: Path) -> bool:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.readline().startswith(marker)
        except OSError:
            return False

    return test


def remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` (a command created it, then failed) when it holds nothing but lock files, so a
    failed run leaves nothing behind; anything else in it stays."""
    folder = Path(folder)
    try:
        if all(p.name.endswith(".lock") for p in folder.iterdir()):
            for p in folder.iterdir():
                p.unlink(missing_ok=True)
            folder.rmdir()
    except OSError:
        pass
