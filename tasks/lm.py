"""Next-token tasks (paper sections 4.2-4.3): content-word and global perplexity and accuracy.

For each corpus (``--corpus``, default ``wiki,lee``; ``train-and-eval`` and ``sweep`` default to the
training corpus and its out-of-domain partner, :func:`harness.splits.evaluation_corpora`) the
held-out part of its document-level split (:func:`harness.splits.split_corpus`, ``--heldout-size``,
default 1,000, with the fixed split seed ``--split-seed``, never the run's ``--seed``; ``--limit``
or ``--heldout-limit`` keeps the first N held-out sequences) goes through the model, one sequence
per row, tokenised with the tokenizer's own special tokens. Every token at index p >= 1 is
predicted from ``input_ids[:p]``:

    NLL_p = −log softmax(logits_{p−1})[x_p],   correct_p = [argmax logits_{p−1} = x_p]

- ``global_ppl``: over every scored token (all but the first of each sequence);
- ``content_word_ppl``: over content-word tokens only (:mod:`concepts.content_words`).

Both report ``nll = Σ NLL / N`` (mean NLL in nats, what the paper's tables 1-2 compare),
``perplexity = exp(nll)`` (lower is better) and ``accuracy = Σ correct / N`` (greedy top-1; higher
is better), plus ``content_fraction`` (content tokens / scored tokens) and ``tokens`` (N). Per-token
items (id ``"seq:pos"``, columns ``nll``, ``correct``, ``count`` = 1, cluster = the held-out
sequence) let the paired bootstrap recompute the metrics as ``ratio(nll, count)``,
``exp_ratio(nll, count)`` and ``ratio(correct, count)``, resampling whole sequences by default.
The protocol names the corpus the evaluated model was post-trained on (``domain``): a corpus is
in-domain when it is that corpus. Both tasks share one pass through ``ctx.shared``: running both
costs one pass, :meth:`harness.lm.interface.LanguageModel.token_scores` (batching: at most
``--max-batch-tokens`` padded tokens per batch, :mod:`harness.lm.batching`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import UserError
from harness.results import Aggregation, Items
from harness.config import NAMES
from harness.task import Metric, Task, TaskOption, TaskOutput, register_task
from tasks.heldout import HeldoutSettings

if TYPE_CHECKING:  # pragma: no cover
    from concepts.content_words import ContentWords
    from harness.corpora import Corpus
    from harness.splits import CorpusSplit
    from harness.lm.interface import LanguageModel, TokenScores
    from harness.models import ModelInfo
    from harness.task import EvalContext

DEFAULT_CORPORA = "wiki,lee"
METRICS = (
    Metric("perplexity", higher_is_better=False, description="exp(mean NLL) over the scored tokens",
           aggregation=Aggregation("exp_ratio", ("nll", "count"))),
    Metric("nll", higher_is_better=False, description="mean NLL (nats) over the scored tokens",
           aggregation=Aggregation("ratio", ("nll", "count"))),
    Metric("accuracy", higher_is_better=True, description="share of scored tokens whose greedy top-1 is the target",
           aggregation=Aggregation("ratio", ("correct", "count"))),
    Metric("content_fraction", None, "content-word tokens / scored tokens of the held-out set"),
    Metric("tokens", None, "scored tokens (N)"),
)
CORPUS_OPTION = TaskOption("corpus", "comma-separated corpora for content_word_ppl/global_ppl: wiki, lee, c4, "
                                     "openwebtext, or .txt/.jsonl files (default: wiki,lee; train-and-eval and sweep: "
                                     "the training corpus, then its out-of-domain partner: wiki -> lee, c4 <-> "
                                     "openwebtext, a file -> lee)", check=NAMES)
OPTIONS = (CORPUS_OPTION,)  # and those of HeldoutSettings (settings=)


@dataclass
class HeldOut:
    """One corpus's evaluation texts and the records that say where they came from."""

    corpus: "Corpus"
    split: "CorpusSplit"
    texts: list[str]
    domain: dict[str, Any]  # the evaluated model's training corpus, and whether this is it (:func:`domain`)


@dataclass
class CorpusPass:
    """One pass over a corpus: per sequence, its content words and the scores of tokens 1..n−1."""

    content: list["ContentWords"]
    scores: list["TokenScores"]  # scores[s].nll[p − 1] is the NLL of token p of sequence s
    spacy_model: str


def corpus_names(ctx: "EvalContext") -> list[str]:
    spec = ctx.option("corpus") or DEFAULT_CORPORA
    names = [n.strip() for n in str(spec).split(",") if n.strip()]
    if not names:
        raise UserError("--corpus names no corpus (e.g. --corpus wiki,lee)")
    return list(dict.fromkeys(names))


def prepare(ctx: "EvalContext") -> list[HeldOut]:
    """Load and split every corpus once per run (both tasks share the result); a held-out set that shares
    a document with the evaluated model's training text is a UserError (:func:`domain`)."""
    from harness.corpora import load_corpus
    from harness.splits import split_corpus

    heldout = ctx.settings(HeldoutSettings)
    heldout_size, split_seed, limit = heldout.heldout_size, heldout.split_seed, heldout.sequence_limit(ctx.options.limit)
    key = ("lm_heldout", tuple(corpus_names(ctx)), heldout_size, split_seed, limit)  # one context: one model
    if key not in ctx.shared:
        out = []
        for name in corpus_names(ctx):
            corpus = load_corpus(name)
            split = split_corpus(corpus, heldout_size=heldout_size, seed=split_seed)
            texts = split.heldout[:limit] if limit else split.heldout
            out.append(HeldOut(corpus, split, texts, domain(corpus, texts, ctx.model_info)))
        ctx.shared[key] = out
    return ctx.shared[key]


def corpus_pass(lm: "LanguageModel", ctx: "EvalContext", held: HeldOut) -> CorpusPass:
    """The shared pass: content words and per-token scores of one corpus, computed once per model run
    (one context evaluates one model)."""
    from concepts.content_words import cached_content_words, spacy_model_id

    key = ("lm_pass", lm.info.id, held.split.record["heldout_sha256"], len(held.texts))
    if key not in ctx.shared:
        if not held.texts:
            raise UserError(f"corpus {held.corpus.name} has no held-out sequence to evaluate")
        content = cached_content_words(held.texts, lm.tokenizer)
        short = [i for i, c in enumerate(content) if c.n_tokens < 2]
        if short:
            raise UserError(f"corpus {held.corpus.name}: held-out sequence {short[0]} has fewer than 2 tokens")
        scores = lm.token_scores([c.input_ids for c in content], ctx.options.max_batch_tokens,
                                 desc=f"LM pass {held.corpus.name}")
        ctx.shared[key] = CorpusPass(content, scores, spacy_model_id())
    return ctx.shared[key]


def domain(corpus: "Corpus", texts: list[str], info: "ModelInfo | None") -> dict[str, Any]:
    """The corpus a model was post-trained on (its concept file's, from ``harness_train.json``), whether
    ``corpus`` is that corpus (same sha256: in-domain, else out-of-domain; ``None`` for a model the harness
    did not post-train, or a concept file that names no corpus), and ``checked_unseen``: True once no
    sequence of ``texts`` was found to share a document with the texts it was trained on, checked by their
    digests for every corpus, in- and out-of-domain (:func:`harness.seen_texts.check_unseen`; a shared
    document is a UserError); None when there is nothing to check (a base model, an adapter the harness did
    not train or trained before it recorded its texts)."""
    from concepts.concept_header import ConceptHeader
    from harness.seen_texts import check_unseen

    header = ConceptHeader.of(((info.training if info else None) or {}).get("concept_header"))
    block = header.block("corpus")
    unseen = check_unseen(corpus, texts, info.trained_texts() if info else None,
                          f"held-out sequences of corpus {corpus.name} ({corpus.source})")
    return {"training_corpus": block.get("name") if block else None,
            "in_domain": header.corpus_sha256 == corpus.sha256 if block else None, "checked_unseen": unseen}


def task_output(held: HeldOut, lm_pass: CorpusPass, content_only: bool) -> TaskOutput:
    """Items at the task's positions and the metrics aggregated from them."""
    from harness.aggregate import exp_ratio, ratio
    from concepts.content_words import content_fraction

    ids: list[str] = []
    clusters: list[int] = []
    nll_parts, ok_parts = [], []
    for s, cw in enumerate(lm_pass.content):
        pos = np.asarray(cw.positions, dtype=int) if content_only else np.arange(1, cw.n_tokens)
        ids.extend(f"{s}:{p}" for p in pos.tolist())
        clusters.extend([s] * len(pos))
        nll_parts.append(lm_pass.scores[s].nll[pos - 1])
        ok_parts.append(lm_pass.scores[s].correct[pos - 1])
    nll = np.concatenate(nll_parts) if nll_parts else np.zeros(0)
    ok = np.concatenate(ok_parts) if ok_parts else np.zeros(0)
    if not len(ids):
        raise UserError(f"corpus {held.corpus.name}: no {'content-word ' if content_only else ''}token to score")
    count = np.ones(len(ids))
    metrics = {"perplexity": exp_ratio(nll, count), "nll": ratio(nll, count), "accuracy": ratio(ok, count),
               "content_fraction": content_fraction(lm_pass.content), "tokens": float(len(ids))}
    protocol = {
        "kind": "content_word_next_token" if content_only else "global_next_token",
        "corpus": held.corpus.name, "domain": held.domain, "split": held.split.record,
        "sequences": len(held.texts),
        "limit": len(held.texts) if len(held.texts) < len(held.split.heldout) else None,
        "scored_tokens": "every token p >= 1 of each sequence, predicted from input_ids[:p] "
                         "(tokenizer's own special tokens; padding right, masked)",
        "content_words": "begins with a space, next token begins with white space or punctuation (or text ends), "
                         "spaCy NOUN/VERB/ADJ on the same characters",
        "spacy_model": lm_pass.spacy_model,
        "content_tokens": int(sum(len(c.positions) for c in lm_pass.content)),
        "global_tokens": int(sum(c.n_tokens - 1 for c in lm_pass.content)),
    }
    items = Items(ids=ids, columns={"nll": nll.tolist(), "correct": ok.tolist(), "count": count.tolist()},
                  clusters=clusters)
    return TaskOutput(metrics=metrics, items=items, protocol=protocol, data={"corpus": held.corpus.describe()},
                      variant=held.corpus.name)


def make_run(content_only: bool):
    def run(lm: "LanguageModel", ctx: "EvalContext", prepared: list[HeldOut]) -> list[TaskOutput]:
        return [task_output(held, corpus_pass(lm, ctx, held), content_only) for held in prepared]

    return run


register_task(Task(
    name="content_word_ppl",
    description="perplexity and accuracy of next-token prediction on content words (whole-word nouns, "
                "verbs, adjectives) of each corpus's held-out set",
    metrics=METRICS, main_metric="perplexity", run=make_run(True), prepare=prepare,
    requires=frozenset({"causal_lm"}), options=OPTIONS, settings=HeldoutSettings,
))
register_task(Task(
    name="global_ppl",
    description="perplexity and accuracy of next-token prediction on every token of each corpus's held-out set",
    metrics=METRICS, main_metric="perplexity", run=make_run(False), prepare=prepare,
    requires=frozenset({"causal_lm"}), options=OPTIONS, settings=HeldoutSettings,
))
