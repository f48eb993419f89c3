"""Our next-token tasks as lm-eval tasks (``lm_eval --include_path "$(harness lm-eval-path)"``).

The documents are the held-out sequences ``harness eval`` scores (:func:`harness.splits.split_corpus` of
``corpus``, default ``wiki``, with the fixed split seed; ``heldout_limit`` keeps the first N), tokenised by
the evaluated model's tokenizer, which the task must therefore know: lm-eval passes ``model_args`` to the
task (``pretrained=`` of ``--model hf``, ``spec=`` of ``--model harness``), or ``--metadata '{"tokenizer": ...}'``.

Both tasks use lm-eval's ``loglikelihood`` request, split so that lm-eval scores exactly the tokens
``harness eval`` scores (every token p >= 1 of the tokenizer's own encoding, predicted from tokens < p):

- ``harness_global_ppl``: one request per sequence; the context is the text of its first token ("" when that
  token is a special one such as BOS, which lm-eval then supplies as its prefix token), the continuation the
  rest. perplexity = exp(Σ −ll / Σ n) with n the scored tokens (lm-eval's ``weighted_perplexity``), nll =
  Σ −ll / Σ n. Greedy accuracy per token has no request type here (``is_greedy`` is one bit per request).
- ``harness_content_word_ppl``: one request per content-word token (context: the text before it), so also
  accuracy = mean of ``is_greedy``. It costs one forward pass per content token (no prefix reuse in lm-eval).

``loglikelihood_rolling`` is not used: it also scores the first token after lm-eval's prefix token, which our
definition does not score, so it could not give our numbers.
"""

from __future__ import annotations

from typing import Any


def _heldout(kwargs: dict[str, Any]):
    from concepts.content_words import cached_content_words
    from harness.corpora import load_corpus
    from harness.lm.load import model_folder
    from harness.lm.tokenizer import load_tokenizer
    from harness.models import describe_spec
    from harness.splits import HELDOUT_SIZE, SPLIT_SEED, split_corpus

    source = kwargs.get("tokenizer") or kwargs.get("spec") or kwargs.get("pretrained")
    if not source:
        raise ValueError("harness tasks need the model's tokenizer: --metadata '{\"tokenizer\": \"MODEL\"}' "
                         "(a harness model spec, folder or hub id)")
    tokenizer = load_tokenizer(model_folder(describe_spec(str(source))))
    corpus = load_corpus(str(kwargs.get("corpus", "wiki")))
    split = split_corpus(corpus, heldout_size=int(kwargs.get("heldout_size", HELDOUT_SIZE)),
                         seed=int(kwargs.get("split_seed", SPLIT_SEED)))
    limit = kwargs.get("heldout_limit")
    texts = split.heldout[: int(limit)] if limit else split.heldout
    return tokenizer, cached_content_words(texts, tokenizer)


def _dataset(rows: list[dict[str, Any]]):
    from datasets import Dataset, DatasetDict

    return DatasetDict({"test": Dataset.from_list(rows)})


def global_ppl_docs(**kwargs: Any):
    tokenizer, content = _heldout(kwargs)
    special = set(tokenizer.all_special_ids)
    rows = []
    for s, cw in enumerate(content):
        cut = 0 if cw.input_ids[0] in special else cw.offsets[0][1]
        rows.append({"seq": s, "context": cw.text[:cut], "continuation": cw.text[cut:], "n_tokens": cw.n_tokens - 1})
    return _dataset(rows)


def content_word_docs(**kwargs: Any):
    tokenizer, content = _heldout(kwargs)
    rows = []
    for s, cw in enumerate(content):
        for p in cw.positions:
            context, token = cw.text[:cw.offsets[p][0]], cw.text[cw.offsets[p][0]:cw.offsets[p][1]]
            if _scored_alone(tokenizer, context, token, cw.input_ids[p]):
                rows.append({"seq": s, "pos": p, "context": context, "continuation": token, "n_tokens": 1})
    return _dataset(rows)


def _scored_alone(tokenizer: Any, context: str, continuation: str, token_id: int) -> bool:
    """Whether lm-eval scores exactly ``token_id`` for this request. lm-eval moves a context's trailing white
    space into the continuation; after a white-space-only token (a double space) the continuation then holds
    two tokens. Such content tokens (rare) are left out of the lm-eval task: a documented difference."""
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    whole, head = tokenizer.encode(context + continuation), tokenizer.encode(context)
    return whole[:len(head)] == head and whole[len(head):] == [token_id]


def global_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, Any]:
    """(log-likelihood, scored tokens) of one sequence, for the token-weighted perplexity and mean NLL."""
    ll, _ = results[0]
    return {"perplexity": (ll, doc["n_tokens"]), "nll": (ll, doc["n_tokens"])}


def content_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, Any]:
    """One content-word token: its log-likelihood and whether it is the greedy top-1."""
    ll, greedy = results[0]
    return {"perplexity": (ll, 1), "nll": (ll, 1), "accuracy": float(greedy)}


def mean_nll(items: list[tuple[float, int]]) -> float:
    """Σ −ll / Σ n over (ll, n) pairs: mean NLL per scored token, in nats."""
    return -sum(ll for ll, _ in items) / sum(n for _, n in items)


# ------------------------------------------------------------------ similarity tasks (hidden states)
# No lm-eval request returns hidden states. These tasks send each pair as a generate_until request that only
# the registered ``harness`` model answers (``harness_request: cosine``, see harness/interop/lm_eval_model.py):
# run them with ``--model harness --model_args spec=SPEC``. Docs are the harness task's own pairs (its data
# file, its parser; the default split), so ``--limit N`` keeps the pairs ``harness eval --limit N`` keeps.


def similarity_docs(**kwargs: Any):
    from harness.data import resolve
    from harness.plugins import load_plugins
    from harness.task import TASKS

    load_plugins()
    task = TASKS.get(str(kwargs["harness_task"]))
    pairs = resolve(task.data[task.default_split], kwargs.get("data_dir")).read()
    return _dataset([{"a": p.a, "b": p.b, "score": p.score} for p in pairs])


def pair_request(doc: dict[str, Any]) -> str:
    import json

    return json.dumps([doc["a"], doc["b"]])


def similarity_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """(human score, cosine) of one pair; the cosine arrives as the text the harness model answered."""
    try:
        cosine = float(results[0])
    except ValueError:
        raise ValueError("harness similarity tasks need --model harness (the only model that answers "
                         f"their hidden-state requests); got the text {results[0][:40]!r}") from None
    return {"spearman": (doc["score"], cosine)}


def spearman(items: list[tuple[float, float]]) -> float:
    """Spearman's ρ of human scores and cosines (harness.aggregate.spearman, as harness eval reports it)."""
    from harness.aggregate import spearman as rho

    human, cosine = zip(*items)
    return rho(list(human), list(cosine))
