"""Document-level train / validation / held-out splits of a corpus, and what evaluation may use.

Held-out text must never meet training text, whatever the run: :func:`split_corpus` assigns
whole documents (:attr:`harness.corpora.Corpus.documents`) to one part, with a split seed that is
fixed (:data:`SPLIT_SEED`, or ``--split-seed``) and never a run's training seed;
:func:`evaluation_corpora` names the in- and out-of-domain corpora of a training corpus. That a
model was not trained on what it is evaluated on, whatever split (or none) its training text came from,
is checked by the digests of its training texts (:mod:`harness.seen_texts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.corpora import Corpus, texts_sha256
from harness.errors import UserError

SPLIT_SEED = 0  # the default split seed: fixed, never a run's --seed, so held-out sets are the same for every run
SPLIT_METHOD = "documents-v2"  # bump when split_corpus changes what lands where
HELDOUT_SIZE = 1000  # held-out sequences per corpus (the paper's 1,000 held-out samples)
VALIDATION_FRACTION = 0.1  # validation share of the documents left after the held-out part
OUT_OF_DOMAIN = {"wiki": "lee", "c4": "openwebtext", "openwebtext": "c4"}  # the paper pairs C4 and OpenWebText


@dataclass
class CorpusSplit:
    """Disjoint train / validation / held-out sequences, and the record that reproduces them."""

    train: list[str]
    validation: list[str]
    heldout: list[str]
    record: dict[str, Any] = field(default_factory=dict)


def evaluation_corpora(train_corpus: str) -> list[str]:
    """The LM tasks' corpora for a model post-trained on ``train_corpus``: in-domain first (the
    training corpus's own held-out documents), then out-of-domain: its partner in
    :data:`OUT_OF_DOMAIN` (wiki → lee, c4 ↔ openwebtext, as the paper pairs them), and ``lee`` for
    any other corpus (a user file): an evaluation-only news corpus no model is trained on."""
    return list(dict.fromkeys([train_corpus, OUT_OF_DOMAIN.get(train_corpus, "lee")]))


def split_corpus(corpus: Corpus, heldout_size: int = HELDOUT_SIZE,
                 validation_fraction: float = VALIDATION_FRACTION, seed: int = SPLIT_SEED) -> CorpusSplit:
    """Deterministic disjoint split of whole *documents* into held-out, validation and train.

    ``order = default_rng(seed).permutation(D)`` over the corpus's D documents (numbered by first
    sequence). Held-out takes documents in that order until it holds ``heldout_size`` sequences;
    of the last one it keeps the first sequences it needs, and the rest of that document (the
    record's ``dropped``) is used nowhere, neither evaluated nor trained on: no document ever
    straddles two parts, and the held-out set has exactly ``heldout_size`` sequences. Validation
    takes the next documents until it holds ``round(validation_fraction · R)`` sequences or more
    (R = sequences of the documents left), always leaving one document or more to train; train
    is the rest.

    ``seed`` is the *split* seed (:data:`SPLIT_SEED` unless a user sets it), never a run's
    training seed, so every run on one corpus is evaluated on the same held-out text. Held-out
    comes first in the permutation, so it depends only on (corpus, heldout_size, seed), never on
    ``validation_fraction``; a smaller held-out size gives a subset of a larger one's.

    Validation keeps corpus order. The held-out and then the train sequences are shuffled by the
    same generator (one ``permutation`` each, after the document order), so the first N of either
    (``--heldout-limit N``, or a concept file of N training sequences: the cpu profile's 400) are a
    uniform sample of the part, not the first few articles.

    An evaluation-only corpus (``lee``) with at most ``heldout_size`` sequences is held out whole
    (train and validation empty): it is never trained on, so nothing leaks. Any other corpus needs
    documents left over after the held-out set, or it is a UserError.
    """
    import numpy as np

    n = len(corpus.texts)
    if heldout_size < 1:
        raise UserError(f"held-out size must be at least 1 (got {heldout_size})")
    if not 0 <= validation_fraction < 1:
        raise UserError(f"validation fraction must be in [0, 1) (got {validation_fraction})")
    if n == 0:
        raise UserError(f"corpus {corpus.name} has no sequences")
    by_doc: dict[int, list[int]] = {}
    for i, d in enumerate(corpus.documents):
        by_doc.setdefault(d, []).append(i)
    docs = list(by_doc.values())
    rng = np.random.default_rng(seed)
    order = [docs[k] for k in rng.permutation(len(docs))]
    whole = corpus.eval_only and n <= heldout_size
    held: list[int] = []
    k = 0
    while k < len(order) and (whole or len(held) < heldout_size):
        held += order[k]
        k += 1
    if not whole and (len(held) < heldout_size or k == len(order)):
        raise UserError(f"corpus {corpus.name} has {n} usable sequences in {len(order)} documents: the held-out size "
                        f"{heldout_size} leaves no document to train on (use a larger corpus or a smaller --heldout-size)")
    dropped = 0 if whole else len(held) - heldout_size
    held = held[: len(held) - dropped]  # the last held-out document's surplus: used nowhere
    rest = order[k:]
    target = int(round(validation_fraction * sum(map(len, rest))))
    validation: list[int] = []
    v = 0
    while len(validation) < target and v < len(rest) - 1:
        validation += rest[v]
        v += 1
    train = [i for doc in rest[v:] for i in doc]
    held, train = sorted(held), sorted(train)
    parts = {"heldout": [held[j] for j in rng.permutation(len(held))],
             "validation": sorted(validation), "train": [train[j] for j in rng.permutation(len(train))]}
    texts = {p: [corpus.texts[i] for i in idx] for p, idx in parts.items()}
    record = {
        "corpus": corpus.name, "source": corpus.source, "sha256": corpus.sha256, "sequences": n,
        "documents": len(order), "split_seed": seed, "heldout_size": heldout_size,
        "validation_fraction": validation_fraction, "method": SPLIT_METHOD,
        "sizes": {p: len(t) for p, t in texts.items()},
        "documents_per_part": {"heldout": k, "validation": v, "train": len(rest) - v},
        "dropped": dropped, "eval_only_whole": whole,
        "rule": "numpy default_rng(split_seed).permutation(documents): whole documents to held-out until it holds "
                "heldout_size sequences (the rest of the last one used nowhere), then validation, then train; "
                "held-out, then train order shuffled by the same generator",
        "heldout_sha256": texts_sha256(texts["heldout"]),
    }
    return CorpusSplit(train=texts["train"], validation=texts["validation"], heldout=texts["heldout"], record=record)
