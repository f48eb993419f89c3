"""Corpora: sequence lengths, user files, deterministic disjoint splits, bad inputs."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from harness.corpora import Corpus, load_corpus
from harness.sequence_cutting import split_document
from harness.splits import split_corpus
from harness.errors import UserError


def sentences(n: int, words: int = 8) -> list[str]:
    return [" ".join(f"w{i}x{j}" for j in range(words)) + "." for i in range(n)]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_txt_paragraphs_and_length_bounds(tmp_path):
    short = "x" * 50  # exactly 50: excluded (50 < chars)
    ok = "This paragraph is\nhard wrapped over\ntwo lines and long enough to keep."
    edge = "y" * 1999  # 1999 < 2000: kept
    path = write(tmp_path, "docs.txt", f"{short}\n\n{ok}\n\n\n{edge}\n\n{ok}\n")
    corpus = load_corpus(str(path))
    assert corpus.texts == [ok.replace("\n", " "), edge]  # joined lines, duplicate kept once
    assert corpus.name == "docs"
    assert corpus.sha256 == hashlib.sha256("".join(t + "\n\x00" for t in corpus.texts).encode()).hexdigest()


def test_jsonl_and_long_documents_are_split(tmp_path):
    long_doc = " ".join(sentences(60))  # ~4,000 characters
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"text": t, "id": k}) for k, t in enumerate(["tiny", long_doc])) + "\n")
    texts = load_corpus(str(path)).texts
    assert len(texts) >= 2
    assert all(50 < len(t) < 2000 for t in texts)
    # the pieces are consecutive runs of whole sentences that rebuild the document
    assert " ".join(texts) == long_doc


def test_split_document_levels():
    paras = ["A" * 900 + ".", "B" * 900 + ".", "C" * 900 + "."]
    doc = "\n\n".join(paras)
    assert split_document(doc, 50, 2000) == [paras[0] + "\n\n" + paras[1], paras[2]]
    assert split_document("z" * 2500, 50, 2000) == []  # one sentence of 2,000+ characters: dropped


def test_builtin_corpora():
    wiki = load_corpus("wiki")
    lee = load_corpus("lee")
    assert len(wiki.texts) > 4000 and len(lee.texts) >= 300
    for c in (wiki, lee):
        assert all(50 < len(t) < 2000 for t in c.texts)
        assert len(set(c.texts)) == len(c.texts)
    assert not any(re.match(r"\s*(==|\{\||\|)", t) for t in wiki.texts)  # no headings or tables
    assert not any("''" in t for t in wiki.texts)  # emphasis marks removed
    assert lee.eval_only and not wiki.eval_only


def corpus_of(n, per_doc=None):
    """n sequences; ``per_doc[d]`` consecutive sequences in document d (default: one each)."""
    texts = [f"sequence number {i} " + "padding words " * 5 for i in range(n)]
    documents = list(range(n)) if per_doc is None else [d for d, k in enumerate(per_doc) for _ in range(k)]
    return Corpus(name="toy", texts=texts, source="test", sha256="x", documents=documents)


def test_split_is_deterministic_and_disjoint():
    import numpy as np

    per_doc = [1 + (d * 7) % 5 for d in range(70)]  # 1..5 sequences per document
    corpus = corpus_of(sum(per_doc), per_doc)
    a = split_corpus(corpus, heldout_size=50, validation_fraction=0.1, seed=3)
    b = split_corpus(corpus, heldout_size=50, validation_fraction=0.1, seed=3)
    c = split_corpus(corpus, heldout_size=50, validation_fraction=0.1, seed=4)
    assert (a.train, a.validation, a.heldout) == (b.train, b.validation, b.heldout)
    assert a.heldout != c.heldout
    assert not set(a.heldout) & set(a.train) and not set(a.heldout) & set(a.validation)
    assert not set(a.train) & set(a.validation)
    # independent: whole documents in numpy's seeded permutation until 50 sequences are held out; the last
    # document's surplus goes nowhere; the held-out order is the same generator's next permutation
    rng = np.random.default_rng(3)
    starts = np.concatenate([[0], np.cumsum(per_doc)])
    held, dropped = [], []
    for d in rng.permutation(len(per_doc)):
        if len(held) >= 50:
            break
        seqs = list(range(starts[d], starts[d + 1]))
        need = 50 - len(held)
        held += seqs[:need]
        dropped = seqs[need:]  # non-empty only for the last document taken
    held_sorted = sorted(held)
    assert a.heldout == [corpus.texts[held_sorted[j]] for j in rng.permutation(50)]
    assert len(a.heldout) == 50 and a.record["dropped"] == len(dropped) > 0
    assert sorted(a.heldout + a.train + a.validation + [corpus.texts[i] for i in dropped]) == sorted(corpus.texts)
    rest = len(corpus.texts) - 50 - len(dropped)
    assert len(a.validation) >= round(0.1 * rest) and len(a.validation) < round(0.1 * rest) + max(per_doc)
    # the held-out set does not depend on the validation fraction
    assert split_corpus(corpus, heldout_size=50, validation_fraction=0.3, seed=3).heldout == a.heldout
    assert a.record["sizes"] == {"heldout": 50, "validation": len(a.validation), "train": len(a.train)}
    assert a.record["split_seed"] == 3 and a.record["documents"] == 70
    assert sum(a.record["documents_per_part"].values()) == 70


def test_small_corpora():
    with pytest.raises(UserError, match="held-out size"):
        split_corpus(corpus_of(100), heldout_size=100)
    lee = load_corpus("lee")
    whole = split_corpus(lee, heldout_size=1000)
    assert sorted(whole.heldout) == sorted(lee.texts) and not whole.train and whole.record["eval_only_whole"]
    part = split_corpus(lee, heldout_size=100)
    assert len(part.heldout) == 100 and len(part.train) + len(part.validation) == len(lee.texts) - 100


@pytest.mark.parametrize("content,suffix,message", [
    (b"", ".txt", "is empty"),
    (b"   \n\n  \n", ".txt", "is empty"),
    (b"too short\n\nalso short\n", ".txt", "no usable sequence"),
    (b"caf\xe9 " * 40, ".txt", "not UTF-8"),
    (b'{"text": "ok"}\n{"body": 1}\n', ".jsonl", r"docs.jsonl:2"),
    (b"{not json\n", ".jsonl", "not valid JSON"),
    (b"some text", ".csv", "unknown format"),
])
def test_bad_files(tmp_path, content, suffix, message):
    path = tmp_path / f"docs{suffix}"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        load_corpus(str(path))


def test_unknown_and_offline_names(monkeypatch):
    with pytest.raises(UserError, match="does not exist"):
        load_corpus("no-such-corpus")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(UserError, match="offline"):
        load_corpus("c4")
