"""Shared fixtures: a tiny random Llama (fast) and the real embedded default (end to end).

Tests never touch the network: the hub is offline, benchmark files come from
``shared/data`` beside the project (or ``HARNESS_DATA_DIR``) and the packages.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "HARNESS_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["HARNESS_DATA_DIR"] = str(SHARED_DATA)


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


@pytest.fixture(scope="session")
def smollm2_folder() -> Path:
    """The converted embedded default (converted once per cache, then reused)."""
    from harness.models import embedded_default_folder

    return embedded_default_folder()


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_folder):
    from harness.models import load_tokenizer

    return load_tokenizer(str(smollm2_folder))


@pytest.fixture()
def tiny_llama(smollm2_tokenizer):
    """A tiny random Llama with the real SmolLM2 tokenizer behind the model interface, on the CPU."""
    return tiny_lm(smollm2_tokenizer)


def tiny_lm(tokenizer, seed: int = 0, name: str = "tiny-llama", module=None, kind: str = "causal_lm", **info):
    """``module`` (default: :func:`tiny_llama_model`) behind the model interface (:class:`HFCausalLM`)."""
    from harness.lm.hf_causal import HFCausalLM
    from harness.models import ModelInfo

    module = module if module is not None else tiny_llama_model(len(tokenizer), seed=seed)
    info = {"base": name, "path": "", **info}
    return HFCausalLM(ModelInfo(id=f"{name}-00000000", name=name, spec=name, kind=kind, **info), module, tokenizer)


@pytest.fixture(scope="session")
def smollm2():
    """The real embedded default model, loaded once for the session."""
    from harness.models import load_model

    return load_model("smollm2-135m", device="cpu", dtype="float32")
