"""The model interface (harness.lm) on a tiny random Llama, against computations written here:
one sequence at a time, no padding, no batching, float64 log-softmax from the module's own logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.lm.batching import length_batches, pad_rows
from harness.lm.interface import LanguageModel

SEQUENCES = [[5, 6, 7, 8, 9, 10, 11], [300, 301], [17, 4000, 23, 9999, 2, 12, 5, 40, 41, 42, 43, 44, 45], [77, 78, 79]]


def reference_scores(module, row):
    """(NLL, correct) of tokens 1..n−1 of ``row`` alone: explicit float64 log-softmax of its logits."""
    with torch.no_grad():
        logits = module(input_ids=torch.tensor([row])).logits[0, :-1].double()
    logp = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    target = torch.tensor(row[1:])
    return (-logp[torch.arange(len(target)), target]).numpy(), (logits.argmax(-1) == target).double().numpy()


@pytest.fixture(params=[100000, 8], ids=["one-head-call", "head-in-chunks-of-8"])
def chunked(request, monkeypatch):
    """Run each test with the LM head applied to all rows at once and in chunks of 8 rows."""
    import harness.lm.hf_causal as hf_causal

    monkeypatch.setattr(hf_causal, "LOGIT_CHUNK_BYTES", request.param * 4 * 49152)
    return request.param


def test_the_hf_model_satisfies_the_interface(tiny_llama):
    assert isinstance(tiny_llama, LanguageModel)
    assert tiny_llama.capabilities == {"hidden_states", "causal_lm"}


@pytest.mark.parametrize("max_batch_tokens", [8, 30, 4096])
def test_token_scores_equal_unbatched_float64_reference(tiny_llama, chunked, max_batch_tokens):
    scores = tiny_llama.token_scores(SEQUENCES, max_batch_tokens=max_batch_tokens, progress=False)
    assert len(scores) == len(SEQUENCES)
    for row, got in zip(SEQUENCES, scores):
        nll, correct = reference_scores(tiny_llama.module, row)
        assert got.nll.dtype == np.float64 and got.nll.shape == (len(row) - 1,)
        np.testing.assert_allclose(got.nll, nll, atol=2e-5, rtol=1e-5)
        np.testing.assert_array_equal(got.correct, correct)


def test_token_scores_reject_a_one_token_sequence(tiny_llama):
    with pytest.raises(ValueError, match="at least 2 tokens"):
        tiny_llama.token_scores([[5, 6], [7]], progress=False)


def test_top_k_next_equals_unbatched_topk(tiny_llama, chunked):
    positions = [[1, 4, 6], [1], [], [2]]
    got = tiny_llama.top_k_next(SEQUENCES, positions, k=7, max_batch_tokens=16)
    for row, pos, tops in zip(SEQUENCES, positions, got):
        assert len(tops) == len(pos)
        for p, top in zip(pos, tops):
            with torch.no_grad():
                logits = tiny_llama.module(input_ids=torch.tensor([row[:p]])).logits[0, -1]
            assert top == torch.topk(logits, 7).indices.tolist()
    with pytest.raises(ValueError, match=">= 1"):
        tiny_llama.top_k_next([[1, 2, 3]], [[0]], k=3)


@pytest.mark.parametrize("max_batch_tokens", [4, 4096])
def test_hidden_at_equals_full_forward_of_each_continuation(tiny_llama, max_batch_tokens):
    prefixes = [[5, 6, 7], [9], list(range(20, 29))]
    continuations = [[100, 200, 300], [400, 500], [600]]
    layers = (-1, 0, 1)
    got = tiny_llama.hidden_at(prefixes, continuations, layers=layers, max_batch_tokens=max_batch_tokens,
                               progress=False)
    for prefix, conts, states in zip(prefixes, continuations, got):
        assert states.shape == (len(layers), len(conts), 32) and states.dtype == np.float32
        for j, t in enumerate(conts):
            with torch.no_grad():
                out = tiny_llama.module(input_ids=torch.tensor([prefix + [t]]), output_hidden_states=True)
            for slot, layer in enumerate(layers):
                np.testing.assert_allclose(states[slot, j], out.hidden_states[layer][0, -1].numpy(), atol=2e-5,
                                           rtol=1e-4)


def test_generate_equals_each_prompt_alone(tiny_llama):
    """Greedy continuations of left-padded batches equal each prompt decoded alone by the module (with the
    same repetition penalty and stop string), in input order."""
    prompts = ["The cat sat on the", "Hello", "A much longer prompt about rivers, hills and the sea:"]
    got = tiny_llama.generate(prompts, max_new_tokens=6, stop=["]"], repetition_penalty=1.1, max_batch_size=2)
    tok = tiny_llama.tokenizer
    for prompt, answer in zip(prompts, got):
        ids = torch.tensor([tok(prompt, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            out = tiny_llama.module.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                             max_new_tokens=6, repetition_penalty=1.1, pad_token_id=tok.pad_token_id,
                                             stop_strings=["]"], tokenizer=tok)
        assert answer == tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def test_input_embeddings_are_the_modules(tiny_llama):
    np.testing.assert_array_equal(tiny_llama.input_embeddings(),
                                  tiny_llama.module.get_input_embeddings().weight.detach().numpy())


def test_length_batches_bound_padding_and_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=300).tolist()
    batches = length_batches(lengths, max_batch_tokens=1024, max_padding=0.1)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        width = max(lengths[i] for i in b)
        assert lengths[b[0]] == width  # the longest row leads its batch
        assert len(b) == 1 or (len(b) * width <= 1024 and len(b) * width - sum(lengths[i] for i in b)
                               <= 0.1 * len(b) * width)
    padded = sum(len(b) * lengths[b[0]] for b in batches)
    assert 1 - sum(lengths) / padded <= 0.1


def test_pad_rows_right_and_left():
    ids, mask = pad_rows([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    ids, mask = pad_rows([[1, 2, 3], [4]], pad_id=9, side="left")
    assert ids.tolist() == [[1, 2, 3], [9, 9, 4]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_hidden_at_logs_no_transformers_deprecation(tiny_llama):
    """The KV cache is passed and read by the name the installed transformers uses (``cache`` since 5.24):
    its once-per-process deprecation message never reaches the user's terminal."""
    import logging

    from transformers.utils import logging as hf_logging

    hf_logging.warning_once.cache_clear()  # an earlier caller must not hide a message from this one
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        tiny_llama.hidden_at([[5, 6, 7], [9]], [[100, 200], [300]], progress=False)
    finally:
        logger.removeHandler(handler)
    assert [m for m in seen if "deprecated" in m] == []


def test_hidden_at_many_continuations_in_chunks(tiny_llama):
    """Hundreds of continuations of one long prefix (the contextual embedding selector's request) go in
    chunks of copied KV cache (max_batch_tokens 8: two rows a step); every state equals the one-step answer."""
    prefixes = [list(range(30, 45)), [7, 8]]
    continuations = [list(range(100, 160)), list(range(200, 230))]
    chunked = tiny_llama.hidden_at(prefixes, continuations, max_batch_tokens=8, progress=False)
    whole = tiny_llama.hidden_at(prefixes, continuations, max_batch_tokens=1 << 16, progress=False)
    for a, b in zip(chunked, whole):
        assert a.shape == b.shape == (1, len(b[0]), 32)
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
    with torch.no_grad():
        out = tiny_llama.module(input_ids=torch.tensor([prefixes[0] + [159]]), output_hidden_states=True)
    np.testing.assert_allclose(chunked[0][0, -1], out.hidden_states[-1][0, -1].numpy(), atol=2e-5, rtol=1e-4)


def test_hidden_at_nested_prefixes_equal_full_forward(tiny_llama):
    """The words of one sequence ask for nested prefixes (and may repeat one): only the longest runs, the
    others read its first entries; every state equals a full forward of ``prefix + [t]``."""
    seq = list(range(40, 60))
    prefixes = [seq[:3], seq[:12], [7, 8, 9], seq[:20], seq[:12], [7, 8], seq[:1]]
    continuations = [[100, 101], [102], [103, 104, 105], [106], [107, 108], [], [109]]
    got = tiny_llama.hidden_at(prefixes, continuations, layers=(-1, 1), max_batch_tokens=24, progress=False)
    for prefix, conts, states in zip(prefixes, continuations, got):
        assert states.shape == (2, len(conts), 32)
        for j, t in enumerate(conts):
            with torch.no_grad():
                out = tiny_llama.module(input_ids=torch.tensor([prefix + [t]]), output_hidden_states=True)
            np.testing.assert_allclose(states[0, j], out.hidden_states[-1][0, -1].numpy(), atol=2e-5, rtol=1e-4)
            np.testing.assert_allclose(states[1, j], out.hidden_states[1][0, -1].numpy(), atol=2e-5, rtol=1e-4)


def test_covering_prefixes():
    from harness.lm.hf_causal import covering_prefixes

    prefixes = [[1, 2], [1, 2, 3, 4], [1, 3], [1], [2], [1, 2, 3], [1, 2, 3, 4], [2, 5]]
    roots = covering_prefixes(prefixes)
    for i, r in enumerate(roots):
        assert prefixes[r][:len(prefixes[i])] == prefixes[i]  # the root starts with the prefix
        assert not any(j != r and len(prefixes[j]) > len(prefixes[r]) and prefixes[j][:len(prefixes[r])] == prefixes[r]
                       for j in range(len(prefixes)))  # and nothing longer starts with the root
    assert len({roots[i] for i in (0, 1, 3, 5, 6)}) == 1 and roots[2] == 2 and roots[4] == roots[7] == 7
