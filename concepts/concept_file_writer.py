"""Streaming a concept file as a build writes it (the format: :mod:`concepts.concept_file`).

The writer appends and flushes one line per sequence, so a killed build leaves at most one
partial last line; :meth:`ConceptFileWriter.open` with ``resume=True`` drops it and reports
the sequences already written. :func:`finalize_header` adds the summaries of a finished build to its header.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from concepts.concept_file import DERIVED_KEYS, PROVENANCE_KEYS, ConceptRecord, json_line, read_header
from harness.atomic import atomic_path
from harness.errors import UserError


def finalize_header(path: Path | str, extra: dict[str, Any]) -> None:
    """Add ``extra`` to the header of the finished file ``path`` (a streamed copy, then an atomic rename)."""
    path = Path(path)
    header = {**read_header(path).raw, **extra}
    with atomic_path(path) as tmp, open(path, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
        src.readline()
        dst.write(json_line(header) + "\n")
        for line in src:
            dst.write(line)
        dst.flush()
        os.fsync(dst.fileno())


class ConceptFileWriter:
    """Streams a concept file: the header once, then one flushed line per sequence.

    ``open(path, header, resume=True)`` keeps the complete lines of an existing file built
    with the same settings (headers equal except :data:`PROVENANCE_KEYS`; the header holds no
    timestamp), truncates a partial last line, and records the finished indices in
    :attr:`done`."""

    def __init__(self, path: Path, handle, done: set[int]) -> None:
        self.path = path
        self._f = handle
        self.done = done

    @classmethod
    def open(cls, path: Path | str, header: dict[str, Any], resume: bool = False) -> "ConceptFileWriter":
        path = Path(path)
        header = {"type": "header", **{k: v for k, v in header.items() if k != "type"}}
        if not path.parent.is_dir():
            raise UserError(f"output folder {path.parent} does not exist")
        if resume and path.is_file() and path.stat().st_size > 0:
            done = _truncate_for_resume(path, header)
            return cls(path, open(path, "a", encoding="utf-8"), done)
        f = open(path, "w", encoding="utf-8")
        f.write(json_line(header) + "\n")
        f.flush()
        return cls(path, f, set())

    def append(self, record: ConceptRecord) -> None:
        self._f.write(json_line(record.to_dict()) + "\n")
        self._f.flush()
        self.done.add(record.index)

    def close(self) -> None:
        if not self._f.closed:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()

    def __enter__(self) -> "ConceptFileWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _truncate_for_resume(path: Path, header: dict[str, Any]) -> set[int]:
    """Check the existing header matches, cut a partial last line, return finished indices."""
    old = read_header(path).raw
    ignored = PROVENANCE_KEYS + DERIVED_KEYS
    diff = sorted(k for k in set(old) | set(header) if k not in ignored and old.get(k) != header.get(k))
    if diff:
        raise UserError(f"cannot resume {path}: it was built with other settings ({', '.join(diff)} differ); "
                        f"remove it or drop --resume")
    done: set[int] = set()
    good_end = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                break  # a partial last line from an interrupted build
            if lineno > 1 and raw.strip():
                try:
                    d = json.loads(raw)
                except json.JSONDecodeError:
                    break
                done.add(int(d["index"]))
            good_end += len(raw)
    if good_end != path.stat().st_size:
        with open(path, "r+b") as f:
            f.truncate(good_end)
    return done
