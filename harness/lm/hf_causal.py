"""A Hugging Face causal LM behind :class:`~harness.lm.interface.LanguageModel`.

Memory stays at one batch: the backbone gives hidden states (batch × length × d), and only the rows
a request needs (the scored positions, the candidate positions) go through the LM head, at most
:data:`LOGIT_CHUNK_BYTES` of float32 logits at a time. The ``batch × length × vocabulary`` logits
of a plain forward pass (805 MB for 4,096 tokens of a 49,152-token vocabulary) are never built.

Logits are ``head(h)``, with Gemma-2-style soft-capping ``c · tanh(z / c)`` when the config sets
``final_logit_softcapping``, as the models' own forward computes them.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator, Sequence

import numpy as np

from harness.lm.batching import length_batches, pad_rows
from harness.lm.hf import HFModel
from harness.lm.interface import TokenScores

LOGIT_CHUNK_BYTES = 64 << 20  # float32 logits per head call (about 340 rows of a 49,152-token vocabulary)
CACHE_ROW_TOKENS = 4  # hidden_at: copied KV-cache tokens per continuation step, in units of max_batch_tokens


class HFCausalLM(HFModel):
    """A causal LM (``AutoModelForCausalLM``, or one wrapped in a peft adapter)."""

    capabilities = frozenset({"hidden_states", "causal_lm"})

    def _logits(self, hidden) -> Iterator[tuple[int, Any]]:
        """(start row, float32 logits of the next chunk of rows of ``hidden``), chunk by chunk."""
        head = self.module.get_output_embeddings()
        step = max(1, LOGIT_CHUNK_BYTES // (4 * head.weight.shape[0]))
        cap = getattr(self.module.config, "final_logit_softcapping", None)
        for start in range(0, len(hidden), step):
            logits = head(hidden[start:start + step]).float()
            if cap:
                logits = cap * (logits / cap).tanh()
            yield start, logits

    def token_scores(self, sequences: Sequence[Sequence[int]], max_batch_tokens: int | None = None,
                     desc: str = "LM pass", progress: bool = True) -> list[TokenScores]:
        """NLL_p = logsumexp(z_{p−1}) − z_{p−1}[x_p] and correct_p = [argmax z_{p−1} = x_p], p = 1 … n−1, from
        right-padded length-sorted batches (padding is masked and never scored)."""
        import torch
        from tqdm import tqdm

        rows = [list(s) for s in sequences]
        if any(len(r) < 2 for r in rows):
            raise ValueError("a scored sequence needs at least 2 tokens")
        out: list[Any] = [None] * len(rows)
        with torch.inference_mode(), tqdm(total=sum(map(len, rows)), desc=desc, unit="tok",
                                          disable=None if progress else True, leave=False) as bar:
            for batch in length_batches([len(r) for r in rows], self._budget(max_batch_tokens)):
                hidden = self._forward([rows[i] for i in batch])[0].last_hidden_state
                scored = [len(rows[i]) - 1 for i in batch]
                where = (torch.repeat_interleave(torch.arange(len(batch)), torch.tensor(scored)),
                         torch.cat([torch.arange(n) for n in scored]))
                picked = hidden[where[0].to(self.device), where[1].to(self.device)]
                targets = torch.tensor([t for i in batch for t in rows[i][1:]], device=self.device)
                nll = torch.empty(len(targets), dtype=torch.float32)
                correct = torch.empty(len(targets), dtype=torch.bool)
                for start, logits in self._logits(picked):
                    t = targets[start:start + len(logits)]
                    nll[start:start + len(t)], correct[start:start + len(t)] = _nll_and_top1(logits, t)
                for i, part_nll, part_ok in zip(batch, nll.split(scored), correct.split(scored)):
                    out[i] = TokenScores(part_nll.double().numpy(), part_ok.double().numpy())
                bar.update(sum(len(rows[i]) for i in batch))
        return out

    def _at_positions(self, sequences: Sequence[Sequence[int]], positions: Sequence[Sequence[int]],
                      max_batch_tokens: int | None) -> Iterator[tuple[list[int], Iterator[tuple[int, Any]]]]:
        """Per length-sorted batch (one forward pass): its sequence indices and the chunks (start row, float32
        logits) of the logits at p − 1 of every requested p, in sequence then position order. Run it under
        ``torch.inference_mode()``."""
        import torch

        if any(p < 1 for pos in positions for p in pos):
            raise ValueError("a position must be >= 1 (it is predicted from its prefix)")
        need = [s for s in range(len(sequences)) if positions[s]]
        for batch in length_batches([len(sequences[s]) for s in need], self._budget(max_batch_tokens)):
            idx = [need[b] for b in batch]
            hidden = self._forward([sequences[s] for s in idx])[0].last_hidden_state
            rows = torch.tensor([r for r, s in enumerate(idx) for _ in positions[s]], device=self.device)
            cols = torch.tensor([p - 1 for s in idx for p in positions[s]], device=self.device)
            yield idx, self._logits(hidden[rows, cols])

    def top_k_next(self, sequences: Sequence[Sequence[int]], positions: Sequence[Sequence[int]], k: int,
                   max_batch_tokens: int | None = None) -> list[list[list[int]]]:
        """The ``k`` largest logits at position p − 1 of each requested p, in descending order."""
        import torch

        out: list[list[list[int]]] = [[[] for _ in pos] for pos in positions]
        k = min(k, self.module.get_output_embeddings().weight.shape[0])
        with torch.inference_mode():
            for idx, chunks in self._at_positions(sequences, positions, max_batch_tokens):
                top = torch.cat([torch.topk(logits, k, dim=-1).indices.cpu() for _, logits in chunks]).tolist()
                n = 0
                for s in idx:
                    out[s] = top[n:n + len(positions[s])]
                    n += len(positions[s])
        return out

    def set_log_probs(self, sequences: Sequence[Sequence[int]], positions: Sequence[Sequence[int]],
                      sets: Sequence[Sequence[Sequence[int]]], max_batch_tokens: int | None = None) -> list[np.ndarray]:
        """``logsumexp(z_{p−1}[T]) − logsumexp(z_{p−1})`` for each requested position p and token set T, from one
        forward pass per length-sorted batch; the sets of a chunk of rows are padded to one width and the padding
        masked to −inf before the logsumexp."""
        import torch

        if len(positions) != len(sets) or any(len(pos) != len(st) for pos, st in zip(positions, sets)):
            raise ValueError("one token set per position")
        uniq = [[sorted(set(map(int, t))) for t in st] for st in sets]
        if any(not t for st in uniq for t in st):
            raise ValueError("every token set needs at least one token")
        out = [np.zeros(len(pos), dtype=np.float64) for pos in positions]
        with torch.inference_mode():
            for idx, chunks in self._at_positions(sequences, positions, max_batch_tokens):
                flat = [t for s in idx for t in uniq[s]]
                values = []
                for start, logits in chunks:
                    ids, mask = pad_rows(flat[start:start + len(logits)], 0)
                    picked = logits.gather(1, ids.to(logits.device))
                    picked = picked.masked_fill(mask.to(logits.device) == 0, float("-inf"))
                    values.append((picked.logsumexp(-1) - logits.logsumexp(-1)).double().cpu())
                logp = torch.cat(values).numpy()
                n = 0
                for s in idx:
                    out[s] = logp[n:n + len(positions[s])].copy()
                    n += len(positions[s])
        return out

    def hidden_at(self, prefixes: Sequence[Sequence[int]], continuations: Sequence[Sequence[int]],
                  layers: tuple[int, ...] = (-1,), max_batch_tokens: int | None = None,
                  progress: bool = True) -> list[np.ndarray]:
        """Equal to running every ``prefix + [t]`` in full (causal attention), at a fraction of the cost.

        A prefix that starts another requested prefix (the words of one sequence: ``x[:p]`` for each
        content word ``p``) is not run: causal attention makes the longer one's first ``len(prefix)``
        cache entries the shorter one's own. The remaining prefixes are grouped by length into batches
        of ≤ ``max_batch_tokens / 4`` padded tokens; each batch runs once (right-padded), then every
        continuation token is one step that attends to the first ``len(prefix)`` cache entries of its row
        only (attention mask) at position ``len(prefix)`` (explicit position ids). Each step row holds a
        copy of its row's cache, so steps go in chunks of at most ``CACHE_ROW_TOKENS × max_batch_tokens``
        copied cache tokens: a concept set (the geometry tasks) takes one step, the hundreds of candidates
        of a sequence's words (the contextual embedding selector) several, each from the same cache."""
        import torch
        from tqdm import tqdm

        if not all(prefixes):
            raise ValueError("every prefix needs at least one token")
        out: list[Any] = [None] * len(prefixes)
        budget = self._budget(max_batch_tokens)
        served: dict[int, list[int]] = {}
        for i, r in enumerate(covering_prefixes(prefixes)):
            served.setdefault(r, []).append(i)
        runs = list(served)
        batches = length_batches([len(prefixes[r]) for r in runs], max(budget // 4, 1))
        with torch.inference_mode():
            for batch in tqdm(batches, desc=f"hidden states after {len(prefixes)} prefixes",
                              disable=None if progress else True, leave=False):
                rs = [runs[b] for b in batch]
                prefix, mask = self._forward([prefixes[r] for r in rs], use_cache=True)
                cache = prefix["cache"] if "cache" in prefix else prefix["past_key_values"]  # renamed in 5.24
                members = [i for r in rs for i in served[r]]
                jobs = [(row, len(prefixes[i]), t) for row, r in enumerate(rs) for i in served[r]
                        for t in continuations[i]]
                step_rows = max(1, CACHE_ROW_TOKENS * budget // (mask.shape[1] + 1))
                parts = [self._continuation_step(cache if s + step_rows >= len(jobs) else branch(cache),
                                                 mask.shape[1], jobs[s:s + step_rows], layers)
                         for s in range(0, len(jobs), step_rows)]
                hidden = (np.concatenate(parts, axis=1) if parts else
                          np.zeros((len(layers), 0, self.backbone.config.hidden_size), np.float32))
                start = 0
                for i in members:
                    out[i] = hidden[:, start:start + len(continuations[i])]
                    start += len(continuations[i])
        return out

    def _continuation_step(self, cache: Any, width: int, jobs: list[tuple[int, int, int]],
                           layers: tuple[int, ...]) -> np.ndarray:
        """Hidden states ``(len(layers), len(jobs), d)``: for each job (cache row, prefix length n, token), the
        token at position n after the first n entries of that row of the batch's ``cache`` (of ``width``
        tokens; consumed: its rows are selected)."""
        import torch

        rows, lengths, tokens = (torch.tensor(c) for c in zip(*jobs))
        cache.batch_select_indices(rows.to(self.device))
        cols = torch.arange(width + 1)[None]
        mask = ((cols < lengths[:, None]) | (cols == width)).long()
        step = self.backbone(input_ids=tokens[:, None].to(self.device), attention_mask=mask.to(self.device),
                             position_ids=lengths[:, None].to(self.device), **{self.cache_kwarg: cache},
                             use_cache=True, output_hidden_states=self.wants_all_layers(layers), return_dict=True)
        return torch.stack([h[:, -1] for h in self.layers_of(step, layers)]).float().cpu().numpy()

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str] = (),
                 repetition_penalty: float = 1.0, max_batch_tokens: int | None = None,
                 max_batch_size: int = 8) -> list[str]:
        """Greedy decoding: HF ``generate`` on length-sorted, left-padded batches (every prompt ends where
        generation starts). A hand-written decoder (each prompt prefilled alone) gave the same answers and was
        removed by measurement: 1.03x on the real workload (``docs/architecture.md``)."""
        import torch

        encoded = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        answers = [""] * len(prompts)
        for batch in length_batches([len(e) for e in encoded], self._budget(max_batch_tokens), max_batch_size):
            ids, mask = pad_rows([encoded[i] for i in batch], self.pad_id, side="left")
            with torch.inference_mode():
                out = self.module.generate(
                    input_ids=ids.to(self.device), attention_mask=mask.to(self.device), do_sample=False,
                    repetition_penalty=repetition_penalty, max_new_tokens=max_new_tokens, pad_token_id=self.pad_id,
                    stop_strings=list(stop) or None, tokenizer=self.tokenizer, temperature=None, top_p=None,
                    top_k=None)
            for r, i in enumerate(batch):
                answers[i] = self.tokenizer.decode(out[r, ids.shape[1]:], skip_special_tokens=True)
        return answers


def _nll_and_top1(logits, targets):
    """(logsumexp(z) − z[t], argmax z = t) per row, as ``torch.logsumexp`` computes it (m + log Σ exp(z − m),
    m = max z) but in place in the chunk (it is ours) and with the maximum and argmax from one pass."""
    top, best = logits.max(-1)
    picked = logits.gather(1, targets[:, None])[:, 0]
    lse = logits.sub_(top[:, None]).exp_().sum(-1).log_().add_(top)
    return (lse - picked).cpu(), (best == targets).cpu()


def covering_prefixes(prefixes: Sequence[Sequence[int]]) -> list[int]:
    """``out[i]``: the index of a request prefix that starts with ``prefixes[i]`` (itself when none longer
    does), one that no other starts with. In lexicographic order the prefixes that start with ``a`` follow
    ``a`` at once, so ``a`` is covered when the next one starts with it, by whatever covers that one."""
    keys = [tuple(p) for p in prefixes]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    out = list(range(len(keys)))
    for k in range(len(order) - 2, -1, -1):
        a, b = order[k], order[k + 1]
        if keys[b][:len(keys[a])] == keys[a]:
            out[a] = out[b]
    return out


def branch(cache: Any) -> Any:
    """A copy of a KV cache to select rows from, the original kept. A ``DynamicCache`` of plain dynamic layers
    never writes into its tensors (selecting rows and appending make new ones), so they are shared; any
    other cache is copied whole."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    if layers is None or any(type(layer) is not DynamicLayer for layer in layers):
        return copy.deepcopy(cache)
    twin = copy.copy(cache)
    twin.layers = [copy.copy(layer) for layer in layers]
    return twin
