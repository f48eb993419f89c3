"""Benchmark data: resolution and parsers for the original file formats.

Resolution order for each file (first hit wins, the source and sha256 are recorded):
1. the user's data folder (``--data-dir`` or ``HARNESS_DATA_DIR``), laid out like ``shared/data``
   (``men/MEN_dataset_natural_form_full``, ``wordsim353/combined.tab``, ...);
2. the harness cache (``<cache>/data/<same layout>``), where downloads land;
3. copies that installed packages ship (gensim ships WordSim353 and SimLex-999);
4. the canonical download (progress bar, sha256 check) unless offline.

Parsers return plain rows and report a malformed line with file and line number.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.paths import cache_dir, cache_root, offline, package_dir


@dataclass(frozen=True)
class PackageCopy:
    package: str
    relpath: str  # inside the package folder
    fmt: str  # parser to use for this copy


@dataclass(frozen=True)
class DataFile:
    """One benchmark file: where it lives in a data folder, its checksum and where else to find it."""

    key: str
    relpath: str
    fmt: str
    sha256: str | None  # of the file as distributed; None when the canonical copy is not pinned
    url: str
    member: str  # path of the file inside the downloaded archive
    archive_sha256: str | None = None
    packages: tuple[PackageCopy, ...] = ()


DATA_FILES: dict[str, DataFile] = {
    f.key: f
    for f in [
        DataFile(
            "men", "men/MEN_dataset_natural_form_full", "men",
            # the file kept in shared/data carries a header line the archive's copy lacks,
            # so the archive member cannot be pinned to that checksum
            sha256=None,
            url="https://staff.fnwi.uva.nl/e.bruni/resources/MEN/MEN.tar.gz",
            member="MEN/MEN_dataset_natural_form_full",
        ),
        DataFile(
            "wordsim353", "wordsim353/combined.tab", "wordsim353",
            sha256="1edf400ed472e796b3be562cf7970b10d749a07874a96ddc77e75fd1006b446c",
            url="http://www.cs.technion.ac.il/~gabr/resources/data/wordsim353/wordsim353.zip",
            member="combined.tab",
            packages=(PackageCopy("gensim", "test/test_data/wordsim353.tsv", "gensim_pairs"),),
        ),
        DataFile(
            "simlex999", "simlex999/SimLex-999.txt", "simlex999",
            sha256="ca00ff8515a36cde32d13c2b83def23f5a167b67db93ebfcfb7dae039ba22c0b",
            url="https://fh295.github.io/SimLex-999.zip",
            member="SimLex-999/SimLex-999.txt",
            packages=(PackageCopy("gensim", "test/test_data/simlex999.txt", "gensim_pairs"),),
        ),
        DataFile(
            "stsb-test", "stsbenchmark/sts-test.csv", "stsb",
            sha256="affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a",
            url="http://ixa2.si.ehu.eus/stswiki/images/4/48/Stsbenchmark.tar.gz",
            member="stsbenchmark/sts-test.csv",
            archive_sha256="557a86abbd2b76ee6768d8b5103b659601a9d26b797898c7467812f303b21280",
        ),
        DataFile(
            "stsb-dev", "stsbenchmark/sts-dev.csv", "stsb",
            sha256="5d7e944d8b02734b07bfdb5df67db3420c64bed153fcaa1ba47ad03480cf4234",
            url="http://ixa2.si.ehu.eus/stswiki/images/4/48/Stsbenchmark.tar.gz",
            member="stsbenchmark/sts-dev.csv",
            archive_sha256="557a86abbd2b76ee6768d8b5103b659601a9d26b797898c7467812f303b21280",
        ),
    ]
}


@dataclass(frozen=True)
class ResolvedFile:
    key: str
    path: Path
    fmt: str
    source: str  # data-dir | cache | package:<name> | download
    sha256: str

    def describe(self) -> dict:
        return {"file": self.key, "path": str(self.path), "source": self.source, "sha256": self.sha256}


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
    if not path.is_dir():
        raise UserError(f"data folder {path} does not exist")
    return path


def find_local(key: str, data_dir: str | os.PathLike | None = None) -> tuple[Path, str, str] | None:
    """``(path, format, source)`` by steps 1-3 of the module docstring (nothing downloaded or printed)."""
    df = DATA_FILES[key]
    user = user_data_dir(data_dir)
    if user is not None and (user / df.relpath).is_file():
        return user / df.relpath, df.fmt, "data-dir"
    cached = cache_root() / "data" / df.relpath
    if cached.is_file():
        return cached, df.fmt, "cache"
    for copy in df.packages:
        root = package_dir(copy.package)
        if root is not None and (root / copy.relpath).is_file():
            return root / copy.relpath, copy.fmt, f"package:{copy.package}"
    return None


def missing_fix(key: str) -> str:
    """How to provide benchmark file ``key`` on a machine that cannot download it."""
    relpath = DATA_FILES[key].relpath
    return f"put it at DIR/{relpath} and pass --data-dir DIR or set HARNESS_DATA_DIR"


def resolve(key: str, data_dir: str | os.PathLike | None = None) -> ResolvedFile:
    """Find benchmark file ``key`` (see :data:`DATA_FILES`) by the order in the module docstring."""
    df = DATA_FILES[key]
    user = user_data_dir(data_dir)
    if user is not None and not (user / df.relpath).is_file():
        print(f"harness: {user / df.relpath} is missing; looking elsewhere for {key}", file=sys.stderr)
    found = find_local(key, data_dir)
    if found is not None:
        path, fmt, source = found
        return ResolvedFile(key, path, fmt, source, sha256_of(path))
    cached = cache_dir("data") / df.relpath
    if offline():
        reason = "offline (HF_HUB_OFFLINE/HARNESS_OFFLINE set)"
    else:
        try:
            download(df, cached)
            return ResolvedFile(key, cached, df.fmt, "download", sha256_of(cached))
        except OSError as exc:
            reason = f"download from {df.url} failed: {exc}"
    raise UserError(f"{key}: data file {df.relpath} not found ({reason}); {missing_fix(key)}")


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
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(member)
    os.replace(tmp, dest)


# ---------------------------------------------------------------- parsers


@dataclass(frozen=True)
class Pair:
    """One benchmark item: two texts and the human score."""

    a: str
    b: str
    score: float
    line: int


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _number(text: str, path: Path, lineno: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{path}:{lineno}: malformed line: score {text!r} is not a number") from None


def _fields(line: str, sep: str | None, need: int, path: Path, lineno: int) -> list[str]:
    fields = line.split(sep)
    if len(fields) < need or any(not f.strip() for f in fields[:need]):
        raise UserError(f"{path}:{lineno}: malformed line: expected {need} fields, got {line!r}")
    return fields


def parse_pairs(resolved: ResolvedFile) -> list[Pair]:
    """Parse a benchmark file in its original format into :class:`Pair` rows."""
    path, fmt = resolved.path, resolved.fmt
    rows: list[Pair] = []
    for lineno, raw in enumerate(_read_lines(path), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if fmt == "men":  # "word1 word2 score", space separated; an optional header line first
            f = _fields(line, None, 3, path, lineno)
            if lineno == 1 and not _is_number(f[2]):
                continue
            rows.append(Pair(f[0], f[1], _number(f[2], path, lineno), lineno))
        elif fmt == "wordsim353":  # tab: word1, word2, mean score; header on line 1
            if lineno == 1:
                continue
            f = _fields(line, "\t", 3, path, lineno)
            rows.append(Pair(f[0], f[1], _number(f[2], path, lineno), lineno))
        elif fmt == "simlex999":  # tab: word1, word2, POS, SimLex999, ...; header on line 1
            if lineno == 1:
                continue
            f = _fields(line, "\t", 4, path, lineno)
            rows.append(Pair(f[0], f[1], _number(f[3], path, lineno), lineno))
        elif fmt == "gensim_pairs":  # gensim's copies: '#' comments, tab: word1, word2, score
            if line.startswith("#"):
                continue
            f = _fields(line, "\t", 3, path, lineno)
            rows.append(Pair(f[0], f[1], _number(f[2], path, lineno), lineno))
        elif fmt == "stsb":  # tab: genre, file, year, id, score, s1, s2[, extra...]; quotes are literal
            f = _fields(line, "\t", 7, path, lineno)
            rows.append(Pair(f[5], f[6], _number(f[4], path, lineno), lineno))
        else:  # pragma: no cover - a DataFile with an unknown format is a bug
            raise ValueError(f"unknown data format {fmt}")
    if not rows:
        raise UserError(f"{path}: no data rows")
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
