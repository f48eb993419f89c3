"""The concept-set file: JSON Lines, one header record then one record per sequence.

Line 1 is the header (``{"type": "header", ...}``) stating the model, tokenizer (name and
fingerprint), corpus and split, selector and its settings, ``k``, proportion, seed and
package versions. It holds no timestamp, so two builds with the same inputs write
byte-identical files (an interrupted and resumed build equals an uninterrupted one).

Every further line is one sequence::

    {"type": "sequence", "index": 12, "text": "...", "input_ids": [...],
     "targets": [{"position": 7, "token_id": 19287, "word": "browse", "pos": "VERB",
                  "set_ids": [19287, 2841, ...], "set_words": ["browse", "surf", ...]}]}

``position`` indexes ``input_ids``: the target token ``input_ids[position]`` (= ``token_id``)
is predicted from the prefix ``input_ids[:position]``. ``set_ids`` is the concept set T*: in a
built file the original token first, then the first token of ``" " + synonym`` for each synonym
(de-duplicated, at most 10 synonyms); in a noise control (header block ``randomized``,
:mod:`concepts.randomize`) random tokens that never include the original token. So only
``token_id`` and ``position`` say which token the text holds; no consumer may take column 0 of a
set for it. ``set_words`` is parallel to ``set_ids``. The concept loss of the trainer is
``-log Σ_{t ∈ set_ids} p(t | input_ids[:position])``. ``candidates`` (built files) counts the
sequence's candidates per filter step (:mod:`concepts.build_summary`); the header's
``build_stats`` block, added when a build ends, sums them over the file.

A build streams its file through :class:`concepts.concept_file_writer.ConceptFileWriter`, which appends and
flushes one line per sequence, so a killed build leaves at most one partial last line (a resume drops it).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from concepts.concept_header import ConceptHeader
from harness.errors import UserError

FORMAT_VERSION = 1
# Header keys that describe the software, not the build: a resume accepts a file whose header differs
# only in these (and keeps the file's own header line).
PROVENANCE_KEYS = ("versions", "git_commit")
# Header keys written when a build ends (summaries of the records): a resume ignores them too.
DERIVED_KEYS = ("build_stats",)


@dataclass
class ConceptTarget:
    """One content word of a sequence and its concept set T* (a built file: ``set_ids[0] == token_id``;
    a noise control: ``token_id not in set_ids``)."""

    position: int
    token_id: int
    word: str
    pos: str
    set_ids: list[int]
    set_words: list[str]


@dataclass
class ConceptRecord:
    """One sequence: its text, token ids and the content words that carry a concept set."""

    index: int
    text: str
    input_ids: list[int]
    targets: list[ConceptTarget] = field(default_factory=list)
    candidates: dict[str, int] = field(default_factory=dict)  # candidate counts per filter step (built files)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "sequence", "index": self.index, "text": self.text, "input_ids": list(self.input_ids),
                "targets": [asdict(t) for t in self.targets],
                **({"candidates": dict(self.candidates)} if self.candidates else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ConceptRecord":
        targets = [ConceptTarget(position=int(t["position"]), token_id=int(t["token_id"]), word=str(t["word"]),
                                 pos=str(t["pos"]), set_ids=[int(i) for i in t["set_ids"]],
                                 set_words=[str(w) for w in t["set_words"]]) for t in d["targets"]]
        return cls(index=int(d["index"]), text=str(d["text"]), input_ids=[int(i) for i in d["input_ids"]],
                   targets=targets, candidates={str(k): int(v) for k, v in d.get("candidates", {}).items()})


@dataclass
class ConceptFile:
    header: ConceptHeader
    records: list[ConceptRecord]
    path: Path | None = None

    def targets(self) -> Iterator[tuple[ConceptRecord, ConceptTarget]]:
        for rec in self.records:
            for t in rec.targets:
                yield rec, t


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _parse_line(line: str, path: Path, lineno: int, last: bool = False) -> dict[str, Any]:
    """One JSON object; ``last``: the file's last line, without its newline (a stopped build leaves one cut off)."""
    try:
        d = json.loads(line)
    except json.JSONDecodeError as exc:
        if last:
            raise UserError(f"{path}:{lineno}: the file ends in a cut-off line (a build that was stopped?): finish "
                            f"it with harness concepts build --resume, or build it again") from None
        raise UserError(f"{path}:{lineno}: malformed concept file line ({exc.msg})") from None
    if not isinstance(d, dict):
        raise UserError(f"{path}:{lineno}: malformed concept file line (not a JSON object)")
    return d


def _record(d: dict[str, Any], path: Path, lineno: int, noise: bool, vocab_size: int | None = None) -> ConceptRecord:
    """A checked record: every target sits at its token (one target per position), its set is non-empty,
    parallel to its words, and holds the original token first (built file) or not at all (``noise``: a noise
    control); every token id is one of the tokenizer's (``0 <= id < vocab_size``, when given; never negative)."""
    if d.get("type") != "sequence":
        raise UserError(f"{path}:{lineno}: expected a sequence record, got type {d.get('type')!r}")
    try:
        rec = ConceptRecord.from_dict(d)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}:{lineno}: malformed sequence record ({type(exc).__name__}: {exc})") from None
    n = len(rec.input_ids)
    bad = next((i for i in (*rec.input_ids, *(s for t in rec.targets for s in t.set_ids))
                if i < 0 or (vocab_size is not None and i >= vocab_size)), None)
    if bad is not None:
        size = f" of {vocab_size}" if vocab_size is not None else ""
        raise UserError(f"{path}:{lineno}: token id {bad} lies outside the tokenizer's vocabulary{size} (the file was "
                        f"edited or built for another tokenizer)")
    seen: set[int] = set()
    for t in rec.targets:
        if t.position in seen:
            raise UserError(f"{path}:{lineno}: position {t.position} is a target twice (its concept loss would count "
                            f"twice): keep one target per position")
        seen.add(t.position)
        if noise and t.token_id in t.set_ids:
            raise UserError(f"{path}:{lineno}: this noise control keeps the original token in its set at position "
                            f"{t.position} (an older harness wrote it so): randomize the concept file again")
        if not (0 < t.position < n) or rec.input_ids[t.position] != t.token_id or not t.set_ids \
                or not (noise or t.set_ids[0] == t.token_id) or len(t.set_ids) != len(t.set_words):
            raise UserError(f"{path}:{lineno}: inconsistent target at position {t.position}")
    return rec


def read_header(path: Path | str) -> ConceptHeader:
    """The header record of a concept file (first line)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"concept file {path} does not exist")
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    if not first.strip():
        raise UserError(f"{path}:1: empty concept file (no header)")
    header = _parse_line(first, path, 1)
    if header.get("type") != "header":
        raise UserError(f"{path}:1: not a concept file (first line is no header record)")
    return ConceptHeader(header)


def iter_records(path: Path | str, vocab_size: int | None = None) -> Iterator[ConceptRecord]:
    """Stream the sequence records (the header is checked, not yielded; token ids against ``vocab_size``)."""
    path = Path(path)
    noise = read_header(path).is_noise_control
    repeated = 0
    with open(path, encoding="utf-8") as f:
        f.readline()
        for lineno, line in enumerate(f, start=2):
            if line.strip():
                rec = _record(_parse_line(line, path, lineno, last=not line.endswith("\n")), path, lineno, noise,
                              vocab_size)
                repeated += _count_once(rec)
                yield rec
    if repeated:
        print(f"harness: note: {path}: {repeated} concept set(s) list a token more than once; each counts once",
              file=sys.stderr)


def _count_once(rec: ConceptRecord) -> int:
    """Drop the tokens a set lists again (and their words): T* is a set, as the builder writes it and
    ``set_log_probs`` reads it, so no consumer (the trainer's loss) counts a token twice. Returns the sets changed."""
    changed = 0
    for t in rec.targets:
        keep = [k for k, i in enumerate(t.set_ids) if i not in t.set_ids[:k]]
        if len(keep) < len(t.set_ids):
            t.set_ids, t.set_words = [t.set_ids[k] for k in keep], [t.set_words[k] for k in keep]
            changed += 1
    return changed


def load_concept_file(path: Path | str, tokenizer=None) -> ConceptFile:
    """Read a whole concept file; with ``tokenizer``, check the file was built for it and that every token
    id is one of its (a fingerprint matches a header, not an edited record)."""
    path = Path(path)
    header = read_header(path)
    if header.format_version > FORMAT_VERSION:
        raise UserError(f"{path}:1: concept file format {header.format_version} is newer than this harness "
                        f"reads ({FORMAT_VERSION})")
    if tokenizer is not None:
        header.check_tokenizer(tokenizer, path)
    vocab_size = len(tokenizer) if tokenizer is not None else None
    return ConceptFile(header=header, records=list(iter_records(path, vocab_size)), path=path)


def write_concept_file(path: Path | str, header: dict[str, Any], records: list[ConceptRecord]) -> None:
    """Write a whole concept file atomically (used by ``concepts randomize``)."""
    from harness.atomic import atomic_write_text

    header = {"type": "header", **{k: v for k, v in header.items() if k != "type"}}
    lines = [json_line(header)] + [json_line(r.to_dict()) for r in records]
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
