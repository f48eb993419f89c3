"""The header of a concept file (its first line), read into :class:`ConceptHeader` once.

A header written by :mod:`concepts.builder` holds blocks (``model``, ``tokenizer``, ``corpus``,
``split``, ``selector``: objects with a ``name``, a sha256, ...); files written by other tools or older
versions may hold plain strings or lack blocks. Every reader (the trainer, the geometry tasks, the LM
tasks' domain check, ``harness concepts show``) asks :class:`ConceptHeader`, which reads each block
defensively in one place; ``raw`` is the header as written (what gets copied and recorded).

The tokenizer block carries :func:`tokenizer_fingerprint`, the one fingerprint of a tokenizer in the
harness (also the key of cached content words): a file is only used with a tokenizer that has it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UserError


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 over the tokenizer's vocabulary (token -> id, sorted) and its special tokens.

    Two tokenizers with the same fingerprint map every text to the same ids, which is
    what a concept file needs from the model it is used with."""
    vocab = sorted(tokenizer.get_vocab().items())
    special = sorted((str(k), str(v)) for k, v in (tokenizer.special_tokens_map or {}).items())
    payload = json.dumps({"vocab": vocab, "special": special}, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def tokenizer_info(tokenizer: Any, name: str | None = None) -> dict[str, Any]:
    """The header's ``tokenizer`` block (``name``: e.g. the model spec, rather than a cache path)."""
    return {"name": name or str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__),
            "class": type(tokenizer).__name__, "vocab_size": len(tokenizer),
            "fingerprint": tokenizer_fingerprint(tokenizer)}


@dataclass(frozen=True)
class ConceptHeader:
    raw: dict[str, Any]

    @classmethod
    def of(cls, value: Any) -> ConceptHeader:
        """The header of a file, or of the ``concept_header`` an adapter's training record copied (``None``: empty)."""
        return cls(value if isinstance(value, dict) else {})

    def block(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key)
        return value if isinstance(value, dict) else {}

    def name(self, key: str) -> str | None:
        """A block's name: ``{"name": ...}`` (builder) or a plain string (other writers)."""
        value = self.raw.get(key)
        if isinstance(value, dict):
            value = value.get("name") or value.get("id")
        return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None

    @property
    def format_version(self) -> int:
        value = self.raw.get("format_version", 1)
        return value if isinstance(value, int) else 1

    @property
    def corpus_sha256(self) -> str | None:
        return self.block("corpus").get("sha256")

    @property
    def corpus_spec(self) -> str | None:
        """What ``load_corpus`` takes for the corpus the file was built from: a built-in (or CoInCo) corpus's name, else
        its source (a file path)."""
        from harness.lexsub_files.coinco import NAMES as COINCO_NAMES
        from harness.corpora import BUILTIN

        block = self.block("corpus")
        named = block.get("name") in BUILTIN or block.get("name") in COINCO_NAMES
        return block.get("name") if named else block.get("source")

    @property
    def split_part(self) -> str:
        """``train``, ``validation`` or ``heldout`` (``""`` when the file does not say)."""
        split = self.raw.get("split") or ""  # null: says nothing (not the part "None")
        return str((split.get("part") or "") if isinstance(split, dict) else split)

    @property
    def model_spec(self) -> str | None:
        return self.block("model").get("spec")

    @property
    def is_noise_control(self) -> bool:
        """A file written by ``harness concepts randomize`` (its sets never hold the original token)."""
        return bool(self.raw.get("randomized"))

    def same_corpus(self, other: ConceptHeader) -> bool:
        """Both name the same corpus content (sha256)."""
        return self.corpus_sha256 is not None and self.corpus_sha256 == other.corpus_sha256

    def check_tokenizer(self, tokenizer: Any, path: Path | str | None = None) -> None:
        """Raise a one-line UserError when the file was built with another tokenizer."""
        want = self.block("tokenizer").get("fingerprint")
        have = tokenizer_fingerprint(tokenizer)
        if want != have:
            name = self.block("tokenizer").get("name", "?")
            raise UserError(f"concept file {path or ''} was built for tokenizer {name} (fingerprint {str(want)[:12]}), "
                            f"not this model's tokenizer (fingerprint {have[:12]}); rebuild it with harness concepts "
                            f"build")

    def check_training_part(self, path: Path | str) -> None:
        """Refuse (one-line UserError) a file whose header says its text is not the train part of its corpus
        split (``heldout`` or ``validation``): evaluation uses those parts (the LM tasks' and geometry tasks'
        held-out text, a validation set), so training on them would score the model on its own training
        text. A file that names no part (made by hand) passes here; evaluation's check of the trained
        texts' digests covers it (:mod:`harness.seen_texts`)."""
        part = self.split_part
        if part in ("", "train"):
            return
        raise UserError(f"concept file {path} holds the {part} part of corpus {self.name('corpus')}'s split; training "
                        f"takes only the train part, so that evaluation never scores a model on its own training text: "
                        f"build it with {self.train_build_command(path)}")

    def train_build_command(self, path: Path | str) -> str:
        """The ``harness concepts build`` command of the train part, with this file's model, corpus, selector,
        limit and split settings (those that differ from the defaults), written beside ``path``."""
        import shlex

        from harness.models import EMBEDDED_DEFAULT
        from harness.splits import HELDOUT_SIZE, SPLIT_SEED, VALIDATION_FRACTION

        split = self.block("split")
        path = Path(path)

        def unless(key: str, default: Any) -> Any:
            return None if split.get(key) in (None, default) else split.get(key)

        flags = [("--model", None if self.model_spec == EMBEDDED_DEFAULT else self.model_spec),
                 ("--corpus", self.corpus_spec or "CORPUS"), ("--selector", self.name("selector") or "SELECTOR"),
                 ("--split", "train"), ("--limit", split.get("limit")),
                 ("--heldout-size", unless("heldout_size", HELDOUT_SIZE)),
                 ("--validation-fraction", unless("validation_fraction", VALIDATION_FRACTION)),
                 ("--split-seed", unless("split_seed", SPLIT_SEED)),
                 ("--out", path.with_name(f"{path.stem}.train{path.suffix or '.jsonl'}"))]
        return "harness concepts build " + " ".join(f"{flag} {shlex.quote(str(value))}" for flag, value in flags
                                                    if value is not None)
