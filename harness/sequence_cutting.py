"""Documents -> sequences of ``lo < len(text) < hi`` characters (the paper keeps 50 < characters < 2,000), for
every corpus of :mod:`harness.corpora` and the streamed ones (:mod:`harness.corpus_stream`).

Documents longer than the range are split, not dropped, so long news articles still count:
at blank lines, then line breaks, then sentence ends (``.!?`` followed by white space), packing
consecutive units greedily into pieces shorter than ``hi``; pieces of ``lo`` characters or less
(and a single sentence of ``hi`` or more) are dropped. Duplicate sequences are kept once (first
occurrence, in the document of that occurrence), so no text can be both trained on and held out.
"""

from __future__ import annotations

import re
from typing import Iterable

PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")  # a blank line (also what separates the documents of a .txt)
_LEVELS = (PARAGRAPH_BREAK, re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"))
_JOINERS = ("\n\n", "\n", " ")


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
    """Pieces of ``doc`` with ``lo < len < hi`` (module docstring)."""
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


def to_sequences(docs: Iterable[list[str]], lo: int, hi: int) -> tuple[list[str], list[int], list[bool]]:
    """(sequences, document of each, whether it is its whole document): each piece (e.g. paragraph) of
    document d through :func:`split_document`; a duplicate sequence is kept once, in the document where it
    came first. A sequence is whole when its document is one piece that :func:`split_document` kept as it is."""
    seen: set[str] = set()
    texts: list[str] = []
    documents: list[int] = []
    whole: list[bool] = []
    for d, pieces in enumerate(docs):
        out = [s for piece in pieces for s in split_document(piece, lo, hi)]
        for s in out:
            if s not in seen:
                seen.add(s)
                texts.append(s)
                documents.append(d)
                whole.append(len(pieces) == 1 and out == [pieces[0].strip()])
    return texts, documents, whole
