"""Benchmark data files: resolution (data folder, cache, package copies, download with sha256) and
helpers for parsing text formats. The files themselves, their checksums and their parsers belong to
the tasks that read them (:attr:`harness.task.Task.data`): this module knows no benchmark.

Resolution order for each file (first hit wins, the source and sha256 are recorded):
1. the user's data folder (``--data-dir`` or ``HARNESS_DATA_DIR``), laid out like ``shared/data``
   (``men/MEN_dataset_natural_form_full``, ``wordsim353/combined.tab``, ...: :attr:`DataFile.relpath`);
2. the harness cache (``<cache>/data/<same layout>``), where downloads land;
3. copies that installed packages ship (gensim ships WordSim353 and SimLex-999);
4. the canonical download (progress bar, sha256 check) unless offline.

Parsers report a malformed line with file and line number (:func:`split_fields`, :func:`parse_number`).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.atomic import atomic_path
from harness.errors import UserError
from harness.paths import cache_dir, cache_root, offline, package_dir

Parser = Callable[[Path], list[Any]]  # a file in one format -> its rows


@dataclass(frozen=True)
class PackageCopy:
    package: str
    relpath: str  # inside the package folder
    parse: Parser  # the copy's own format


@dataclass(frozen=True)
class DataFile:
    """One benchmark file: where it lives in a data folder, its parser, its checksum and where else to find it."""

    key: str
    relpath: str
    parse: Parser
    sha256: str | None  # of the file as distributed; None when the canonical copy is not pinned
    url: str
    member: str  # path of the file inside the downloaded archive
    archive_sha256: str | None = None
    packages: tuple[PackageCopy, ...] = ()


@dataclass(frozen=True)
class ResolvedFile:
    key: str
    path: Path
    parse: Parser  # the parser of the copy found
    source: str  # data-dir | cache | package:<name> | download
    sha256: str

    def describe(self) -> dict:
        return {"file": self.key, "path": str(self.path), "source": self.source, "sha256": self.sha256}

    def read(self) -> list[Any]:
        return self.parse(self.path)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def user_data_dir(explicit: str | os.PathLike | None) -> Path | None:
    value = explicit or os.environ.get("HARNESS_DATA_DIR")
    if not value:
        return None
    path = Path(value).expanduser()
    where = "--data-dir" if explicit else "HARNESS_DATA_DIR"
    if not path.exists():
        raise UserError(f"data folder {path} ({where}) does not exist")
    if not path.is_dir():
        raise UserError(f"data folder {path} ({where}) is a file, not a folder")
    return path


def find_local(df: DataFile, data_dir: str | os.PathLike | None = None) -> tuple[Path, Parser, str] | None:
    """``(path, parser, source)`` by steps 1-3 of the module docstring (nothing downloaded or printed)."""
    user = user_data_dir(data_dir)
    if user is not None and (user / df.relpath).is_file():
        return user / df.relpath, df.parse, "data-dir"
    cached = cache_root() / "data" / df.relpath
    if cached.is_file():
        return cached, df.parse, "cache"
    for copy in df.packages:
        root = package_dir(copy.package)
        if root is not None and (root / copy.relpath).is_file():
            return root / copy.relpath, copy.parse, f"package:{copy.package}"
    return None


def missing_fix(df: DataFile) -> str:
    """How to provide benchmark file ``df`` on a machine that cannot download it."""
    return f"put it at DIR/{df.relpath} and pass --data-dir DIR or set HARNESS_DATA_DIR"


def resolve(df: DataFile, data_dir: str | os.PathLike | None = None) -> ResolvedFile:
    """Find benchmark file ``df`` by the order in the module docstring."""
    user = user_data_dir(data_dir)
    if user is not None and not (user / df.relpath).is_file():
        print(f"harness: {user / df.relpath} is missing; looking elsewhere for {df.key}", file=sys.stderr)
    found = find_local(df, data_dir)
    if found is not None:
        path, parse, source = found
        return ResolvedFile(df.key, path, parse, source, sha256_of(path))
    cached = cache_dir("data") / df.relpath
    if offline():
        reason = "offline (HF_HUB_OFFLINE/HARNESS_OFFLINE set)"
    else:
        try:
            download(df, cached)
            return ResolvedFile(df.key, cached, df.parse, "download", sha256_of(cached))
        except OSError as exc:
            reason = f"download from {df.url} failed: {exc}"
    raise UserError(f"{df.key}: data file {df.relpath} not found ({reason}); {missing_fix(df)}")


def download(df: DataFile, dest: Path) -> None:
    """Fetch ``df.url``, check sha256 of the archive and of the member, extract the member to ``dest``."""
    import urllib.request

    from tqdm import tqdm

    with urllib.request.urlopen(df.url, timeout=30) as resp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        buf = io.BytesIO()
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"download {df.key}", disable=None) as bar:
            for chunk in iter(lambda: resp.read(1 << 16), b""):
                buf.write(chunk)
                bar.update(len(chunk))
    blob = buf.getvalue()
    if df.archive_sha256 and hashlib.sha256(blob).hexdigest() != df.archive_sha256:
        raise OSError(f"sha256 mismatch for {df.url}")
    if df.url.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            member = z.read(df.member)
    else:
        with tarfile.open(fileobj=io.BytesIO(blob)) as t:
            f = t.extractfile(df.member)
            if f is None:
                raise OSError(f"{df.member} not in {df.url}")
            member = f.read()
    if df.sha256 and hashlib.sha256(member).hexdigest() != df.sha256:
        raise OSError(f"sha256 mismatch for {df.member} from {df.url}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        tmp.write_bytes(member)


# ---------------------------------------------------------------- parsing helpers


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (a user error names the first undecodable byte)."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def parse_number(text: str, path: Path, lineno: int) -> float:
    """A finite number (a score of ``nan`` or ``inf`` would make every metric of the file undefined)."""
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{path}:{lineno}: malformed line: score {text!r} is not a number") from None
    if not math.isfinite(value):
        raise UserError(f"{path}:{lineno}: malformed line: score {text!r} is not a finite number")
    return value


def split_fields(line: str, sep: str | None, need: int, path: Path, lineno: int) -> list[str]:
    """``line`` split at ``sep`` (None: white space) into at least ``need`` non-empty fields."""
    fields = line.split(sep)
    if len(fields) < need or any(not f.strip() for f in fields[:need]):
        raise UserError(f"{path}:{lineno}: malformed line: expected {need} fields, got {line!r}")
    return fields


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
