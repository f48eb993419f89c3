"""Compact copies of a results folder (``harness results compact SRC --out DST``, :mod:`harness.compaction`).

Every result file under SRC (``<model-id>/<task>[@variant].json``, ``history/`` and hidden files skipped) is
read and validated, compacted with the sha256 and size of its bytes, and written to the same relative path
under DST. Nothing is written until every file is read and every target checked: SRC is never written to
(DST may not be SRC or lie inside it), and an existing non-empty DST file is left alone when it already holds
the same bytes and refused otherwise (one line, nothing written). Each write is atomic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.atomic import atomic_write_text
from harness.compaction import compact_record
from harness.errors import UserError
from harness.result_files import ResultError, iter_result_files, load_result, result_text


@dataclass
class CompactCopy:
    source: Path
    target: Path
    source_bytes: int
    target_bytes: int
    written: bool  # False: the target already held these bytes


def compact_folder(src: Path, dst: Path) -> list[CompactCopy]:
    """Write the compact copy of every result file under ``src`` to the same place under ``dst``."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise UserError(f"{src} is not a results folder (results/<model-id>/<task>.json)")
    if dst.exists() and not dst.is_dir():
        raise UserError(f"--out {dst} is a file, not a folder")
    if dst.resolve() == src.resolve() or dst.resolve().is_relative_to(src.resolve()):
        raise UserError(f"--out {dst} is {src} or inside it: compact copies go to another folder, the source stays as it is")
    sources = iter_result_files(src)
    if not sources:
        raise UserError(f"{src} holds no result file")
    plans, conflicts = [], []
    for path in sources:
        try:
            raw = path.read_bytes()
            record = load_result(path).record
        except OSError as exc:
            raise UserError(f"cannot read {path} ({exc.strerror or exc})") from None
        except ResultError as exc:
            raise UserError(str(exc)) from None
        text = result_text(compact_record(record, hashlib.sha256(raw).hexdigest(), len(raw)))
        target = dst / path.relative_to(src)
        same = _holds(target, text)
        if target.exists() and not same and (target.is_dir() or target.stat().st_size):
            conflicts.append(target)
        plans.append((path, target, len(raw), text, same))
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise UserError(f"{conflicts[0]}{more} exists and is not the compact copy of its source; nothing was written "
                        f"(remove it or choose another --out)")
    out = []
    for path, target, size, text, same in plans:
        if not same:
            atomic_write_text(target, text)
        out.append(CompactCopy(path, target, size, len(text.encode("utf-8")), written=not same))
    return out


def _holds(target: Path, text: str) -> bool:
    try:
        return target.is_file() and target.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False
