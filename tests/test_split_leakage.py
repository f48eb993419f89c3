"""Held-out text never meets training text (issue 11, findings 1 and 2).

Which document a sequence came from is established here independently of ``harness.corpora``:
wiki sequences are looked up in the text of each gensim Wikipedia page, lee sequences in the
lines of its file, and the sequences of a user file carry their paragraph's number in their text.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from itertools import accumulate

import pytest

from harness.corpora import LEE_FILE, WIKI_FILE, gensim_test_path, load_corpus
from harness.splits import split_corpus

SPLIT_SEEDS = (0, 1, 7)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"'{2,}", "", text))


@lru_cache(maxsize=1)
def wiki_page_of() -> dict[str, int]:
    """Sequence -> index of the one Wikipedia page whose markup-free text holds its first 60 characters
    (sequences whose start is found in no page, or in several, are left out)."""
    import bz2

    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    with bz2.open(gensim_test_path(WIKI_FILE), "rb") as fh:
        pages = [_squash(filter_wiki(text)) for _title, text, _id in extract_pages(fh)]
    big = "\x00".join(pages)
    starts = list(accumulate([0] + [len(p) + 1 for p in pages]))
    out = {}
    for text in load_corpus("wiki").texts:
        key = _squash(text)[:60]
        first = big.find(key)
        if first < 0:
            continue
        again = big.find(key, first + 1)
        page = bisect.bisect_right(starts, first) - 1
        if again < 0 or bisect.bisect_right(starts, again) - 1 == page:
            out[text] = page
    return out


def lee_line_of() -> dict[str, int]:
    lines = gensim_test_path(LEE_FILE).read_text(encoding="utf-8").splitlines()
    out = {}
    for text in load_corpus("lee").texts:
        hits = [n for n, line in enumerate(lines) if text[:60] in line]
        if len(hits) == 1:
            out[text] = hits[0]
    return out


def user_file(tmp_path):
    """40 paragraphs; paragraph k has 3 to 42 sentences of ~150 characters, each naming k, so a long
    paragraph becomes several sequences."""
    paras = []
    for k in range(40):
        sentences = [f"Paragraph number {k} says in sentence {j} that the river keeps flowing past the old mill "
                     f"and the fields beyond it, season after season." for j in range(3 + (k * 7) % 40)]
        paras.append(" ".join(sentences))
    path = tmp_path / "stories.txt"
    path.write_text("\n\n".join(paras) + "\n", encoding="utf-8")
    return path


def documents_never_shared(split, document_of: dict[str, int], min_known: float) -> None:
    known = [t for t in split.heldout + split.train + split.validation if t in document_of]
    assert len(known) >= min_known * (len(split.heldout) + len(split.train) + len(split.validation))
    held = {document_of[t] for t in split.heldout if t in document_of}
    trained = {document_of[t] for t in split.train + split.validation if t in document_of}
    assert held and trained
    assert not held & trained, f"{len(held & trained)} documents are both held out and trained on"


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_wiki_heldout_articles_are_never_trained_on(seed):
    split = split_corpus(load_corpus("wiki"), heldout_size=1000, seed=seed)
    assert len(split.heldout) == 1000
    documents_never_shared(split, wiki_page_of(), min_known=0.99)
    rec = split.record
    assert rec["split_seed"] == seed and rec["documents_per_part"]["heldout"] >= 2
    assert sum(rec["documents_per_part"].values()) == rec["documents"] == len(set(wiki_page_of().values()))


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_lee_lines_are_never_split_across_parts(seed):
    split = split_corpus(load_corpus("lee"), heldout_size=100, seed=seed)
    documents_never_shared(split, lee_line_of(), min_known=0.95)


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_user_file_paragraphs_are_never_split_across_parts(tmp_path, seed):
    corpus = load_corpus(str(user_file(tmp_path)))
    paragraph = {t: int(re.match(r"Paragraph number (\d+) ", t).group(1)) for t in corpus.texts}
    assert len(corpus.texts) > len(set(paragraph.values()))  # long paragraphs gave several sequences
    split = split_corpus(corpus, heldout_size=15, validation_fraction=0.2, seed=seed)
    documents_never_shared(split, paragraph, min_known=1.0)
    assert split.validation


def _lm_heldout(run_seed: int, **extra) -> dict[str, list[str]]:
    from harness.task import EvalContext, EvalOptions
    from tasks.lm import prepare

    ctx = EvalContext(EvalOptions(seed=run_seed, task_options={"corpus": "wiki,lee", **extra}))
    return {h.corpus.name: h.texts for h in prepare(ctx)}


@pytest.mark.parametrize("run_seed", [1, 2, 13])
def test_run_seed_moves_neither_heldout_nor_training_text(run_seed):
    """What a run with --seed N evaluates equals what --seed 0 evaluates, and shares no Wikipedia article
    with the concept file train-and-eval builds (its train part, same split settings)."""
    from concepts.builder import BuildConfig, corpus_part

    heldout = _lm_heldout(run_seed)
    assert heldout == _lm_heldout(0)
    assert len(heldout["wiki"]) == 1000
    _, train_texts, _ = corpus_part(load_corpus("wiki"), BuildConfig(selector="wordnet", split="train"))
    page = wiki_page_of()
    held_pages = {page[t] for t in heldout["wiki"] if t in page}
    assert held_pages and not held_pages & {page[t] for t in train_texts if t in page}


def test_a_model_is_never_evaluated_on_documents_it_was_trained_on(tmp_path):
    """An adapter trained on the train and validation parts of another split of wiki (here --split-seed 3; its
    digests in ``training_texts.json``) is refused by the LM tasks unless evaluated with that split; every corpus
    is checked, the out-of-domain one too. How many held-out sequences share an article with its training text
    is counted here by Wikipedia page."""
    import hashlib
    import json

    from harness.errors import UserError
    from harness.models import ModelInfo
    from harness.task import EvalContext, EvalOptions
    from tasks.lm import prepare

    wiki = load_corpus("wiki")
    other = split_corpus(wiki, heldout_size=1000, seed=3)
    trained = other.train + other.validation
    body = json.dumps({"sha256": sorted(hashlib.sha256(t.encode()).hexdigest() for t in trained)})
    (tmp_path / "training_texts.json").write_text(body)
    training = {"concept_header": {"corpus": wiki.describe(), "split": {"part": "train", "split_seed": 3}},
                "concept_file": "seed3.jsonl", "training_texts": {
                    "file": "training_texts.json", "sha256": hashlib.sha256(body.encode()).hexdigest()}}
    info = ModelInfo(id="a-0", name="a", spec="a", kind="adapter", base="b", path="", adapter_path=str(tmp_path),
                     training=training)

    def heldout(**extra):
        ctx = EvalContext(EvalOptions(task_options={"corpus": "wiki,lee", **extra}))
        ctx.model_info = info
        return {h.corpus.name: h for h in prepare(ctx)}

    with pytest.raises(UserError, match=r"document\(s\) this model was trained on.*seed3.jsonl") as refused:
        heldout()  # the default split seed 0 holds out articles that seed 3 put in train
    page = wiki_page_of()
    seen_pages = {page[t] for t in trained if t in page}
    held = split_corpus(wiki, heldout_size=1000).heldout
    known = sum(page[t] in seen_pages for t in held if t in page)
    unknown = sum(t not in page for t in held)
    n = int(re.match(r"(\d+) of 1000 held-out sequences of corpus wiki ", str(refused.value)).group(1))
    assert 0 < known <= n <= known + unknown
    with pytest.raises(UserError, match="trained on"):
        heldout(split_seed=3, heldout_size=1500)  # more held out than the training split kept out
    same = heldout(split_seed=3, heldout_size=500)
    assert same["wiki"].domain == {"training_corpus": "wiki", "in_domain": True, "checked_unseen": True}
    assert same["lee"].domain == {"training_corpus": "wiki", "in_domain": False, "checked_unseen": True}


def test_the_first_training_sequences_are_a_sample_of_every_training_article():
    """The cpu profile trains on the first 400 sequences of the train part: they must come from
    across the training articles, not from the first few in corpus order."""
    split = split_corpus(load_corpus("wiki"))
    page = wiki_page_of()
    all_pages = {page[t] for t in split.train if t in page}
    first = {page[t] for t in split.train[:400] if t in page}
    assert len(all_pages) > 50
    assert len(first) >= 0.8 * len(all_pages), (len(first), len(all_pages))
