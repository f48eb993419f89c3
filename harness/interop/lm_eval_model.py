"""lm-eval's ``LM`` over the model interface: lm-eval's requests answered by :class:`~harness.lm.interface.LanguageModel`.

Registered in lm-eval as ``harness`` (``--model harness --model_args spec=SPEC[,base=...,device=...,dtype=...]``)
once this module is imported; ``harness eval --lm-eval`` passes a loaded model (``HarnessLM(lm=...)``).

Tokenisation follows lm-eval's ``HFLM`` (via lm-eval's own ``TemplateLM``: trailing spaces of a context move
to its continuation, the pair is encoded whole and split; an empty context is the prefix token, BOS or
else EOS), so a task gives the numbers it gives through ``--model hf`` on the same weights. Scores come
from :meth:`LanguageModel.token_scores` (float64 NLL per token, batched by length):

    loglikelihood(c, x) = −Σ_{p ∈ x} NLL_p over (c + x), left-truncated to max_length + 1 tokens;
                          is_greedy = every continuation token is the argmax
    loglikelihood_rolling(d) = −Σ NLL over lm-eval's disjoint rolling windows of [prefix] + d

``generate_until`` is greedy (:meth:`LanguageModel.generate`), cut at the first stop string as lm-eval expects.

Hidden states have no lm-eval request type. The narrow bridge: a ``generate_until`` request whose generation
kwargs carry ``harness_request: cosine`` and whose context is a JSON pair ``[a, b]`` is answered with
``repr(cos(v(a), v(b)))`` (:meth:`LanguageModel.embed` under the default embedding protocol, or the
``harness_protocol`` kwargs: layer, bos, pooling, template), every such request of a call embedded in one
batched pass. Only this model class answers it (``--model harness``; lm-eval's ``hf`` model would generate
text and the task's ``process_results`` fails on it); the number travels as text, exactly (``repr``).
:meth:`HarnessLM.language_model` also hands the wrapped model to a task's own Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import lm_eval.models  # noqa: F401  lm-eval fills its model registry lazily only while the registry is empty
from lm_eval import utils
from lm_eval.api.model import TemplateLM
from lm_eval.api.registry import register_model

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel

DEFAULT_MAX_LENGTH = 2048  # lm-eval's default when neither the model nor the tokenizer says


@register_model("harness")
class HarnessLM(TemplateLM):
    """One loaded harness model as an lm-eval ``LM``; ``lm``: a model already loaded, else ``spec`` is loaded."""

    def __init__(self, lm: "LanguageModel | None" = None, spec: str | None = None, base: str | None = None,
                 device: str = "auto", dtype: str = "auto", max_length: int | None = None,
                 max_batch_tokens: int | None = None, batch_size: Any = None, **_: Any) -> None:
        super().__init__()
        if lm is None:
            if not spec:
                raise ValueError("the harness model needs model_args spec=SPEC (a harness model spec)")
            from harness.lm.load import load_model

            lm = load_model(spec, base=base, device=device, dtype=dtype)
        self.lm = lm
        self.tokenizer = lm.tokenizer
        self.max_batch_tokens = int(max_batch_tokens) if max_batch_tokens else None
        limit = getattr(self.tokenizer, "model_max_length", None)
        self._max_length = int(max_length) if max_length else (limit if limit and limit < 10**6 else DEFAULT_MAX_LENGTH)

    def language_model(self) -> "LanguageModel":
        """The wrapped model, for tasks that need more than lm-eval's request types (hidden states)."""
        return self.lm

    @property
    def eot_token_id(self) -> int:
        return self.tokenizer.eos_token_id

    @property
    def prefix_token_id(self) -> int:
        bos = self.tokenizer.bos_token_id
        return bos if bos is not None else self.tokenizer.eos_token_id

    @property
    def max_length(self) -> int:
        return self._max_length

    def tok_encode(self, string: str, add_special_tokens: bool | None = None, **kwargs: Any) -> list[int]:
        """As ``HFLM.tok_encode`` with its defaults: the tokenizer's own special tokens unless told."""
        special = {} if add_special_tokens is None else {"add_special_tokens": add_special_tokens}
        return self.tokenizer.encode(string, **special)

    def tok_decode(self, tokens: list[int], **kwargs: Any) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def _score(self, pairs: list[tuple[list[int], list[int]]]) -> list[tuple[float, bool]]:
        """(log-likelihood, greedy) of each continuation after its context, in one batched LM pass."""
        seqs = [(ctx + cont)[-(self.max_length + 1):] for ctx, cont in pairs]
        scores = self.lm.token_scores(seqs, max_batch_tokens=self.max_batch_tokens, desc="lm-eval requests",
                                      progress=False)
        out = []
        for (_, cont), s in zip(pairs, scores):
            n = len(cont)
            out.append((-float(s.nll[-n:].sum()), bool(s.correct[-n:].all())) if n else (0.0, True))
        return out

    def _loglikelihood_tokens(self, requests: list, disable_tqdm: bool = False, **kwargs: Any) -> list[tuple[float, bool]]:
        results = self._score([(list(ctx), list(cont)) for _, ctx, cont in requests])
        for (key, _, _), result in zip(requests, results):
            self.cache_hook.add_partial("loglikelihood", key, result)
        return results

    def loglikelihood_rolling(self, requests: list, disable_tqdm: bool = False) -> list[float]:
        windows, owner = [], []
        for i, (string,) in enumerate(req.args for req in requests):
            for ctx, pred in map(utils.make_disjoint_window, utils.get_rolling_token_windows(
                    token_list=self.tok_encode(string), prefix_token=self.prefix_token_id,
                    max_seq_len=self.max_length, context_len=1)):
                windows.append((list(ctx), list(pred)))
                owner.append(i)
        totals = [0.0] * len(requests)
        for i, (ll, _) in zip(owner, self._score(windows)):
            totals[i] += ll
        for req, total in zip(requests, totals):
            self.cache_hook.add_partial("loglikelihood_rolling", req.args, total)
        return totals

    def generate_until(self, requests: list, disable_tqdm: bool = False) -> list[str]:
        args = [req.args for req in requests]
        out: list[str] = [""] * len(args)
        bridged = [i for i, (_, kw) in enumerate(args) if kw.get("harness_request") == "cosine"]
        for i, value in zip(bridged, self._cosines([args[i] for i in bridged])):
            out[i] = value
        for i, (context, gen_kwargs) in enumerate(args):
            if gen_kwargs.get("harness_request") != "cosine":
                out[i] = self._generate(context, gen_kwargs)
        return out

    def _cosines(self, args: list[tuple[str, dict]]) -> list[str]:
        """``repr`` of the cosine of each JSON pair ``[a, b]``, grouped by embedding protocol, one embed per group."""
        import json

        import numpy as np

        from harness.embedding import EmbeddingProtocol

        out = [""] * len(args)
        groups: dict[str, list[int]] = {}
        for i, (_, kw) in enumerate(args):
            groups.setdefault(json.dumps(kw.get("harness_protocol") or {}, sort_keys=True), []).append(i)
        for key, rows in groups.items():
            p = json.loads(key)
            protocol = EmbeddingProtocol.of(int(p.get("layer", -1)), p.get("bos", "context"), p.get("pooling"),
                                            p.get("template"))
            pairs = [json.loads(args[i][0]) for i in rows]
            texts = list(dict.fromkeys(t for pair in pairs for t in pair))
            vecs = self.lm.embed(texts, protocol, max_batch_tokens=self.max_batch_tokens, progress=False)
            row = {t: vecs[k] for k, t in enumerate(texts)}
            for i, (a, b) in zip(rows, pairs):
                va, vb = row[a], row[b]
                out[i] = repr(float((va * vb).sum() / max(float(np.linalg.norm(va) * np.linalg.norm(vb)), 1e-12)))
        return out

    def _generate(self, context: str, gen_kwargs: dict) -> str:
        until = gen_kwargs.get("until") or [self.tok_decode([self.eot_token_id])]
        until = [until] if isinstance(until, str) else list(until)
        text = self.lm.generate([context], max_new_tokens=int(gen_kwargs.get("max_gen_toks", 256)), stop=until)[0]
        for stop in until:
            text = text.split(stop)[0]
        return text


if __name__ == "__main__":  # lm-eval's own CLI with the harness model registered: python -m harness.interop.lm_eval_model ...
    from lm_eval.__main__ import cli_evaluate

    cli_evaluate()
