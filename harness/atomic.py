"""Atomic file writes: readers see the old file or the new one, never half of it.

The new text is written and fsynced into a temporary file beside the target, then renamed over it;
:func:`atomic_path` does the same for a file or folder that another writer fills (savefig, safetensors,
save_pretrained, a copied folder).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def write_beside(path: Path, text: str) -> Path:
    """``text`` in a new temporary file in ``path``'s folder, flushed and fsynced (removed again on failure)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600; results are meant to be shared
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see either the old or the new file, never half; a write that
    fails (a full disk, a read-only folder) is a one-line user error that leaves the old file in place."""
    from harness.errors import UserError

    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = write_beside(path, text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror or exc}); "
                        f"{'the file there is unchanged' if path.exists() else 'nothing was written'}") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (``.<name>.tmp-<pid>``, on the same file system) for the block to
    fill, a file or a folder; when the block ends without error it is renamed over ``path`` (readers see the
    old or the new one), and removed whatever happens. A folder replaces only a missing or empty ``path``
    (``os.replace``); an error (the block's, or the rename's) propagates unchanged for the caller to word."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    _remove(tmp)  # left by a killed process that had this pid
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_text(data: Any, *, allow_nan: bool = True) -> str:
    """``data`` as the harness writes JSON. ``allow_nan=False`` (result files, read by other tools too): a NaN
    or infinity anywhere raises ``ValueError`` (a bug) rather than being written as a token standard JSON
    readers refuse."""
    return json.dumps(data, indent=1, allow_nan=allow_nan) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json_text(data))
