"""The fast greedy path (harness.lm.greedy) against Hugging Face's own ``generate``, the independent reference: each
prompt alone, ``do_sample=False`` with the same repetition penalty, stop strings and end-of-sequence ids."""

from __future__ import annotations

import pytest
import torch

import harness.lm.greedy as greedy

PROMPTS = ["The cat sat on the", "Hello", "A much longer prompt about rivers, hills, valleys and the open sea:",
           "x] y", "Lists: [a, b", "one two three four five six seven eight nine ten eleven twelve"]


def reference(lm, prompt: str, max_new_tokens: int, stop: list[str], penalty: float, ids_too: bool = False):
    """HF ``generate`` on the prompt alone (no padding, no batch), decoded without special tokens (and the new ids)."""
    tok = lm.tokenizer
    ids = torch.tensor([tok(prompt, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        out = lm.module.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=max_new_tokens, repetition_penalty=penalty,
                                 pad_token_id=tok.pad_token_id, stop_strings=stop or None, tokenizer=tok,
                                 temperature=None, top_p=None, top_k=None)
    answer = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    return (answer, out[0, ids.shape[1]:].tolist()) if ids_too else answer


@pytest.fixture()
def fast_only(tiny_llama, monkeypatch):
    """The model with HF's batched path disabled, so a call that falls back to it fails."""
    def refuse(*args, **kwargs):
        raise AssertionError("the fast path fell back to HF generate")

    monkeypatch.setattr(tiny_llama, "_generate_hf", refuse)
    return tiny_llama


@pytest.mark.parametrize("max_batch_size", [1, 3, 8])
def test_greedy_equals_hf_generate_with_penalty_and_stop_string(fast_only, max_batch_size):
    """Penalty 2 makes the tiny model vary its tokens, so the stop string ``in`` (inside a token or across two) ends
    rows at different steps, checked on the reference itself, while one runs to the token limit."""
    refs = [reference(fast_only, p, 10, ["in"], 2.0, ids_too=True) for p in PROMPTS]
    steps = [len(ids) for _, ids in refs]
    assert len(set(steps)) >= 4 and 10 in steps and min(steps) < 5, steps
    got = fast_only.generate(PROMPTS, max_new_tokens=10, stop=["in"], repetition_penalty=2.0,
                             max_batch_size=max_batch_size)
    assert got == [answer for answer, _ in refs]


def test_greedy_equals_hf_generate_without_penalty_or_stop(fast_only):
    refs = [reference(fast_only, p, 7, [], 1.0) for p in PROMPTS]
    assert fast_only.generate(PROMPTS, max_new_tokens=7) == refs


def test_greedy_stops_at_the_generation_configs_end_of_sequence(fast_only):
    """An end-of-sequence id taken from what the reference generates for one prompt (its 4th new token or the first
    after it not seen before in that answer) stops that prompt there, and any other prompt that produces it; the token
    is kept in the ids and decoded like any other (it is not a special token of the tokenizer)."""
    tok = fast_only.tokenizer
    ids = torch.tensor([tok(PROMPTS[5], add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        free = fast_only.module.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                         max_new_tokens=8, repetition_penalty=2.0, pad_token_id=tok.pad_token_id)
    new = free[0, ids.shape[1]:].tolist()
    j = next(j for j in range(3, len(new)) if new[j] not in new[:j])
    fast_only.module.generation_config.eos_token_id = [2, new[j]]
    refs = [reference(fast_only, p, 8, [], 2.0) for p in PROMPTS]
    assert refs[5] == tok.decode(new[:j + 1]) and len(new) > j + 1
    assert fast_only.generate(PROMPTS, max_new_tokens=8, repetition_penalty=2.0, max_batch_size=4) == refs


def test_greedy_with_a_shared_prefix_cache_equals_hf_generate(fast_only, monkeypatch):
    """Prompts that share a header (as chat-templated judge prompts do): its KV cache computed once and reused."""
    monkeypatch.setattr(greedy, "PREFIX_MIN", 2)
    header = "<|im_start|>user\nFind contextual synonyms for the word"
    prompts = [header + w for w in (" bank in: money", " river", " light in this text: the lamp gave light")]
    calls = []
    real = greedy._run
    monkeypatch.setattr(greedy, "_run", lambda lm, ids, past: calls.append((len(ids), past is None)) or real(lm, ids, past))
    refs = [reference(fast_only, p, 9, ["in"], 2.0) for p in prompts]
    assert fast_only.generate(prompts, max_new_tokens=9, stop=["in"], repetition_penalty=2.0, max_batch_size=2) == refs
    shared = len(fast_only.tokenizer(header, add_special_tokens=False)["input_ids"])
    assert calls[0] == (shared, True) and all(not fresh for _, fresh in calls[1:]) and len(calls) == 4


def test_a_row_done_at_its_first_token_and_one_new_token(fast_only):
    refs = [reference(fast_only, p, 1, [], 1.1) for p in PROMPTS]
    assert fast_only.generate(PROMPTS, max_new_tokens=1, repetition_penalty=1.1, max_batch_size=4) == refs
    first = refs[0][:1]  # the first character of the first prompt's first token: a stop string that ends it at once
    refs = [reference(fast_only, p, 5, [first], 1.1) for p in PROMPTS]
    assert fast_only.generate(PROMPTS, max_new_tokens=5, stop=[first], repetition_penalty=1.1) == refs


def test_sliding_window_models_use_hf_generate(tiny_llama):
    cfg = tiny_llama.module.config
    assert greedy.supports_fast_greedy(tiny_llama.module)
    cfg.sliding_window = 4
    assert not greedy.supports_fast_greedy(tiny_llama.module)
    cfg.use_sliding_window = False
    assert greedy.supports_fast_greedy(tiny_llama.module)
