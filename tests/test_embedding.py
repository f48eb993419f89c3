"""Golden tests for pooling, cosine and Spearman, and padding invariance of batched embedding."""

import numpy as np
import pytest
import torch

from harness.aggregate import spearman
from harness.embedding import EmbeddingProtocol, protocol_record, token_rows
from harness.lm.batching import length_batches
from harness.lm.hf import mean_pool
from tasks.pairs import Pair, score_pairs


def _ranks(x):
    """Average ranks (1-based), ties sharing their mean rank: written independently of scipy."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _spearman_by_hand(a, b):
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / np.sqrt((ra ** 2).sum() * (rb ** 2).sum()))


def test_spearman_matches_hand_computation_with_ties():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 5, size=40).astype(float)  # many ties
    b = a + rng.normal(size=40)
    assert spearman(a, b) == pytest.approx(_spearman_by_hand(a, b), abs=1e-12)


def test_mean_pool_ignores_masked_positions():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    assert mean_pool(hidden, mask).tolist() == [[2.0, 3.0]]


def test_score_pairs_cosine_and_spearman_on_explicit_vectors():
    vectors = {"a": [1.0, 0.0], "b": [0.0, 2.0], "c": [1.0, 1.0], "d": [-3.0, 0.5]}
    pairs = [Pair("a", "b", 1.0, 1), Pair("a", "c", 5.0, 2), Pair("c", "d", 0.5, 3), Pair("b", "c", 4.0, 4)]

    def embed(texts):
        return np.array([vectors[t] for t in texts])[None]  # one layer: the protocol's

    metrics, items = score_pairs(pairs, embed)
    expected_cos = []
    for p in pairs:
        u, v = np.array(vectors[p.a]), np.array(vectors[p.b])
        expected_cos.append(u @ v / (np.sqrt(u @ u) * np.sqrt(v @ v)))
    assert items.columns["cosine"] == pytest.approx(expected_cos, abs=1e-12)
    assert metrics["spearman"] == pytest.approx(_spearman_by_hand([p.score for p in pairs], expected_cos))


def test_length_batches_respect_budget_and_cover_everything():
    lengths = [5, 1, 9, 3, 3, 7, 2]
    batches = length_batches(lengths, max_batch_tokens=12)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) * max(lengths[i] for i in b) <= 12 or len(b) == 1
    assert [lengths[b[0]] for b in batches] == sorted((lengths[b[0]] for b in batches), reverse=True)


def _manual_vector(lm, text, layer=-1):
    """The default protocol by hand: SmolLM2's document separator <|endoftext|> in front, one unpadded forward,
    mean of the text's own tokens."""
    ids = torch.tensor([[lm.tokenizer.convert_tokens_to_ids("<|endoftext|>")] + lm.tokenizer(text)["input_ids"]])
    with torch.no_grad():
        out = lm.module(input_ids=ids, output_hidden_states=True)
    h = out.hidden_states[layer][0, 1:].double()
    v = h.mean(dim=0)
    return (v / v.norm()).numpy()


def test_batched_embedding_equals_one_text_at_a_time(tiny_llama):
    texts = ["a", "the cat sat on the mat", "hello there, general", "x y", "A much longer sentence with quite a few words in it."]
    protocol = EmbeddingProtocol()
    batched = tiny_llama.embed(texts, protocol, max_batch_tokens=64, progress=False)
    for i, t in enumerate(texts):
        single = tiny_llama.embed([t], protocol, progress=False)[0]
        np.testing.assert_allclose(batched[i], single, atol=1e-5)
        np.testing.assert_allclose(batched[i], _manual_vector(tiny_llama, t), atol=1e-5)
        assert np.linalg.norm(batched[i]) == pytest.approx(1.0, abs=1e-5)


def test_intermediate_layer_matches_hidden_states_tuple(tiny_llama):
    protocol = EmbeddingProtocol(layer=1)
    vec = tiny_llama.embed(["the cat sat"], protocol, progress=False)[0]
    np.testing.assert_allclose(vec, _manual_vector(tiny_llama, "the cat sat", layer=1), atol=1e-5)


def test_bos_modes(smollm2_tokenizer):
    tok = smollm2_tokenizer
    assert tok("cat")["input_ids"][0] != tok.bos_token_id  # SmolLM2 adds no BOS by itself
    (native_ids, native_pool), = token_rows(tok, ["cat"], EmbeddingProtocol(bos="native"))
    (add_ids, add_pool), = token_rows(tok, ["cat"], EmbeddingProtocol(bos="add"))
    (ctx_ids, ctx_pool), = token_rows(tok, ["cat"], EmbeddingProtocol(bos="context"))
    (decl_ids, decl_pool), = token_rows(tok, ["cat"], EmbeddingProtocol(bos="declared"))
    end_of_text = tok.convert_tokens_to_ids("<|endoftext|>")
    assert add_ids == ctx_ids == [end_of_text] + native_ids
    assert decl_ids == [tok.bos_token_id] + native_ids and tok.bos_token == "<|im_start|>"
    assert add_pool == [1] * len(add_ids)
    assert ctx_pool == decl_pool == [0] + [1] * len(native_ids)
    assert native_pool == [1] * len(native_ids)


def _bytelevel(bos: str | None, eos: str | None, own_bos: bool = False):
    """A tiny byte-level tokenizer with the given special tokens; ``own_bos``: it puts ``<s>`` in front
    of every text itself, as Llama's does."""
    import copy

    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    from tokenizer_families import family_tokenizer

    backend = copy.deepcopy(family_tokenizer("bytelevel").backend_tokenizer)
    if own_bos:
        backend.post_processor = TemplateProcessing(single="<s> $A", special_tokens=[("<s>", backend.token_to_id("<s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token=bos, eos_token=eos)


def test_default_protocol_prepends_the_document_token_as_context_only(smollm2_tokenizer):
    """SmolLM2-Instruct declares the chat marker <|im_start|> (id 1) as BOS; its pretraining documents were
    separated by <|endoftext|> (id 0), which is what goes in front."""
    tok = smollm2_tokenizer
    bare = tok("cat", add_special_tokens=False)["input_ids"]
    assert EmbeddingProtocol().bos == "context"
    assert token_rows(tok, ["cat"], EmbeddingProtocol()) == [([0] + bare, [0] + [1] * len(bare))]  # <|endoftext|> = 0
    record = protocol_record(tok, EmbeddingProtocol())
    assert record["bos"] == "context" and record["context_token"] == "<|endoftext|>" and record["tokenizer_prefix"] == []
    assert "chat template" in record["context_token_why"]
    assert protocol_record(tok, EmbeddingProtocol(bos="declared"))["context_token"] == "<|im_start|>"
    assert protocol_record(tok, EmbeddingProtocol(bos="native"))["context_token"] is None


def test_declared_bos_is_the_context_token_when_no_chat_template_uses_it():
    tok = _bytelevel(bos="<s>", eos="</s>")
    tok.chat_template = "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}"  # <s> not a chat marker
    bos, bare = tok.convert_tokens_to_ids("<s>"), tok("the car", add_special_tokens=False)["input_ids"]
    assert token_rows(tok, ["the car"], EmbeddingProtocol()) == [([bos] + bare, [0] + [1] * len(bare))]
    assert protocol_record(tok, EmbeddingProtocol())["context_token_why"] == "the tokenizer's declared BOS token"


def test_chat_marker_bos_gives_way_to_an_end_of_text_token_the_template_does_not_use():
    tok = _bytelevel(bos="<s>", eos="</s>")
    tok.add_special_tokens({"additional_special_tokens": ["<|endoftext|>"]})
    tok.chat_template = "{% for m in messages %}<s>{{ m['content'] }}</s>{% endfor %}"
    eot, bare = tok.convert_tokens_to_ids("<|endoftext|>"), tok("the car", add_special_tokens=False)["input_ids"]
    assert token_rows(tok, ["the car"], EmbeddingProtocol()) == [([eot] + bare, [0] + [1] * len(bare))]
    bos = tok.convert_tokens_to_ids("<s>")
    assert token_rows(tok, ["the car"], EmbeddingProtocol(bos="declared")) == [([bos] + bare, [0] + [1] * len(bare))]


def test_context_token_falls_back_to_end_of_text_without_bos():
    tok = _bytelevel(bos=None, eos="</s>")
    eos, bare = tok.convert_tokens_to_ids("</s>"), tok("the car", add_special_tokens=False)["input_ids"]
    assert tok.bos_token_id is None
    assert token_rows(tok, ["the car"], EmbeddingProtocol()) == [([eos] + bare, [0] + [1] * len(bare))]
    assert protocol_record(tok, EmbeddingProtocol())["context_token"] == "</s>"


def test_tokenizers_own_bos_is_kept_and_pooled_without_a_second_one():
    tok = _bytelevel(bos="<s>", eos="</s>", own_bos=True)
    bos, bare = tok.convert_tokens_to_ids("<s>"), tok("the car", add_special_tokens=False)["input_ids"]
    for mode in ("context", "add", "native"):
        assert token_rows(tok, ["the car"], EmbeddingProtocol(bos=mode)) == [([bos] + bare, [1] * (1 + len(bare)))]
    record = protocol_record(tok, EmbeddingProtocol())
    assert record["context_token"] is None and record["tokenizer_prefix"] == ["<s>"]


def test_protocol_variants_are_distinct_and_the_default_has_none():
    variants = [EmbeddingProtocol(**kw).variant() for kw in (
        {}, {"bos": "native"}, {"layer": 6}, {"pooling": "last"}, {"pooling": "echo"},
        {"pooling": "last", "template": 'This word : "{text}" means in one word:"'},
        {"pooling": "last", "template": "{text} means"})]
    assert variants[0] == "" and len(set(variants)) == len(variants)
    assert variants[1] == "bos-native" and variants[2] == "layer6"


def test_every_layer_from_one_pass_matches_explicit_hidden_states(tiny_llama):
    texts = ["the cat", "a dog sat on the mat", "x"]
    layers = (0, 1, 2)
    out = tiny_llama.embed_layers(texts, EmbeddingProtocol(), layers, max_batch_tokens=64, progress=False)
    assert out.shape == (3, len(texts), 32)
    for slot, layer in enumerate(layers):
        for i, t in enumerate(texts):
            np.testing.assert_allclose(out[slot, i], _manual_vector(tiny_llama, t, layer=layer), atol=1e-5)
    np.testing.assert_allclose(out[2], tiny_llama.embed(texts, EmbeddingProtocol(), progress=False), atol=1e-6)


def test_per_layer_spearman_against_hand_computation(tiny_llama):
    from harness.embedding_cache import EmbeddingCache

    words = ["cat", "dog", "car", "house", "tree", "river", "bird", "money"]
    pairs = [Pair(a, b, float(s), i) for i, (a, b, s) in enumerate(
        [("cat", "dog", 8), ("car", "house", 3), ("tree", "river", 5), ("bird", "money", 1), ("cat", "bird", 6),
         ("dog", "house", 4), ("river", "money", 2), ("car", "tree", 2.5)])]
    cache = EmbeddingCache(tiny_llama, EmbeddingProtocol())
    metrics, items = score_pairs(pairs, lambda texts: cache.get(texts, (-1, 0, 1, 2)), (0, 1, 2))
    assert cache.embedded == len(words)  # every layer from one pass over each distinct word
    human = [p.score for p in pairs]
    for layer in (0, 1, 2):
        cos = [float(_manual_vector(tiny_llama, p.a, layer) @ _manual_vector(tiny_llama, p.b, layer)) for p in pairs]
        assert items.columns[f"cosine.L{layer}"] == pytest.approx(cos, abs=1e-5)
        assert metrics[f"spearman.L{layer}"] == pytest.approx(_spearman_by_hand(human, cos), abs=1e-9)
    assert items.columns["cosine"] == pytest.approx(items.columns["cosine.L2"], abs=1e-6)  # -1 is layer 2 here


DOC = 0  # SmolLM2's <|endoftext|>, its document separator: the default context token
PROMPT = 'This word : "{text}" means in one word:"'


def test_last_echo_and_template_rows_on_explicit_token_ids(smollm2_tokenizer):
    tok = smollm2_tokenizer
    t = tok("ice cream", add_special_tokens=False)["input_ids"]
    assert len(t) == 2
    (ids, pool), = token_rows(tok, ["ice cream"], EmbeddingProtocol(pooling="last"))
    assert (ids, pool) == ([DOC] + t, [0, 0, 1])
    (ids, pool), = token_rows(tok, ["ice cream"], EmbeddingProtocol(pooling="echo"))
    assert (ids, pool) == ([DOC] + t + t, [0, 0, 0, 1, 1])
    filled = tok('This word : "ice cream" means in one word:"', add_special_tokens=False)["input_ids"]
    (ids, pool), = token_rows(tok, ["ice cream"], EmbeddingProtocol.of(-1, "context", None, PROMPT))
    assert ids == [DOC] + filled and pool == [0] * len(filled) + [1]
    (ids, pool), = token_rows(tok, ["ice cream"], EmbeddingProtocol(bos="native", pooling="echo"))
    assert (ids, pool) == (t + t, [0, 0, 1, 1])


def _hidden(lm, ids, layer=-1):
    with torch.no_grad():
        return lm.module(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[layer][0].double()


def _unit(v):
    return (v / v.norm()).numpy()


def test_last_token_pooling_under_right_padding(tiny_llama, monkeypatch):
    import harness.lm.hf as hf

    texts = ["a much longer text than the others, with many tokens", "x", "the cat sat"]
    rows = [[DOC] + tiny_llama.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert len({len(r) for r in rows}) == 3
    monkeypatch.setattr(hf, "length_batches", lambda lengths, budget: [list(range(len(lengths)))])  # one padded batch
    out = tiny_llama.embed_layers(texts, EmbeddingProtocol(pooling="last"), (1, 2), progress=False)
    for i, row in enumerate(rows):
        for slot, layer in enumerate((1, 2)):
            np.testing.assert_allclose(out[slot, i], _unit(_hidden(tiny_llama, row, layer)[-1]), atol=1e-5)


def test_echo_and_template_vectors_from_explicit_hidden_states(tiny_llama):
    tok = tiny_llama.tokenizer
    texts = ["the cat", "a dog sat on the mat"]
    echo = tiny_llama.embed(texts, EmbeddingProtocol(pooling="echo"), progress=False)
    prompt = tiny_llama.embed(texts, EmbeddingProtocol.of(-1, "context", None, PROMPT), progress=False)
    for i, text in enumerate(texts):
        t = tok(text, add_special_tokens=False)["input_ids"]
        np.testing.assert_allclose(echo[i], _unit(_hidden(tiny_llama, [DOC] + t + t)[1 + len(t):].mean(0)), atol=1e-5)
        filled = tok(PROMPT.replace("{text}", text), add_special_tokens=False)["input_ids"]
        np.testing.assert_allclose(prompt[i], _unit(_hidden(tiny_llama, [DOC] + filled)[-1]), atol=1e-5)
