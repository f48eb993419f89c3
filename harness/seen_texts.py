"""What a harness-trained model has seen, by hash, and evaluation's check that it scores unseen text.

Training writes ``training_texts.json`` into the adapter folder (:func:`training_texts_file`)::

    {"hash": "sha256 of the UTF-8 text, hex", "count": N, "sha256": [N hex digests, sorted, unique]}

one digest per sequence text of the concept file it used, the training *and* the validation examples:
validation text counts as seen because the checkpoint kept is the one with the best validation loss,
so the model was selected on it. ``harness_train.json`` records the file's name, its own sha256 and N
(``training_texts``), so the adapter's content hash (:func:`harness.models.folder_hash`) covers it and
a changed file is refused when read (:func:`read_trained_texts`).

Evaluation (:func:`check_unseen`): a sequence is *unseen* when no sequence of its document
(:attr:`harness.corpora.Corpus.documents`) is among the digests, so evaluated text never shares a
document with training text, whatever split or file the training text came from (a concept file of the
held-out part, a hand-made file). A sequence the corpus does not hold is its own document. Matching is
by exact sequence text: training text cut from a document differently than the corpus cuts it is not
recognised. An overlap is refused (a UserError), not silently left out, so a reported number is always
one on unseen text. Nothing to check (``None``): a model the harness did not train, or an adapter trained
before training recorded its texts (its ``harness_train.json`` names no ``training_texts``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from harness.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from harness.corpora import Corpus

TRAINING_TEXTS_FILE = "training_texts.json"
HASH_RULE = "sha256 of the UTF-8 text, hex"
_HEX = re.compile(r"[0-9a-f]{64}")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def training_texts_file(texts: Iterable[str]) -> tuple[str, dict[str, Any]]:
    """(the text of ``training_texts.json`` for ``texts``, what ``harness_train.json`` records about it).
    Every process of a distributed run computes both (the record is the same everywhere); one writes."""
    digests = sorted({text_sha256(t) for t in texts})
    body = json.dumps({"hash": HASH_RULE, "count": len(digests), "sha256": digests}, indent=0) + "\n"
    return body, {"file": TRAINING_TEXTS_FILE, "sha256": text_sha256(body), "count": len(digests)}


@dataclass(frozen=True)
class TrainedTexts:
    """The digests of the texts an adapter was trained (and selected) on, and where they came from."""

    sha256: frozenset[str]
    concept_file: str  # the training concept file, as harness_train.json names it


def read_trained_texts(folder: Path, training: dict[str, Any] | None) -> TrainedTexts | None:
    """The adapter folder's trained-text digests (see the module docstring), or None when its training
    record names none. A missing, changed or malformed file is a UserError: the adapter is not whole."""
    entry = (training or {}).get("training_texts")
    if not isinstance(entry, dict):
        return None
    name, want = entry.get("file"), entry.get("sha256")
    if not isinstance(name, str) or Path(name).name != name or not isinstance(want, str):
        raise UserError(f"adapter {folder}: harness_train.json names its training texts wrongly ({entry!r})")
    digests = _read(str(folder / name), want)
    return TrainedTexts(digests, str((training or {}).get("concept_file") or "(not named)"))


def _read(path: str, want: str) -> frozenset[str]:
    """The digests of the file at ``path``, which must have sha256 ``want``. Read on every call (a few
    milliseconds for thousands of digests), so a file changed since an earlier read is still refused."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"adapter file {path} (named by harness_train.json) cannot be read ({exc.strerror}); "
                        f"the adapter folder is not whole") from None
    if hashlib.sha256(data).hexdigest() != want:
        raise UserError(f"adapter file {path} has changed since training (its sha256 is not the one "
                        f"harness_train.json records); the adapter folder is not whole")
    try:
        digests = json.loads(data)["sha256"]
    except (ValueError, KeyError, TypeError):
        digests = None
    if not isinstance(digests, list) or not all(isinstance(d, str) and _HEX.fullmatch(d) for d in digests):
        raise UserError(f"adapter file {path} holds no list of sha256 digests (\"sha256\")")
    return frozenset(digests)


def check_unseen(corpus: "Corpus | None", texts: list[str], seen: TrainedTexts | None, what: str,
                 labels: list[Any] | None = None) -> bool | None:
    """True when no sequence of ``texts`` shares a document of ``corpus`` with a trained text (``seen``);
    None when there is nothing to check (``seen`` is None); an overlap is a one-line UserError.

    A document is trained on when the digest of one of its sequences is in ``seen``; a text the corpus
    does not hold (or ``corpus`` None) is its own document. ``what`` names the texts in the message
    (e.g. "held-out sequences of corpus wiki (<source>)"), ``labels`` each text (default: its index)."""
    if seen is None:
        return None
    document: dict[str, Any] = {}
    trained: set[Any] = set()
    if corpus is not None:
        document = dict(zip(corpus.texts, corpus.documents))
        trained = {d for t, d in zip(corpus.texts, corpus.documents) if text_sha256(t) in seen.sha256}
    hits = []  # (index in texts, its document)
    for i, text in enumerate(texts):
        if text in document:
            if document[text] in trained:
                hits.append((i, document[text]))
        elif text_sha256(text) in seen.sha256:
            hits.append((i, ("not in the corpus", text)))
    if hits:
        docs = len({d for _, d in hits})
        raise UserError(f"{len(hits)} of {len(texts)} {what} come from {docs} document(s) this model was trained "
                        f"on (training text: concept file {seen.concept_file}; first: sequence "
                        f"{hits[0][0] if labels is None else labels[hits[0][0]]}); "
                        f"a model is never scored on its own training documents: train on text outside them "
                        f"(harness concepts build --split train)")
    return True
