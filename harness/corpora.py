"""Text corpora for the language-model tasks and the trainer (their split: :mod:`harness.splits`).

A corpus is a list of *sequences*: texts of ``lo < len(text) < hi`` characters (the paper keeps
50 < characters < 2,000). Every sequence remembers the *document* it came from
(``Corpus.documents``) and whether it is that whole document, neither cut nor trimmed (``Corpus.whole``:
the paper profile samples those, :mod:`concepts.sample_rule`). The split assigns whole documents,
never single sequences, to held-out, validation and train (:func:`harness.splits.split_corpus`), so no
document is both trained on and evaluated.
Names, and what a document is in each:

- ``wiki`` (default, in-domain): the English Wikipedia sample gensim ships
  (``enwiki-latest-pages-articles1...shortened.bz2``). Pages are read with
  ``gensim.corpora.wikicorpus.extract_pages``, markup removed with ``filter_wiki``; each
  blank-line paragraph gives sequences, with heading, list, table and indent lines dropped and
  ``''``/``'''`` emphasis marks removed. A document is an *article* (page): all of its paragraphs
  land in one part of the split. The parse takes a few seconds, so it is cached.
- ``lee`` (out-of-domain): gensim's ``lee_background.cor``, 300 news documents, one per line (a
  document is a line). It is an *evaluation-only* corpus: see :func:`harness.splits.split_corpus`.
- ``c4`` / ``openwebtext``: streamed with ``datasets`` (:mod:`harness.corpus_stream`; ``allenai/c4`` ``en``,
  ``Skylion007/openwebtext``) until ``max_sequences`` sequences are collected; needs internet.
  A document is a row.
- a user file: ``.txt`` (a document is a blank-line-separated paragraph; the lines of a paragraph
  are joined with single spaces, undoing hard wraps) or ``.jsonl`` (a document is a line: one JSON
  object with a string ``text`` field). Files must be UTF-8. Texts whose paragraphs belong
  together (articles, stories) should come as ``.jsonl``, one text per line, so that the split
  keeps them together.
- CoInCo (``coinco``, ``coinco-dev``, ``coinco-test``, or a ``coinco.xml.gz`` path; :mod:`harness.lexsub_files.coinco`):
  one sequence per sentence, kept whole; a document is a MASC file. ``coinco-dev`` can be trained on; ``coinco``,
  ``coinco-test`` and a file path are evaluation-only.
- a SemEval-2007 lexical-substitution ``.xml`` (:mod:`harness.lexsub_files.semeval2007`): one sequence per distinct
  instance context (head tags removed), kept whole: no character range, no splitting, so every instance's
  text stays as the gold refers to it. A document is a context. It is an *evaluation-only* corpus: build its
  concept sets with ``--split heldout`` and a ``--heldout-size`` of at least its number of contexts.

Documents longer than the range are split, not dropped (:mod:`harness.sequence_cutting`), so long news articles
still count; duplicate sequences are kept once, so no text can be both trained on and held out.

``Corpus.sha256`` is the sha256 of the sequences as used (joined with ``"\\n\\x00"``): it changes
when the source or the processing changes. A split's record carries its method
(:data:`harness.splits.SPLIT_METHOD`), its seed and the sha256 of its held-out part.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from harness.corpus_stream import STREAMED
from harness.errors import UserError
from harness.lexsub_files.coinco import is_coinco
from harness.sequence_cutting import PARAGRAPH_BREAK, to_sequences

BUILTIN = ("wiki", "lee", "c4", "openwebtext")
EVAL_ONLY = frozenset({"lee"})
WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
LEE_FILE = "lee_background.cor"
GENSIM_FIX = "pip install --force-reinstall gensim==4.4.0"  # the wheel ships WIKI_FILE and LEE_FILE
PROCESSING_VERSION = 2  # bump when the text processing changes (invalidates the wiki cache); 2: articles kept
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
    documents: list[int] = field(default_factory=list)  # documents[i]: the document sequence i came from
    whole: list[bool] = field(default_factory=list)  # whole[i]: sequence i is its document, neither cut nor trimmed
    # a lexical-substitution corpus (an .xml, CoInCo): the character spans of each text's marked heads (the words a
    # gold has substitutes for), so a build can give sets to those only (concepts build --heads-only)
    heads: dict[str, set[tuple[int, int]]] | None = None

    def __post_init__(self) -> None:
        if not self.documents:  # none given: every sequence is its own document
            self.documents = list(range(len(self.texts)))
        if not self.whole:  # none given (texts made in memory, not cut here): whole when alone in its document
            n = Counter(self.documents)
            self.whole = [n[d] == 1 for d in self.documents]
        assert len(self.documents) == len(self.texts) == len(self.whole), "one document id and flag per sequence"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "sha256": self.sha256, "sequences": len(self.texts),
                "documents": len(set(self.documents)), "eval_only": self.eval_only,
                "chars_exclusive_range": list(self.limit_chars)}


def texts_sha256(texts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\n\x00")
    return h.hexdigest()


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


def wiki_documents(path: Path) -> list[list[str]]:
    """Per article (page) of the gensim Wikipedia sample, its prose paragraphs (markup lines dropped,
    emphasis marks removed); pages without prose (redirects) are left out."""
    import bz2

    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    articles = []
    with bz2.open(path, "rb") as fh:
        for _title, text, _pageid in extract_pages(fh):
            paragraphs = []
            for para in PARAGRAPH_BREAK.split(filter_wiki(text)):
                lines = [ln.strip() for ln in para.split("\n")]
                lines = [ln for ln in lines if ln and not ln.startswith(_WIKI_MARKUP_LINE)
                         and not ln.upper().startswith("#REDIRECT")]
                if lines:
                    paragraphs.append(re.sub(r"'{2,}", "", " ".join(lines)))
            if paragraphs:
                articles.append(paragraphs)
    return articles


def _wiki_texts(lo: int, hi: int) -> tuple[list[str], list[int], list[bool], str]:
    """Wiki sequences, cached under ``<cache>/corpora`` keyed by the source file's sha256."""
    from harness.paths import cache_dir
    from harness.atomic import atomic_write_json

    from harness.data import sha256_of

    path = _gensim_test_file(WIKI_FILE)
    cached = cache_dir("corpora") / f"wiki-{sha256_of(path)[:16]}-v{PROCESSING_VERSION}.json"
    docs = read_json_cache(cached)
    if not isinstance(docs, list):
        docs = wiki_documents(path)
        atomic_write_json(cached, docs)
    return *to_sequences(docs, lo, hi), str(path)


def _read_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"corpus {path} is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})") from None


def txt_documents(text: str) -> list[str]:
    """One document per blank-line-separated paragraph; a paragraph's lines joined with spaces."""
    return [" ".join(ln.strip() for ln in para.split("\n") if ln.strip()) for para in PARAGRAPH_BREAK.split(text)]


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


_MEMO: dict[tuple, tuple[list[str], list[int], list[bool], str]] = {}  # built-in corpora, once per process


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
        return _corpus(name, *_MEMO[key], limit_chars)
    if name == "wiki":
        texts, documents, whole, source = _wiki_texts(lo, hi)
    elif name == "lee":
        path = _gensim_test_file(LEE_FILE)
        lines = [[line] for line in _read_utf8(path).splitlines()]
        texts, documents, whole, source = *to_sequences(lines, lo, hi), str(path)
    elif name in STREAMED:
        from harness.corpus_stream import streamed_texts

        texts, documents, whole, source = *streamed_texts(name, lo, hi, max_sequences), f"hf:{STREAMED[name][0]}"
    elif is_coinco(name):  # read every time, like a user file
        return _coinco_corpus(name, limit_chars)
    else:  # user files are read every time: they may change between calls
        path = Path(name).expanduser()
        if path.suffix.lower() == ".xml":
            return _lexsub_corpus(path, limit_chars)
        return _corpus(path.stem, *_file_texts(path, lo, hi), str(path.resolve()), limit_chars)
    _MEMO[key] = (texts, documents, whole, source)
    return _corpus(name, texts, documents, whole, source, limit_chars)


def _corpus(name: str, texts: list[str], documents: list[int], whole: list[bool], source: str,
            limit_chars: tuple[int, int], eval_only: bool = False, heads: dict | None = None) -> Corpus:
    return Corpus(name=name, texts=list(texts), source=source, sha256=texts_sha256(texts),
                  eval_only=eval_only or name in EVAL_ONLY, limit_chars=tuple(limit_chars), documents=list(documents),
                  whole=list(whole), heads=heads)


def head_spans(contexts: Iterable[Any]) -> dict[str, set[tuple[int, int]]]:
    """``{text: {(start, end) of each head marked in it}}`` of lexical-substitution contexts."""
    out: dict[str, set[tuple[int, int]]] = {}
    for c in contexts:
        out.setdefault(c.text, set()).add((c.start, c.end))
    return out


def _coinco_corpus(name: str, limit_chars: tuple[int, int]) -> Corpus:
    """CoInCo's sentences, whole, a document per MASC file (:mod:`harness.lexsub_files.coinco`)."""
    from harness.lexsub_files.coinco import EVAL_ONLY, corpus_name, read_coinco

    data = read_coinco(name)
    return _corpus(corpus_name(name), data.sentences, data.documents, [True] * len(data.sentences),
                   data.source + (f" ({data.part} part)" if data.part else ""), limit_chars,
                   eval_only=corpus_name(name) in EVAL_ONLY or data.part is None, heads=head_spans(data.contexts))


def _lexsub_corpus(path: Path, limit_chars: tuple[int, int]) -> Corpus:
    """The distinct contexts of a lexical-substitution XML, in file order, each its own (whole) document."""
    from harness.lexsub_files.semeval2007 import read_contexts

    contexts = read_contexts(path)
    texts = list(dict.fromkeys(c.text for c in contexts))
    return _corpus(path.stem, texts, list(range(len(texts))), [True] * len(texts), str(path.resolve()), limit_chars,
                   eval_only=True, heads=head_spans(contexts))


def _file_texts(path: Path, lo: int, hi: int) -> tuple[list[str], list[int], list[bool]]:
    if not path.exists():
        raise UserError(f"corpus {path} does not exist (choose {', '.join(BUILTIN)}, or a .txt/.jsonl/.xml file)")
    if not path.is_file():
        raise UserError(f"corpus {path} is not a file")
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".jsonl"):
        raise UserError(f"corpus {path}: unknown format {suffix or '(no extension)'} (use .txt, .jsonl or a "
                        f"lexical-substitution .xml)")
    text = _read_utf8(path)
    if not text.strip():
        raise UserError(f"corpus {path} is empty")
    docs = txt_documents(text) if suffix == ".txt" else jsonl_documents(text, path)
    texts, documents, whole = to_sequences([[d] for d in docs], lo, hi)
    if not texts:
        raise UserError(f"corpus {path} has no usable sequence ({lo} < characters < {hi})")
    return texts, documents, whole
