"""CAFT as published (two stages) on a tiny random Llama: the frozen heads' auxiliary term against a float64
re-implementation written here (RMSNorm, rotary attention with grouped keys, SwiGLU, the shifts t -> t+1+i, the
schedule), gradients in stage 2 (LoRA yes, heads no), stage 1 (base untouched, heads' loss lowered, global RNG
untouched, deterministic) and its cache (reused; another seed or base model is another entry)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness.testing import tiny_llama_model
from trainers import caft_stage1
from trainers.caft import CaftSettings, build_heads
from trainers.data import TrainExample
from trainers.objective_heads import HeadsContext

V = 300


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def examples(seed: int = 0, n: int = 12, length: int = 10) -> list[TrainExample]:
    g = torch.Generator().manual_seed(seed)
    return [TrainExample(input_ids=torch.randint(5, V, (length,), generator=g).tolist(), positions=[], sets=[])
            for _ in range(n)]


def context(seed: int = 0, data_seed: int = 0) -> HeadsContext:
    return HeadsContext(train_set=examples(data_seed), pad_id=2, batch_size=4, grad_accum=1, warmup_ratio=0.0,
                        seed=seed, device="cpu", model_name="tiny")


FAST = CaftSettings(caft_heads_max_steps=2)


# ---------------------------------------------------------------- an independent float64 decoder layer


def rms(x, w, eps):
    return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps) * w


def llama_layer(x: np.ndarray, layer, config) -> np.ndarray:
    """One Llama decoder layer on one row x [T, d], causal, float64, from its weights."""
    W = {n: p.detach().double().numpy() for n, p in layer.named_parameters()}
    T, d = x.shape
    nh, nkv = config.num_attention_heads, config.num_key_value_heads
    hd = d // nh
    theta = config.rope_parameters["rope_theta"]
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = np.outer(np.arange(T), inv)  # [T, hd/2]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))

    def rope(v):  # v [T, hd]: rotate_half convention (first half, second half)
        half = np.concatenate([-v[:, hd // 2:], v[:, :hd // 2]], -1)
        return v * cos + half * sin

    h = rms(x, W["input_layernorm.weight"], config.rms_norm_eps)
    q = (h @ W["self_attn.q_proj.weight"].T).reshape(T, nh, hd)
    k = (h @ W["self_attn.k_proj.weight"].T).reshape(T, nkv, hd)
    v = (h @ W["self_attn.v_proj.weight"].T).reshape(T, nkv, hd)
    heads = []
    for a in range(nh):
        kv = a // (nh // nkv)
        qa, ka = rope(q[:, a]), rope(k[:, kv])
        scores = qa @ ka.T / math.sqrt(hd)
        scores[np.triu_indices(T, 1)] = -np.inf
        p = np.exp(scores - scores.max(-1, keepdims=True))
        heads.append((p / p.sum(-1, keepdims=True)) @ v[:, kv])
    x = x + np.concatenate(heads, -1) @ W["self_attn.o_proj.weight"].T
    h = rms(x, W["post_attention_layernorm.weight"], config.rms_norm_eps)
    gate, up = h @ W["mlp.gate_proj.weight"].T, h @ W["mlp.up_proj.weight"].T
    return x + (gate / (1 + np.exp(-gate)) * up) @ W["mlp.down_proj.weight"].T


def log_softmax(z):
    z = z - z.max()
    return z - np.log(np.exp(z).sum())


def reference_term(model, heads, ids, labels, coef, decay, s) -> float:
    """coef·s·Σ_i decay^i·mean_t −log softmax(E·head_i(u)_t)[y_{t+1+i}], u = hidden_states[-2] of the model."""
    with torch.no_grad():
        u = model(input_ids=ids, output_hidden_states=True).hidden_states[-2].double().numpy()
    E = model.get_output_embeddings().weight.detach().double().numpy()
    y = labels.numpy()
    B, T = y.shape
    total = 0.0
    for i, layer in enumerate(heads.layers, start=1):
        nll = []
        for r in range(B):
            out = llama_layer(u[r], layer, model.config)
            nll += [-log_softmax(E @ out[t])[y[r, t + 1 + i]] for t in range(T - 1 - i) if y[r, t + 1 + i] != -100]
        total += decay ** i * sum(nll) / len(nll)
    return coef * s * total


def attached(model, heads):
    from harness.lm.hf_train import output_embedding
    from trainers.objective_heads import on_final_hidden

    def run(ids, labels, progress):
        box = {}
        handle = on_final_hidden(model, lambda h: box.setdefault("out", heads(h, labels, output_embedding(model),
                                                                             progress)).loss)
        try:
            out = model(input_ids=ids, output_hidden_states=True, use_cache=False)
        finally:
            handle.remove()
        return out, box["out"]

    return run


@pytest.mark.parametrize("schedule,progress,s", [("rsine", 1 / 3, math.sqrt(3) / 2), ("rsine", 0.0, 1.0),
                                                  ("sine", 1 / 3, 0.5), ("linear", 0.25, 0.25),
                                                  ("constant", 0.9, 1.0), ("rsine", None, 1.0)])
def test_frozen_heads_term_matches_an_independent_computation(schedule, progress, s):
    model = tiny_llama_model(V)
    settings = CaftSettings(caft_heads=3, caft_coef=0.3, caft_decay=0.6, caft_schedule=schedule,
                            caft_heads_max_steps=1)
    heads = build_heads(model, settings, context())
    with torch.no_grad():  # heads unlike each other and unlike the layer they were copied from
        for p in heads.layers.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ids = torch.randint(5, V, (2, 9), generator=torch.Generator().manual_seed(1))
    labels = ids.clone()
    labels[1, -3:] = -100  # padding at the end of the second row
    heads.train()
    _, out = attached(model, heads)(ids, labels, progress)
    want = reference_term(model, heads, ids, labels, 0.3, 0.6, s)
    assert out.loss.item() == pytest.approx(want, rel=1e-4)
    assert len(heads.layers) == 3 and out.logs["caft_weight"] == pytest.approx(0.3 * s)
    heads.eval()  # evaluation: the auxiliary term is left out of the loss, its value still logged
    _, out = attached(model, heads)(ids, labels, progress)
    assert out.loss.item() == 0.0 and out.logs["caft_loss"] > 0
    heads.release()


def test_heads_copy_the_second_to_last_layer_and_default_to_four():
    model = tiny_llama_model(V, layers=3)
    heads = build_heads(model, CaftSettings(caft_heads_max_steps=1, caft_heads_lr=1e-12), context())
    assert len(heads.layers) == 4 and type(heads.layers[0]) is type(model.model.layers[1])
    for name, p in heads.layers[0].named_parameters():
        assert not p.requires_grad
        torch.testing.assert_close(p, dict(model.model.layers[1].named_parameters())[name], rtol=0, atol=1e-6)
    heads.release()


def test_stage_2_trains_lora_and_not_the_heads():
    from trainers.profiles import resolve_profile
    from trainers.trainer import add_lora

    base = tiny_llama_model(V)
    heads = build_heads(base, FAST, context())
    model = add_lora(base, resolve_profile("cpu", {"lora_dropout": 0.0})).train()
    heads.train()
    ids = torch.randint(5, V, (2, 10), generator=torch.Generator().manual_seed(2))
    out, term = attached(model, heads)(ids, ids, 0.0)
    term.loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in heads.parameters())
    first = [p.grad for n, p in model.named_parameters() if "lora_B" in n and ".layers.0." in n]
    last = [p.grad for n, p in model.named_parameters() if "lora_B" in n and ".layers.1." in n]
    assert first and all(g is not None and g.abs().sum() > 0 for g in first)
    assert last and all(g is None or g.abs().sum() == 0 for g in last)  # the heads read the last layer's input
    heads.release()


def test_stage_1_leaves_the_base_alone_and_lowers_the_heads_loss():
    from harness.lm.hf_train import decoder_layers, output_embedding
    from trainers.caft_heads import LayerInput
    from trainers.caft_heads import head_layers, head_losses, weighted_sum

    model = tiny_llama_model(V)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    counting = [TrainExample(input_ids=list(range(5 + 7 * j, 15 + 7 * j)), positions=[], sets=[]) for j in range(12)]
    ctx = HeadsContext(train_set=counting, pad_id=2, batch_size=4, grad_accum=1, warmup_ratio=0.1, seed=0,
                       device="cpu", model_name="tiny")  # learnable: token t + 1 + i is x_t + 1 + i
    batch = torch.tensor([e.input_ids for e in ctx.train_set])

    def loss_of(layers) -> float:
        recorder = LayerInput(model, decoder_layers(model)[-1])
        with torch.no_grad():
            model(input_ids=batch, use_cache=False)
            value = weighted_sum(head_losses(layers, recorder.take(), batch, output_embedding(model)), 0.8)
        recorder.remove()
        return float(value)

    untrained = loss_of(head_layers(model, 4))
    heads = build_heads(model, CaftSettings(caft_heads_epochs=10, caft_heads_lr=1e-2), ctx)
    assert torch.equal(torch.get_rng_state(), rng)  # the run's own random stream is untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.requires_grad for p in model.parameters())  # as it came
    trained = loss_of(heads.layers)
    assert trained < untrained - 1.0, (trained, untrained)
    stage1 = heads.record["stage1"]
    assert stage1["steps"] == 30 and stage1["last_loss"] < stage1["first_loss"]  # 10 epochs × 3 batches of 4
    heads.release()


def test_the_cache_is_reused_and_keyed_by_seed_data_and_base(cache, monkeypatch):
    calls = []
    real = caft_stage1.train_heads
    monkeypatch.setattr(caft_stage1, "train_heads", lambda *a: calls.append(1) or real(*a))
    model = tiny_llama_model(V)
    first = build_heads(model, FAST, context())
    again = build_heads(model, FAST, context())
    assert len(calls) == 1 and first.record["cache_key"] == again.record["cache_key"]
    for a, b in zip(first.layers.parameters(), again.layers.parameters()):
        assert torch.equal(a, b)
    keys = {first.record["cache_key"]}
    for other_model, ctx in ((model, context(seed=1)), (model, context(data_seed=1)), (tiny_llama_model(V, seed=1),
                                                                                     context())):
        keys.add(build_heads(other_model, FAST, ctx).record["cache_key"])
    assert len(calls) == 4 and len(keys) == 4
    assert len(list((cache / "caft_heads").glob("*.safetensors"))) == 4
    assert first.record["cache_file"].startswith(str(cache))


def test_stage_1_is_deterministic(tmp_path, monkeypatch):
    weights = []
    for run in ("a", "b"):
        monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / run))
        heads = build_heads(tiny_llama_model(V), CaftSettings(caft_heads_max_steps=3, caft_heads_lr=1e-3), context())
        weights.append([p.clone() for p in heads.layers.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights))


@pytest.mark.parametrize("field,value,needle", [("caft_heads", 0, "--caft-heads must be at least 1"),
                                                ("caft_decay", 0.0, "--caft-decay must lie in (0, 1]"),
                                                ("caft_heads_lr", 0.0, "--caft-heads-lr must be greater than 0")])
def test_bad_settings_are_user_errors(field, value, needle):
    from harness.errors import UserError

    with pytest.raises(UserError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        CaftSettings(**{field: value})
