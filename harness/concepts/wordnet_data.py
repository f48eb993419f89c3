"""Make NLTK's WordNet reader work from an installed WordNet 3.0 database.

Order of preference:
1. a WordNet that NLTK already finds (``nltk.download('wordnet')``, or ``NLTK_DATA``);
2. the copy this module made earlier under ``<cache>/nltk_data/corpora/wordnet``;
3. the WordNet 3.0 database files of an operating-system package (Debian/Ubuntu
   ``wordnet-base`` installs them in ``/usr/share/wordnet``; ``HARNESS_WORDNET_DIR``
   names another folder). They are *copied* (NLTK's reader does not follow the package's
   layout) into ``<cache>/nltk_data/corpora/wordnet/`` together with the ``lexnames`` file
   NLTK needs and the package lacks: the standard 45-entry table of lexicographer files
   from the lexnames(5WN) manual page.

When none exists the error says how to install it.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Sequence

from harness.errors import UserError

INSTALL_HINT = ("install it with `apt-get install wordnet-base` (Debian/Ubuntu), or in Python "
                "`import nltk; nltk.download('wordnet')`, or point HARNESS_WORDNET_DIR at a WordNet 3.0 dict folder")
SYSTEM_DIRS = ("/usr/share/wordnet", "/usr/local/share/wordnet", "/usr/share/WordNet-3.0/dict",
               "/usr/local/WordNet-3.0/dict", "/opt/homebrew/share/wordnet")
REQUIRED = tuple(f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv")) + \
    tuple(f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv"))

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


def _has_database(folder: Path) -> bool:
    return all((folder / name).is_file() for name in REQUIRED)


def _system_dirs() -> list[Path]:
    env = os.environ.get("HARNESS_WORDNET_DIR")
    return [Path(env)] if env else [Path(d) for d in SYSTEM_DIRS]


def install_from(source: Path, nltk_root: Path) -> Path:
    """Copy a WordNet 3.0 database into ``<nltk_root>/corpora/wordnet`` (atomically) with a lexnames file."""
    target = nltk_root / "corpora" / "wordnet"
    if _has_database(target) and (target / "lexnames").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".wordnet.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for p in source.iterdir():
        if p.is_file():
            shutil.copyfile(p, tmp / p.name)
    if not (tmp / "lexnames").is_file():
        (tmp / "lexnames").write_text(lexnames_text(), encoding="ascii")
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target


def load_wordnet(system_dirs: Sequence[Path] | None = None, search_nltk: bool = True):
    """NLTK's WordNet corpus reader over WordNet 3.0 (module docstring), or a UserError saying how to install it."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    from harness.paths import cache_dir

    if search_nltk:
        try:
            nltk.data.find("corpora/wordnet")
            from nltk.corpus import wordnet

            wordnet.ensure_loaded()
            return wordnet
        except LookupError:
            pass
    nltk_root = cache_dir("nltk_data")
    target = nltk_root / "corpora" / "wordnet"
    if not (_has_database(target) and (target / "lexnames").is_file()):
        dirs = list(system_dirs) if system_dirs is not None else _system_dirs()
        source = next((d for d in dirs if _has_database(Path(d))), None)
        if source is None:
            raise UserError(f"WordNet data not found (looked in NLTK's data path and {', '.join(map(str, dirs))}): "
                            f"{INSTALL_HINT}")
        from filelock import FileLock

        with FileLock(str(nltk_root / "wordnet.lock")):
            install_from(Path(source), nltk_root)
    if str(nltk_root) not in nltk.data.path:
        nltk.data.path.append(str(nltk_root))  # NLTK reads corpora only from folders on its data path
    try:
        with warnings.catch_warnings():  # "multilingual functions are not available": no OMW wanted
            warnings.simplefilter("ignore", UserWarning)
            return WordNetCorpusReader(str(target), None)
    except (OSError, LookupError, ValueError) as exc:
        raise UserError(f"WordNet data in {target} cannot be read ({exc}); remove the folder and retry, or "
                        f"{INSTALL_HINT}") from None
