"""A tiny random Llama for unit tests (seeded), built in-process."""

from __future__ import annotations


def tiny_llama_model(vocab_size: int, seed: int = 0, layers: int = 2, hidden: int = 32):
    """A randomly initialised LlamaForCausalLM small enough for unit tests (seeded)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                         pad_token_id=2)
    return LlamaForCausalLM(config).eval()


def tiny_lm(tokenizer, seed: int = 0, name: str = "tiny-llama", module=None, kind: str = "causal_lm", **info):
    """``module`` (default: :func:`tiny_llama_model`) behind the model interface (:class:`HFCausalLM`)."""
    from harness.lm.hf_causal import HFCausalLM
    from harness.models import ModelInfo

    module = module if module is not None else tiny_llama_model(len(tokenizer), seed=seed)
    info = {"base": name, "path": "", **info}
    return HFCausalLM(ModelInfo(id=f"{name}-00000000", name=name, spec=name, kind=kind, **info), module, tokenizer)
