"""Text corpora for the language-model tasks and the trainer, and their train/validation/held-out split.

A corpus is a list of *sequences*: texts of ``lo < len(text) < hi`` characters (the paper keeps
50 < characters < 2,000). Names:

- ``wiki`` (default, in-domain): the English Wikipedia sample gensim ships
  (``enwiki-latest-pages-articles1...shortened.bz2``, 106 articles). Pages are read with
  ``gensim.corpora.wikicorpus.extract_pages``, markup removed with ``filter_wiki``; each
  blank-line paragraph is one document, with heading, list, table and indent lines dropped and
  ``''``/``'''`` emphasis marks removed. The parse takes a few seconds, so it is cached.
- ``lee`` (out-of-domain): gensim's ``lee_background.cor``, 300 news documents, one per line.
  It is an *evaluation-only* corpus: see :func:`split_corpus`.
- ``c4`` / ``openwebtext``: streamed with ``datasets`` (``allenai/c4`` ``en``,
  ``Skylion007/openwebtext``) until ``max_sequences`` sequences are collected; needs internet.
- a user file: ``.txt`` (one document per blank-line-separated paragraph; the lines of a paragraph
  are joined with single spaces, undoing hard wraps) or ``.jsonl`` (one JSON object per line with
  a string ``text`` field). Files must be UTF-8.

Documents longer than the range are split, not dropped, so long news articles still count:
at blank lines, then line breaks, then sentence ends (``.!?`` followed by white space), packing
consecutive units greedily into pieces shorter than ``hi``; pieces of ``lo`` characters or less
(and a single sentence of ``hi`` or more) are dropped. Duplicate sequences are kept once (first
occurrence), so no text can be both trained on and held out.

``Corpus.sha256`` is the sha256 of the sequences as used (joined with ``"\\n\\x00"``): it changes
when the source or the processing changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from harness.errors import UserError

BUILTIN = ("wiki", "lee", "c4", "openwebtext")
EVAL_ONLY = frozenset({"lee"})
WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
LEE_FILE = "lee_background.cor"
GENSIM_FIX = "pip install --force-reinstall gensim==4.4.0"  # the wheel ships WIKI_FILE and LEE_FILE
STREAMED = {"c4": ("allenai/c4", "en"), "openwebtext": ("Skylion007/openwebtext", None)}
PROCESSING_VERSION = 1  # bump when the text processing changes (invalidates the wiki cache)
_LEVELS = (re.compile(r"\n[ \t]*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"))
_JOINERS = ("\n\n", "\n", " ")
_WIKI_MARKUP_LINE = tuple("=*#:;|!{}+")


@dataclass
class Corpus:
    """Sequences of one corpus. ``source`` says where they came from; ``sha256`` hashes the sequences."""

    name: str
    texts: list[str]
    source: str
    sha256: str
    eval_only: bool = False  # too small to train on: the whole corpus may serve as held-out
    limit_chars: tuple[int, int] = (50, 2000)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "sha256": self.sha256, "sequences": len(self.texts),
                "eval_only": self.eval_only, "chars_exclusive_range": list(self.limit_chars)}


@dataclass
class CorpusSplit:
    """Disjoint train / validation / held-out sequences, and the record that reproduces them."""

    train: list[str]
    validation: list[str]
    heldout: list[str]
    record: dict[str, Any] = field(default_factory=dict)


def texts_sha256(texts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\n\x00")
    return h.hexdigest()


# ------------------------------------------------------------------ sequences from documents


def _pack(units: list[str], joiner: str, hi: int) -> list[str]:
    """Greedily join consecutive units with ``joiner`` while the piece stays shorter than ``hi``."""
    pieces, cur = [], ""
    for u in units:
        cand = f"{cur}{joiner}{u}" if cur else u
        if len(cand) < hi:
            cur = cand
        else:
            if cur:
                pieces.append(cur)
            cur = u
    if cur:
        pieces.append(cur)
    return pieces


def split_document(doc: str, lo: int, hi: int, level: int = 0) -> list[str]:
    """Pieces of ``doc`` with ``lo < len < hi`` (module docstring: blank lines, lines, sentences)."""
    doc = doc.strip()
    if len(doc) < hi:
        return [doc] if len(doc) > lo else []
    if level >= len(_LEVELS):
        return []  # one sentence of hi characters or more: dropped
    units = [u.strip() for u in _LEVELS[level].split(doc) if u.strip()]
    out = []
    for piece in _pack(units, _JOINERS[level], hi):
        out.extend(split_document(piece, lo, hi, level + 1))
    return out


def to_sequences(docs: Iterable[str], lo: int, hi: int) -> list[str]:
    seen: set[str] = set()
    out = []
    for doc in docs:
        for s in split_document(doc, lo, hi):
            if s not in seen:
                seen.add(s)
                out.append(s)
    return out


# ------------------------------------------------------------------ sources


def gensim_test_path(name: str) -> Path | None:
    """``gensim/test/test_data/<name>`` (the gensim wheel ships the wiki and lee corpora there), or None."""
    from harness.paths import package_dir

    root = package_dir("gensim")
    return None if root is None else root / "test" / "test_data" / name


def _gensim_test_file(name: str) -> Path:
    path = gensim_test_path(name)
    if path is None or not path.is_file():
        raise UserError(f"{path or 'gensim'} is missing ({GENSIM_FIX}): gensim ships the wiki and lee corpora")
    return path


def read_json_cache(path: Path) -> Any:
    """The JSON a cache file holds, or None when it is missing or unreadable (then it is rebuilt)."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def wiki_documents(path: Path) -> list[str]:
    """Prose paragraphs of the gensim Wikipedia sample (markup lines dropped, emphasis marks removed)."""
    import bz2

    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    docs = []
    with bz2.open(path, "rb") as fh:
        for _title, text, _pageid in extract_pages(fh):
            for para in _LEVELS[0].split(filter_wiki(text)):
                lines = [ln.strip() for ln in para.split("\n")]
                lines = [ln for ln in lines if ln and not ln.startswith(_WIKI_MARKUP_LINE)
                         and not ln.upper().startswith("#REDIRECT")]
                if lines:
                    docs.append(re.sub(r"'{2,}", "", " ".join(lines)))
    return docs


def _wiki_texts(lo: int, hi: int) -> tuple[list[str], str]:
    """Wiki sequences, cached under ``<cache>/corpora`` keyed by the source file's sha256."""
    from harness.paths import cache_dir
    from harness.results import atomic_write_json

    from harness.data import sha256_of

    path = _gensim_test_file(WIKI_FILE)
    cached = cache_dir("corpora") / f"wiki-{sha256_of(path)[:16]}-v{PROCESSING_VERSION}.json"
    docs = read_json_cache(cached)
    if isinstance(docs, list):
        return to_sequences(docs, lo, hi), str(path)
    docs = wiki_documents(path)
    atomic_write_json(cached, docs)
    return to_sequences(docs, lo, hi), str(path)


def _read_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"corpus {path} is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})") from None


def txt_documents(text: str) -> list[str]:
    """One document per blank-line-separated paragraph; a paragraph's lines joined with spaces."""
    return [" ".join(ln.strip() for ln in para.split("\n") if ln.strip()) for para in _LEVELS[0].split(text)]


def jsonl_documents(text: str, path: Path) -> list[str]:
    docs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise UserError(f"{path}:{n}: each line needs a string field \"text\"")
        docs.append(obj["text"])
    return docs


def _stream_documents(name: str) -> Iterator[str]:
    from harness.paths import offline

    repo, config = STREAMED[name]
    if offline() or _env_true("HF_DATASETS_OFFLINE"):
        raise UserError(f"corpus {name} streams {repo} from the Hugging Face hub, but this run is offline "
                        f"(unset HF_HUB_OFFLINE/HF_DATASETS_OFFLINE, or pass a .txt/.jsonl file)")
    try:
        from datasets import load_dataset

        ds = load_dataset(repo, config, split="train", streaming=True)
        for row in ds:
            yield row["text"]
    except UserError:
        raise
    except Exception as exc:  # network, hub or format errors all mean: the corpus cannot be read
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot stream corpus {name} ({repo}): {first}") from None


def _env_true(var: str) -> bool:
    import os

    return os.environ.get(var, "") in ("1", "true", "TRUE", "yes")


def _streamed_texts(name: str, lo: int, hi: int, max_sequences: int) -> list[str]:
    from tqdm import tqdm

    seen: set[str] = set()
    out: list[str] = []
    with tqdm(total=max_sequences, desc=f"stream {name}", disable=None, leave=False) as bar:
        for doc in _stream_documents(name):
            for s in split_document(doc, lo, hi):
                if s not in seen:
                    seen.add(s)
                    out.append(s)
                    bar.update(1)
            if len(out) >= max_sequences:
                break
    return out[:max_sequences]


_MEMO: dict[tuple, tuple[list[str], str]] = {}  # built-in corpora, once per process


def load_corpus(name_or_path: str, limit_chars: tuple[int, int] = (50, 2000), max_sequences: int = 20000) -> Corpus:
    """The sequences of a named corpus or a user file (module docstring); bad input is a UserError.

    ``max_sequences`` caps only the streamed corpora (c4, openwebtext).
    """
    lo, hi = limit_chars
    if not 0 <= lo < hi:
        raise UserError(f"bad character range {limit_chars}: need 0 <= low < high")
    name = name_or_path.strip()
    if not name:
        raise UserError("empty corpus name (choose wiki, lee, c4, openwebtext, or a .txt/.jsonl file)")
    key = (name, lo, hi, max_sequences)
    if key in _MEMO:
        texts, source = _MEMO[key]
        return _corpus(name, texts, source, limit_chars)
    if name == "wiki":
        texts, source = _wiki_texts(lo, hi)
    elif name == "lee":
        path = _gensim_test_file(LEE_FILE)
        texts, source = to_sequences(_read_utf8(path).splitlines(), lo, hi), str(path)
    elif name in STREAMED:
        texts, source = _streamed_texts(name, lo, hi, max_sequences), f"hf:{STREAMED[name][0]}"
    else:  # user files are read every time: they may change between calls
        path = Path(name).expanduser()
        return _corpus(path.stem, _file_texts(path, lo, hi), str(path.resolve()), limit_chars)
    _MEMO[key] = (texts, source)
    return _corpus(name, texts, source, limit_chars)


def _corpus(name: str, texts: list[str], source: str, limit_chars: tuple[int, int]) -> Corpus:
    return Corpus(name=name, texts=list(texts), source=source, sha256=texts_sha256(texts),
                  eval_only=name in EVAL_ONLY, limit_chars=tuple(limit_chars))


def _file_texts(path: Path, lo: int, hi: int) -> list[str]:
    if not path.exists():
        raise UserError(f"corpus {path} does not exist (choose {', '.join(BUILTIN)}, or a .txt/.jsonl file)")
    if not path.is_file():
        raise UserError(f"corpus {path} is not a file")
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".jsonl"):
        raise UserError(f"corpus {path}: unknown format {suffix or '(no extension)'} (use .txt or .jsonl)")
    text = _read_utf8(path)
    if not text.strip():
        raise UserError(f"corpus {path} is empty")
    docs = txt_documents(text) if suffix == ".txt" else jsonl_documents(text, path)
    texts = to_sequences(docs, lo, hi)
    if not texts:
        raise UserError(f"corpus {path} has no usable sequence ({lo} < characters < {hi})")
    return texts


# ------------------------------------------------------------------ split


def split_corpus(corpus: Corpus, heldout_size: int = 1000, validation_fraction: float = 0.1, seed: int = 0) -> CorpusSplit:
    """Deterministic disjoint split: a seeded permutation of sequence indices.

    ``perm = default_rng(seed).permutation(n)``; the first ``heldout_size`` indices are held
    out, then ``round(validation_fraction · rest)`` are validation, the rest train; each part
    keeps corpus order. Held-out comes first in the permutation, so the held-out set depends only
    on (corpus, heldout_size, seed), never on ``validation_fraction``.

    An evaluation-only corpus (``lee``: 300 documents) with at most ``heldout_size`` sequences is
    held out whole (train and validation empty): it is never trained on, so nothing leaks.
    Any other corpus needs more than ``heldout_size`` sequences, or it is a UserError.
    """
    import numpy as np

    n = len(corpus.texts)
    if heldout_size < 1:
        raise UserError(f"held-out size must be at least 1 (got {heldout_size})")
    if not 0 <= validation_fraction < 1:
        raise UserError(f"validation fraction must be in [0, 1) (got {validation_fraction})")
    if n == 0:
        raise UserError(f"corpus {corpus.name} has no sequences")
    whole = corpus.eval_only and n <= heldout_size
    if n <= heldout_size and not whole:
        raise UserError(f"corpus {corpus.name} has {n} usable sequences, not more than the held-out size "
                        f"{heldout_size}: use a larger corpus or a smaller --heldout-size")
    perm = np.random.default_rng(seed).permutation(n)
    k = n if whole else heldout_size
    rest = perm[k:]
    n_val = int(round(validation_fraction * len(rest)))
    parts = {"heldout": perm[:k], "validation": rest[:n_val], "train": rest[n_val:]}
    texts = {p: [corpus.texts[i] for i in sorted(idx.tolist())] for p, idx in parts.items()}
    record = {
        "corpus": corpus.name, "source": corpus.source, "sha256": corpus.sha256, "sequences": n,
        "seed": seed, "heldout_size": heldout_size, "validation_fraction": validation_fraction,
        "sizes": {p: len(t) for p, t in texts.items()}, "eval_only_whole": whole,
        "method": "numpy default_rng(seed).permutation(n): held-out first, then validation, then train",
        "heldout_sha256": texts_sha256(texts["heldout"]),
    }
    return CorpusSplit(train=texts["train"], validation=texts["validation"], heldout=texts["heldout"], record=record)
