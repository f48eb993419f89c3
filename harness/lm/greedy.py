"""Greedy decoding with a repetition penalty and stop strings: the model's own arithmetic and little else.

The answers are those of Hugging Face ``generate(do_sample=False, repetition_penalty=r, stop_strings=S,
max_new_tokens=n)`` run on each prompt alone (``tests/test_greedy.py`` checks that against it). Per step and row:

    z = head(h_last) (float32)                         the logits of the last position only
    z'_v = z_v · r if z_v < 0 else z_v / r             for every token v already in the row (prompt + generated),
    z'_v = z_v                                         otherwise (HF's ``RepetitionPenaltyLogitsProcessor``)
    next = argmax_v z'_v                               (first index on ties, as ``torch.argmax``)

A row ends after an end-of-sequence token of the model's generation config, once the text it generated holds a
stop string (kept in the answer), or after ``n`` tokens. For a one-character stop string such as ``]`` that is
exactly when HF's ``StopStringCriteria`` stops (the string must overlap the last token); a longer stop string that
starts inside the prompt is not looked for.

Where the time of HF's ``generate`` went and what is done instead:

- *padding*: each prompt is prefilled alone, unpadded (no padding compute, and a causal mask without padding);
  optionally after a shared prefix (the chat header) whose KV cache is computed once (:data:`PREFIX_MIN`);
- *cache growth*: HF's dynamic cache concatenates every layer's keys and values at every step (a copy of the
  whole cache per token); here each decode group writes into one preallocated buffer (:class:`_SlotLayer`);
- *finished rows*: a row that stops leaves the batch and the cache at once (HF keeps decoding it as padding), and
  cache columns that are padding for every remaining row are cut off the left;
- *per-step overhead*: no logits processors, stopping-criteria objects or stop-string tables; the LM head runs on
  the last position only; one device-to-host copy of the chosen tokens per step.

Numbers differ from HF's batched path only by the order of floating-point sums (unpadded vs padded shapes).
"""

from __future__ import annotations

from typing import Any, Sequence

from harness.lm.batching import length_batches

# Reuse a shared prompt prefix's KV cache when it has at least this many tokens (0: never). Off: on 24 judge prompts
# (189-604 tokens) the chat header's cache changed prefill from 15.2 s to 15.1 s (bench/concepts.py --judge-prompts).
PREFIX_MIN = 0
DECODE_MAX_PADDING = 0.25  # a decode group's cache may be this share padding (prompts of similar length)


def supports_fast_greedy(module: Any) -> bool:
    """True when every layer attends to the whole prefix (no sliding window, no recurrent layers): the one
    cache layout :class:`_SlotLayer` implements; other models use HF's ``generate``."""
    cfg = module.config.get_text_config(decoder=True) if hasattr(module.config, "get_text_config") else module.config
    types = getattr(cfg, "layer_types", None)
    if types is not None and any(t != "full_attention" for t in types):
        return False
    return not (getattr(cfg, "sliding_window", None) and getattr(cfg, "use_sliding_window", True))


def eos_ids(module: Any) -> set[int]:
    """End-of-sequence ids HF's ``generate`` would stop at (the generation config's, else the model config's)."""
    gen = getattr(module, "generation_config", None)
    eos = getattr(gen, "eos_token_id", None)
    if eos is None:
        eos = getattr(module.config, "eos_token_id", None)
    if eos is None:
        return set()
    return {int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])}


def greedy_generate(lm: Any, encoded: Sequence[Sequence[int]], max_new_tokens: int, stop: Sequence[str] = (),
                    repetition_penalty: float = 1.0, max_batch_tokens: int = 8192, max_batch_size: int = 8,
                    timings: dict[str, float] | None = None) -> list[list[int]]:
    """The generated token ids of each prompt (``encoded``: token ids), in input order.

    ``lm`` is an :class:`~harness.lm.hf_causal.HFCausalLM`. Prompts are decoded in groups of similar length of at
    most ``max_batch_size`` rows and ``max_batch_tokens`` cache slots (rows × (longest prompt + new tokens)).
    ``timings`` (optional) gathers seconds spent in ``prefill`` and ``decode``."""
    import torch

    out: list[list[int]] = [[] for _ in encoded]
    if max_new_tokens <= 0 or not encoded:
        return out
    lengths = [len(e) + max_new_tokens for e in encoded]
    groups = length_batches(lengths, max_batch_tokens, max_batch_size, max_padding=DECODE_MAX_PADDING)
    prefix = _shared_prefix(lm, encoded)
    stopper = _Stopper(lm.tokenizer, stop, eos_ids(lm.module), max_new_tokens)
    timings = timings if timings is not None else {}
    with torch.inference_mode():
        for group in groups:
            rows = [list(encoded[i]) for i in group]
            t0 = _clock(lm)
            cache, mask, first = _prefill(lm, rows, prefix, max_new_tokens)
            t1 = _clock(lm)
            for r, ids in zip(group, _decode(lm, rows, cache, mask, first, repetition_penalty, stopper)):
                out[r] = ids
            timings["prefill"] = timings.get("prefill", 0.0) + t1 - t0
            timings["decode"] = timings.get("decode", 0.0) + _clock(lm) - t1
    return out


def _clock(lm: Any) -> float:
    """Wall time after the device finished its queued work (so GPU timings are not just launch times)."""
    import time

    import torch

    if getattr(lm.device, "type", str(lm.device)) == "cuda":
        torch.cuda.synchronize(lm.device)
    return time.perf_counter()


class _Stopper:
    """Whether a row is done after its latest token (module docstring)."""

    def __init__(self, tokenizer: Any, stop: Sequence[str], eos: set[int], max_new_tokens: int) -> None:
        self.tokenizer, self.stop, self.eos, self.max_new_tokens = tokenizer, [s for s in stop if s], eos, max_new_tokens

    def done(self, generated: list[int]) -> bool:
        if generated[-1] in self.eos or len(generated) >= self.max_new_tokens:
            return True
        if not self.stop:
            return False
        text = self.tokenizer.decode(generated, skip_special_tokens=False)
        return any(s in text for s in self.stop)


def _shared_prefix(lm: Any, encoded: Sequence[Sequence[int]]) -> Any:
    """(prefix ids, their KV cache as ``(keys, values)`` per layer) of the longest token prefix every prompt shares
    (one token short of the shortest prompt, so each prompt has a suffix to prefill), or None when it is shorter
    than :data:`PREFIX_MIN` (or that is 0)."""
    if PREFIX_MIN <= 0 or len(encoded) < 2:
        return None
    n = min(len(e) for e in encoded) - 1
    first = encoded[0]
    for e in encoded[1:]:
        n = next((j for j in range(n) if e[j] != first[j]), n)
    if n < PREFIX_MIN:
        return None
    out = _run(lm, list(first[:n]), None)[1]
    return list(first[:n]), [(layer.keys, layer.values) for layer in out.layers]


def _run(lm: Any, ids: list[int], past: Any) -> tuple[Any, Any]:
    """The backbone on one unpadded row (after ``past``, a list of per-layer ``(keys, values)``): (last hidden
    state, the row's dynamic cache)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()
    if past is not None:
        for layer, (k, v) in enumerate(past):
            cache.update(k, v, layer)  # the cache concatenates: the shared tensors are never written
    start = cache.get_seq_length()
    out = lm.backbone(input_ids=torch.tensor([ids], device=lm.device),
                      position_ids=torch.arange(start, start + len(ids), device=lm.device)[None],
                      **{lm.cache_kwarg: cache}, use_cache=True, return_dict=True)
    return out.last_hidden_state[0, -1], cache


def _prefill(lm: Any, rows: list[list[int]], prefix: Any, max_new_tokens: int) -> tuple[Any, Any, Any]:
    """Each row alone (after the shared prefix, when there is one), copied right-aligned into one left-padded
    preallocated cache of ``longest + max_new_tokens`` slots: (cache, attention mask, first-step logits)."""
    import torch
    from transformers.cache_utils import Cache

    width = max(len(r) for r in rows)
    layers: list[_SlotLayer] = []
    hidden = []
    for b, ids in enumerate(rows):
        if prefix is not None:
            h, cache = _run(lm, ids[len(prefix[0]):], prefix[1])
        else:
            h, cache = _run(lm, ids, None)
        hidden.append(h)
        for j, layer in enumerate(cache.layers):
            if b == 0:
                layers.append(_SlotLayer(len(rows), layer.keys, width + max_new_tokens, width))
            layers[j].keys_buf[b, :, width - len(ids):width] = layer.keys[0]
            layers[j].values_buf[b, :, width - len(ids):width] = layer.values[0]
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=lm.device)
    for b, ids in enumerate(rows):
        mask[b, width - len(ids):] = 1
    logits = torch.cat([z for _, z in lm._logits(torch.stack(hidden))])
    return Cache(layers=layers), mask, logits


def _decode(lm: Any, rows: list[list[int]], cache: Any, mask: Any, logits: Any, penalty: float,
            stopper: _Stopper) -> list[list[int]]:
    """Greedy steps from the first-step ``logits`` until every row is done; finished rows leave the batch."""
    import torch

    vocab = logits.shape[-1]
    seen = torch.zeros((len(rows), vocab), dtype=torch.bool, device=lm.device)
    for b, ids in enumerate(rows):
        seen[b, torch.tensor(ids, device=lm.device)] = True
    position = torch.tensor([len(r) for r in rows], device=lm.device)
    alive = list(range(len(rows)))  # original row of each batch row
    out: list[list[int]] = [[] for _ in rows]
    while True:
        if penalty != 1.0:
            logits = torch.where(seen, torch.where(logits < 0, logits * penalty, logits / penalty), logits)
        chosen = logits.argmax(-1)
        seen[torch.arange(len(alive), device=lm.device), chosen] = True
        keep = []
        for b, token in enumerate(chosen.tolist()):
            out[alive[b]].append(token)
            if not stopper.done(out[alive[b]]):
                keep.append(b)
        if not keep:
            return out
        if len(keep) < len(alive):
            idx = torch.tensor(keep, device=lm.device)
            alive, chosen, seen, position, mask = ([alive[b] for b in keep], chosen[idx], seen[idx], position[idx],
                                                   mask[idx])
            cut = int(mask.any(0).nonzero()[0])  # leading cache columns that are padding for every row left
            for layer in cache.layers:
                layer.select(idx, cut)
            mask = mask[:, cut:]
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        step = lm.backbone(input_ids=chosen[:, None], attention_mask=mask, position_ids=position[:, None],
                           **{lm.cache_kwarg: cache}, use_cache=True, return_dict=True)
        position = position + 1
        logits = torch.cat([z for _, z in lm._logits(step.last_hidden_state[:, -1])])


def _slot_layer_base() -> type:
    from transformers.cache_utils import DynamicLayer

    return DynamicLayer


class _SlotLayer(_slot_layer_base()):  # type: ignore[misc]
    """One layer's keys and values in a preallocated ``(rows, heads, slots, head_dim)`` buffer: a step writes its
    column in place and attention reads the filled view, instead of concatenating the whole cache every step."""

    def __init__(self, rows: int, like: Any, slots: int, filled: int) -> None:
        import torch

        super().__init__()
        shape = (rows, like.shape[1], slots, like.shape[3])
        # zeros, not empty: padding slots are masked, but 0 · NaN would still be NaN
        self.keys_buf = torch.zeros(shape, dtype=like.dtype, device=like.device)
        self.values_buf = torch.zeros(shape, dtype=like.dtype, device=like.device)
        self.filled = filled
        self.is_initialized = True
        self.device = like.device
        self._view()

    def _view(self) -> None:
        self.keys = self.keys_buf[:, :, :self.filled]
        self.values = self.values_buf[:, :, :self.filled]

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        n = key_states.shape[-2]
        self.keys_buf[:, :, self.filled:self.filled + n] = key_states
        self.values_buf[:, :, self.filled:self.filled + n] = value_states
        self.filled += n
        self._view()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.filled

    def select(self, rows: Any, cut: int) -> None:
        """Keep batch ``rows`` and drop the first ``cut`` slots (padding for every kept row)."""
        self.keys_buf = self.keys_buf[rows, :, cut:]
        self.values_buf = self.values_buf[rows, :, cut:]
        self.filled -= cut
        self._view()

    def batch_select_indices(self, indices: Any) -> None:
        self.select(indices, 0)
