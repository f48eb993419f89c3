"""Make NLTK's WordNet reader work from an installed WordNet 3.0, or say which file is missing.

NLTK's ``WordNetCorpusReader`` opens these files of its folder (traced with an audit hook on
nltk 3.10): on construction ``lexnames``, ``data.adj``, ``index.{noun,verb,adj,adv}``,
``{noun,verb,adj,adv}.exc`` and ``index.sense`` (to map sense keys between WordNet versions,
found through ``nltk.data.path`` as ``corpora/wordnet``); on lookups ``data.{noun,verb,adv}``.
``cntlist.rev`` is read only by ``Lemma.count()``, which the harness does not call.

Where they come from, in this order of preference:
1. a WordNet that NLTK finds (``nltk.download('wordnet')``, or ``NLTK_DATA``), unless
   ``HARNESS_WORDNET_DIR`` is set (then that folder is the user's choice and NLTK is not asked);
2. the copy this module made earlier under ``<cache>/nltk_data/corpora/wordnet``;
3. ``HARNESS_WORDNET_DIR``, or else the WordNet 3.0 files of an operating-system package:
   Debian/Ubuntu ``wordnet-base`` installs the database (``index.*``, ``data.*``, ``*.exc``) and
   ``wordnet-sense-index`` installs ``index.sense``, both in ``/usr/share/wordnet``. They are
   *copied* (NLTK's reader does not follow the package's layout) into
   ``<cache>/nltk_data/corpora/wordnet/`` together with the ``lexnames`` file NLTK needs and no
   package has: the standard 45-entry table of lexicographer files from the lexnames(5WN) page.

When none is complete, the error names the files missing from the closest candidate and the
package or command that provides them.
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from harness.atomic import atomic_path
from harness.errors import UserError

SYSTEM_DIRS = ("/usr/share/wordnet", "/usr/local/share/wordnet", "/usr/share/WordNet-3.0/dict",
               "/usr/local/WordNet-3.0/dict", "/opt/homebrew/share/wordnet")
DATABASE = tuple(f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv")) + \
    tuple(f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv"))
SENSE_INDEX = "index.sense"
LEXNAMES = "lexnames"
PACKAGE_FILES = DATABASE + (SENSE_INDEX,)  # what a WordNet 3.0 installation must hold
NLTK_OPENS = PACKAGE_FILES + (LEXNAMES,)  # what the folder NLTK reads must hold
DEBIAN_PACKAGE = {SENSE_INDEX: "wordnet-sense-index"}  # every other file: wordnet-base
NLTK_DOWNLOAD = "python -c \"import nltk; nltk.download('wordnet')\""

# lexnames(5WN): file number, lexicographer file name, syntactic category (1 noun, 2 verb, 3 adj, 4 adv).
_LEXNAMES = (
    "adj.all 3", "adj.pert 3", "adv.all 4", "noun.Tops 1", "noun.act 1", "noun.animal 1", "noun.artifact 1",
    "noun.attribute 1", "noun.body 1", "noun.cognition 1", "noun.communication 1", "noun.event 1",
    "noun.feeling 1", "noun.food 1", "noun.group 1", "noun.location 1", "noun.motive 1", "noun.object 1",
    "noun.person 1", "noun.phenomenon 1", "noun.plant 1", "noun.possession 1", "noun.process 1",
    "noun.quantity 1", "noun.relation 1", "noun.shape 1", "noun.state 1", "noun.substance 1", "noun.time 1",
    "verb.body 2", "verb.change 2", "verb.cognition 2", "verb.communication 2", "verb.competition 2",
    "verb.consumption 2", "verb.contact 2", "verb.creation 2", "verb.emotion 2", "verb.motion 2",
    "verb.perception 2", "verb.possession 2", "verb.social 2", "verb.stative 2", "verb.weather 2", "adj.ppl 3",
)


def lexnames_text() -> str:
    return "".join(f"{i:02d}\t{name.split()[0]}\t{name.split()[1]}\n" for i, name in enumerate(_LEXNAMES))


def fix_for(missing: Sequence[str]) -> str:
    """How to get the ``missing`` WordNet files: the Debian packages that hold them, or NLTK's download."""
    packages = sorted({DEBIAN_PACKAGE.get(name, "wordnet-base") for name in missing if name != LEXNAMES})
    apt = f"`apt-get install {' '.join(packages)}` (Debian/Ubuntu, as root), or " if packages else ""
    return f"install with {apt}`{NLTK_DOWNLOAD}`, or point HARNESS_WORDNET_DIR at a complete WordNet 3.0 dict folder"


@dataclass(frozen=True)
class WordNetLocation:
    """Where WordNet was found (``missing`` empty), or the closest candidate and what it lacks."""

    source: str  # env (HARNESS_WORDNET_DIR) | nltk | cache | system | none
    folder: str  # the folder (or NLTK path pointer) holding the files; '' when nothing was found
    missing: tuple[str, ...]
    looked_in: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    def problem(self) -> str:
        if not self.folder:
            return f"WordNet 3.0 not found (looked in {', '.join(self.looked_in)})"
        files = "file {} is" if len(self.missing) == 1 else "files {} are"
        return f"WordNet {files.format(', '.join(self.missing))} missing from {self.folder}"

    def error(self) -> str:
        return f"{self.problem()}: {fix_for(self.missing)}"


def _missing(folder: Path, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(n for n in names if not (folder / n).is_file())


def _nltk_missing(pointer) -> tuple[str, ...]:
    """Files NLTK opens that an NLTK path pointer (folder or zip member) lacks."""
    missing = []
    for name in NLTK_OPENS:
        try:
            pointer.join(name)
        except OSError:
            missing.append(name)
    return tuple(missing)


def cache_copy() -> Path:
    """``<cache>/nltk_data/corpora/wordnet`` (not created)."""
    from harness.paths import cache_root

    return cache_root() / "nltk_data" / "corpora" / "wordnet"


def locate_wordnet(system_dirs: Sequence[Path] | None = None, search_nltk: bool = True) -> WordNetLocation:
    """Find a complete WordNet by the order in the module docstring, reading no file's contents."""
    explicit = os.environ.get("HARNESS_WORDNET_DIR")
    candidates: list[WordNetLocation] = []
    looked: list[str] = []

    def consider(source: str, folder: str, missing: tuple[str, ...]) -> WordNetLocation | None:
        loc = WordNetLocation(source, folder, missing, ())
        candidates.append(loc)
        return loc if loc.ok else None

    if search_nltk and not explicit:
        import nltk

        looked.append("NLTK's data path")
        try:
            pointer = nltk.data.find("corpora/wordnet")
        except LookupError:
            pointer = None
        if pointer is not None and (found := consider("nltk", str(pointer), _nltk_missing(pointer))):
            return found
    cached = cache_copy()
    looked.append(str(cached))
    if cached.is_dir() and (found := consider("cache", str(cached), _missing(cached, NLTK_OPENS))):
        return found
    dirs = [Path(explicit)] if explicit else [Path(d) for d in (system_dirs if system_dirs is not None else SYSTEM_DIRS)]
    for d in dirs:
        looked.append(str(d))
        if d.is_dir() and (found := consider("env" if explicit else "system", str(d), _missing(d, PACKAGE_FILES))):
            return found
    if not candidates:
        return WordNetLocation("none", "", PACKAGE_FILES, tuple(looked))
    closest = min(candidates, key=lambda c: len(c.missing))  # the first among equals: search order
    return WordNetLocation(closest.source, closest.folder, closest.missing, tuple(looked))


def install_from(source: Path, nltk_root: Path) -> Path:
    """Copy a WordNet 3.0 installation into ``<nltk_root>/corpora/wordnet`` (atomically) with a lexnames file."""
    target = nltk_root / "corpora" / "wordnet"
    if not _missing(target, NLTK_OPENS):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        tmp.mkdir()
        for p in source.iterdir():
            if p.is_file():
                shutil.copyfile(p, tmp / p.name)
        if not (tmp / LEXNAMES).is_file():
            (tmp / LEXNAMES).write_text(lexnames_text(), encoding="ascii")
        if target.exists():  # an incomplete copy (made before index.sense was required)
            shutil.rmtree(target)
    return target


def load_wordnet(system_dirs: Sequence[Path] | None = None, search_nltk: bool = True):
    """NLTK's WordNet corpus reader over WordNet 3.0 (module docstring), or a UserError naming what is missing."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    location = locate_wordnet(system_dirs, search_nltk)
    if not location.ok:
        raise UserError(location.error())
    target = cache_copy()
    nltk_root = target.parent.parent
    if location.source not in ("nltk", "cache"):
        from filelock import FileLock

        from harness.paths import cache_dir

        cache_dir("nltk_data")  # an unusable cache root is named as such
        try:
            with FileLock(str(nltk_root / "wordnet.lock")):
                install_from(Path(location.folder), nltk_root)
        except OSError as exc:
            raise UserError(f"cannot copy WordNet from {location.folder} into {target}: {exc}") from None
    try:
        if location.source == "nltk":
            from nltk.corpus import wordnet

            wordnet.ensure_loaded()
            return wordnet
        # NLTK finds index.sense as corpora/wordnet on its data path: ours must come first
        if str(nltk_root) in nltk.data.path:
            nltk.data.path.remove(str(nltk_root))
        nltk.data.path.insert(0, str(nltk_root))
        with warnings.catch_warnings():  # "multilingual functions are not available": no OMW wanted
            warnings.simplefilter("ignore", UserWarning)
            return WordNetCorpusReader(str(target), None)
    except (OSError, LookupError, ValueError) as exc:  # a file unreadable, or removed since it was located
        name = Path(getattr(exc, "filename", None) or "").name
        what = f"WordNet file {name}" if name else f"WordNet in {location.folder}"
        raise UserError(f"{what} cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}): "
                        f"{fix_for([name] if name in NLTK_OPENS else PACKAGE_FILES)}") from None
