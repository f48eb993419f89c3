"""The SemEval-2007 English lexical-substitution data (McCarthy & Navigli 2007, task 10): contexts and gold.

- **Contexts** (the test XML): ``<corpus><lexelt item="bright.a"><instance id="1"><context>... <head>bright</head>
  ...</context></instance>...</lexelt>...</corpus>``. Each instance becomes a :class:`LexsubInstance`: its text is
  the context with the ``<head>`` tags removed, entities unescaped and every run of white space made one space
  (trimmed at both ends), and ``start``/``end`` is the head's character span in that text. The file is read
  with regular expressions, not an XML parser: the distributed files hold unescaped ``&`` and similar, which a
  strict parser refuses. UTF-8, else Latin-1.
- **Gold** (``lexsub_test.gold``-style lines): ``bright.a 1 :: intelligent 3;clever 3;smart 1;`` — the lexical
  item, the instance id, then each substitute with the number of annotators who gave it. Substitutes are
  lowercased with white space normalised (case variants add up); a line without substitutes is kept with none.

``harness concepts build --corpus lexsub_test.xml --split heldout --heldout-size N`` makes one sequence per
distinct context (:func:`harness.corpora.load_corpus`; an evaluation-only corpus); ``harness concepts score``
compares the built sets with the gold (:mod:`concepts.lexsub_score`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UserError

_LEXELT = re.compile(r"<lexelt\s+item\s*=\s*\"([^\"]+)\"[^>]*>(.*?)</lexelt>", re.S)
_INSTANCE = re.compile(r"<instance\s+id\s*=\s*\"([^\"]+)\"[^>]*>\s*<context>(.*?)</context>", re.S)
_HEAD = re.compile(r"<head>(.*?)</head>", re.S)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class LexsubInstance:
    """One context: ``text[start:end]`` is the head (target) word of lexical item ``item`` (``lemma.pos``)."""

    item: str
    id: str
    text: str
    start: int
    end: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.item, self.id)

    @property
    def head(self) -> str:
        return self.text[self.start:self.end]


@dataclass
class GoldInstance:
    """The annotators' substitutes of one instance: ``substitutes[s]`` = how many gave ``s``."""

    item: str
    id: str
    substitutes: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.item, self.id)

    @property
    def lemma(self) -> str:
        return self.item.rsplit(".", 1)[0].lower()

    @property
    def pos(self) -> str:
        """The item's part of speech: ``n``, ``v``, ``a`` or ``r`` (``""`` when the item names none)."""
        return self.item.rsplit(".", 1)[1].lower() if "." in self.item else ""

    @property
    def responses(self) -> int:
        """``|H_i|``: every annotator response, counted with its frequency."""
        return sum(self.substitutes.values())


def _text(path: Path, what: str) -> str:
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist" if not path.exists() else f"{what} {path} is not a file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _clean(part: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub("", part)))


def is_lexsub_xml(path: Path | str) -> bool:
    return str(path).lower().endswith(".xml")


def read_contexts(path: Path | str) -> list[LexsubInstance]:
    """Every instance of a lexical-substitution XML, in file order (module docstring)."""
    path = Path(path)
    text = _text(path, "lexical-substitution contexts")
    out: list[LexsubInstance] = []
    for lexelt in _LEXELT.finditer(text):
        item = lexelt.group(1).strip()
        for inst in _INSTANCE.finditer(lexelt.group(2)):
            heads = list(_HEAD.finditer(inst.group(2)))
            if len(heads) != 1:
                raise UserError(f"{path}: instance {inst.group(1)} of {item} has {len(heads)} <head> elements "
                                f"(expected one)")
            context, h = inst.group(2), heads[0]
            before = _clean(context[:h.start()]).lstrip()
            head = _clean(h.group(1)).strip()
            after = _clean(context[h.end():]).rstrip()
            if not head:
                raise UserError(f"{path}: instance {inst.group(1)} of {item} has an empty <head>")
            out.append(LexsubInstance(item=item, id=inst.group(1).strip(), text=before + head + after,
                                      start=len(before), end=len(before) + len(head)))
    if not out:
        raise UserError(f"{path} is not a SemEval-2007 lexical-substitution file: no <lexelt item=...><instance id=...>"
                        f"<context> with a <head>")
    return out


def read_gold(path: Path | str) -> dict[tuple[str, str], GoldInstance]:
    """The gold substitutes by (item, instance id), e.g. ``bright.a 1 :: intelligent 3;clever 3;``."""
    path = Path(path)
    out: dict[tuple[str, str], GoldInstance] = {}
    for n, line in enumerate(_text(path, "gold file").splitlines(), 1):
        if not line.strip():
            continue
        head, sep, rest = line.partition("::")
        fields = head.split()
        if not sep or len(fields) != 2:
            raise UserError(f"{path}:{n}: not a lexical-substitution gold line (expected 'item.pos id :: substitute "
                            f"count;...')")
        gold = GoldInstance(item=fields[0], id=fields[1])
        for entry in rest.split(";"):
            entry = " ".join(entry.split())
            if not entry:
                continue
            word, _, count = entry.rpartition(" ")
            if not word or not count.isdigit():
                raise UserError(f"{path}:{n}: substitute {entry!r} has no annotator count")
            gold.substitutes[word.lower()] = gold.substitutes.get(word.lower(), 0) + int(count)
        if gold.key in out:
            raise UserError(f"{path}:{n}: instance {fields[0]} {fields[1]} appears twice")
        out[gold.key] = gold
    if not out:
        raise UserError(f"gold file {path} holds no instance")
    return out
