"""Shared fixtures: a tiny random Llama (fast) and the real embedded default (end to end).

Tests never touch the network: the hub is offline, benchmark files come from
``shared/data`` beside the project (or ``HARNESS_DATA_DIR``) and the packages.
Nothing imports this module: helpers that tests import live in modules of their own
(``task_fixtures``, ``trainer_fixtures``, ...), imported by name from ``tests/``, and in :mod:`harness.testing`
(the tiny model, fixture files), which plugin authors use too.
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


@pytest.fixture(scope="session")
def smollm2_folder() -> Path:
    """The converted embedded default (converted once per cache, then reused)."""
    from harness.lm.load import embedded_default_folder

    return embedded_default_folder()


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_folder):
    from harness.lm.tokenizer import load_tokenizer

    return load_tokenizer(str(smollm2_folder))


@pytest.fixture()
def tiny_llama(smollm2_tokenizer):
    """A tiny random Llama with the real SmolLM2 tokenizer behind the model interface, on the CPU."""
    from harness.testing import tiny_lm

    return tiny_lm(smollm2_tokenizer)


@pytest.fixture(scope="session")
def smollm2():
    """The real embedded default model, loaded once for the session."""
    from harness.lm.load import load_model

    return load_model("smollm2-135m", device="cpu", dtype="float32")
