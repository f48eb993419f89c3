"""CoInCo (Kremer et al. 2014, "What Substitutes Tell Us"): all-words lexical substitution on MASC sentences.

The official ``coinco.xml.gz`` (its README describes the format) is a list of
``<sent MASCfile=... MASCsentID=...>`` with the sentence as MASC has it (``<targetsentence>``) and its tokens
(``<token id wordform lemma posMASC posTT [problematic]>``); a target (``id`` other than ``XXX``) carries its
substitutes, ``<subst lemma pos freq>`` with ``freq`` = the annotators who gave it (TreeTagger lemmas; a multiword
substitute has a lemma per word: ``go quickly``). The file is strict XML (entities included), so ElementTree reads it.

What it becomes, in the instance model of :mod:`harness.lexsub_files.semeval2007` (so :mod:`concepts.lexsub_score`
scores it as it scores SemEval-2007):

- the **text** of a sentence is ``<targetsentence>`` with every run of white space made one space (trimmed): the
  sentence as written, hyphens included (the tokens drop them: ``e-mail`` is ``e`` + ``mail`` in MASC). The
  tokens are aligned to it left to right: a token's wordform is found from the end of the previous aligned token,
  accepted when the characters skipped hold no letter or digit or are at most three (a clitic's ``’t``), else the
  token is left unaligned and the search stays where it was. A target's head span ``start:end`` is its aligned
  wordform; the few unaligned targets (15 of 15,629, in two sentences whose tokens differ from the text) are left
  out and counted (``unaligned``).
- a **target** is a :class:`~harness.lexsub_files.semeval2007.LexsubInstance` + :class:`~harness.lexsub_files.semeval2007.
  GoldInstance` keyed by ``(item, id)``: ``item = lemma.pos`` (TreeTagger lemma, the wordform where it is
  ``<unknown>``; ``pos`` from ``posMASC``: ``NN*`` n, ``VB*`` v, ``JJ*`` a, ``RB*`` r), ``id`` the token id.
  Substitutes are lowercased with white space normalised (case variants add up), multiword ones kept (the score
  counts them as gold no set of whole-word tokens can hold). Targets marked ``problematic="yes"`` (fewer than
  two annotators gave a substitute: 214) are left out and counted, as SemEval-2007 left out its items with fewer
  than two responses.
- **parts**: the official dev/test split lists target ids (``devset-tokenIDs.txt``, ``testset-tokenIDs.txt``,
  beside the XML); CoInCo chose whole MASC files for each, so a sentence's targets all fall in one part, and a
  part is the sentences whose targets are in its list. Two short sentences of the dev files occur word for word in
  test files too ("I nodded.", "I asked."): the dev part leaves out a sentence whose text the test part holds,
  with its targets (counted: ``in_test``), so a model trained on dev never saw a test sentence.

As a corpus (``--corpus coinco``, ``coinco-dev``, ``coinco-test`` read ``$HARNESS_DATA_DIR/lexsub/coinco/``, or a
path to ``coinco.xml.gz``): one sequence per distinct sentence, kept whole (no character range, no cutting: the
gold's spans refer to it), and a *document* is a MASC file: the sentences of one text are neighbours (the
annotators saw the one before and after), so the harness's document split never holds out a sentence whose
neighbour is trained on. ``coinco-dev`` is a training corpus (its split holds out whole MASC files);
``coinco`` and ``coinco-test`` are evaluation-only (the test part is never trained on).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

from harness.lexsub_files.semeval2007 import GoldInstance, LexsubInstance
from harness.errors import UserError

NAMES = {"coinco": None, "coinco-dev": "dev", "coinco-test": "test"}  # corpus / gold name -> official part
PART_FILES = {"dev": "devset-tokenIDs.txt", "test": "testset-tokenIDs.txt"}
XML_FILE = "coinco.xml.gz"
RELDIR = Path("lexsub") / "coinco"
EVAL_ONLY = frozenset({"coinco", "coinco-test"})
MASC_POS = {"NN": "n", "VB": "v", "JJ": "a", "RB": "r"}


@dataclass
class CoincoData:
    """The targets of one part (``None``: all) of CoInCo, their sentences and what was left out."""

    contexts: list[LexsubInstance]
    gold: dict[tuple[str, str], GoldInstance]
    sentences: list[str]  # distinct sentence texts, in file order
    documents: list[int]  # documents[i]: the MASC file (numbered by first appearance) of sentences[i]
    source: str
    part: str | None = None
    problematic: int = 0  # targets marked problematic="yes" (left out)
    unaligned: int = 0  # targets whose wordform could not be placed in the sentence text (left out)
    in_test: int = 0  # dev part: targets of sentences whose text the test part also holds (left out)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # key -> posMASC (Penn tag)


def is_coinco(name: str) -> bool:
    """A CoInCo name (:data:`NAMES`) or a path ending in ``.xml.gz``."""
    return name in NAMES or str(name).lower().endswith(".xml.gz")


def resolve(name: str) -> tuple[Path, str | None]:
    """(the XML's path, the official part or None) of a CoInCo name or path."""
    if name not in NAMES:
        return Path(name).expanduser(), None
    root = os.environ.get("HARNESS_DATA_DIR")
    if not root:
        raise UserError(f"{name} is read from $HARNESS_DATA_DIR/{RELDIR}/{XML_FILE}: set HARNESS_DATA_DIR (or pass "
                        f"the path of {XML_FILE})")
    return Path(root).expanduser() / RELDIR / XML_FILE, NAMES[name]


def part_ids(folder: Path, part: str) -> set[str]:
    path = folder / PART_FILES[part]
    if not path.is_file():
        raise UserError(f"CoInCo {part} part: {path} does not exist (it comes beside {XML_FILE})")
    return set(path.read_text(encoding="utf-8").split())


def align(text: str, wordforms: list[str]) -> list[tuple[int, int] | None]:
    """Each wordform's character span in ``text``, or None where it cannot be placed (module docstring)."""
    spans: list[tuple[int, int] | None] = []
    pos = 0
    for w in wordforms:
        i = text.find(w, pos) if w else -1
        gap = text[pos:i] if i >= 0 else ""
        if i >= 0 and (len(gap) <= 3 or not any(c.isalnum() for c in gap)):
            spans.append((i, i + len(w)))
            pos = i + len(w)
        else:
            spans.append(None)
    return spans


def _pos(tag: str) -> str:
    return MASC_POS.get(tag[:2], "")


def read_coinco(name: str) -> CoincoData:
    """The targets and sentences of a CoInCo name or path (module docstring); bad input is a UserError."""
    import xml.etree.ElementTree as ET

    path, part = resolve(name)
    if not path.is_file():
        raise UserError(f"CoInCo file {path} does not exist" if not path.exists() else f"CoInCo {path} is not a file")
    try:
        with gzip.open(path, "rb") as fh:
            root = ET.parse(fh).getroot()
    except (OSError, EOFError, ET.ParseError) as exc:
        raise UserError(f"{path} is not a gzipped CoInCo XML ({exc})") from None
    keep = part_ids(path.parent, part) if part else None
    test_ids = part_ids(path.parent, "test") if part == "dev" else set()
    test_texts: set[str] = set()
    out = CoincoData(contexts=[], gold={}, sentences=[], documents=[], source=str(path.resolve()), part=part)
    seen: dict[str, int] = {}
    files: dict[str, int] = {}
    for sent in root.iter("sent"):
        text = " ".join((sent.findtext("targetsentence") or "").split())
        tokens = sent.findall("./tokens/token")
        if any(t.get("id") in test_ids for t in tokens):
            test_texts.add(text)
        targets = [t for t in tokens if t.get("id", "XXX") != "XXX" and (keep is None or t.get("id") in keep)]
        if not text or not targets:
            continue
        spans = align(text, [t.get("wordform", "") for t in tokens])
        span_of = {id(t): s for t, s in zip(tokens, spans)}
        for t in targets:
            if t.get("problematic") == "yes":
                out.problematic += 1
                continue
            span = span_of[id(t)]
            if span is None:
                out.unaligned += 1
                continue
            lemma = t.get("lemma", "")
            lemma = (t.get("wordform", "") if lemma in ("", "<unknown>") else lemma).lower()
            tag = t.get("posMASC", "")
            gold = GoldInstance(item=f"{lemma}.{_pos(tag)}", id=t.get("id", ""))
            for s in t.iter("subst"):
                word = " ".join(s.get("lemma", "").split()).lower()
                freq = s.get("freq", "")
                if not word or not freq.isdigit():
                    raise UserError(f"{path}: target {gold.id} has a <subst> without lemma or numeric freq")
                gold.substitutes[word] = gold.substitutes.get(word, 0) + int(freq)
            if gold.key in out.gold:
                raise UserError(f"{path}: target id {gold.id} appears twice")
            out.gold[gold.key] = gold
            out.tags[gold.key] = tag
            out.contexts.append(LexsubInstance(item=gold.item, id=gold.id, text=text, start=span[0], end=span[1]))
        if text not in seen:  # every sentence of the part, also one whose targets were all left out
            seen[text] = len(out.sentences)
            out.sentences.append(text)
            out.documents.append(files.setdefault(sent.get("MASCfile", ""), len(files)))
    if test_texts & set(out.sentences):
        _leave_out(out, test_texts)
    if not out.gold:
        raise UserError(f"{path} holds no CoInCo target{f' of the {part} part' if part else ''}: no <sent> with "
                        f"<tokens><token id=...> and <subst> children")
    return out


def _leave_out(data: CoincoData, texts: set[str]) -> None:
    """Remove the sentences ``texts`` and their targets from ``data``, counting the targets in ``in_test``."""
    gone = [c.key for c in data.contexts if c.text in texts]
    data.in_test += len(gone)
    for key in gone:
        del data.gold[key]
        data.tags.pop(key, None)
    data.contexts = [c for c in data.contexts if c.text not in texts]
    kept = [i for i, t in enumerate(data.sentences) if t not in texts]
    data.sentences = [data.sentences[i] for i in kept]
    data.documents = [data.documents[i] for i in kept]


def corpus_name(name: str) -> str:
    """The corpus name a CoInCo name or path gets: the name (``coinco-dev``), or the file's name
    (``coinco.xml.gz``: never one of :data:`NAMES`, so a concept file's header loads it by its path)."""
    return name if name in NAMES else Path(name).name
