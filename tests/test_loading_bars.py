"""transformers' progress bars appear only for checkpoints large enough to need one
(``harness.lm.hf_load.LOADING_BAR_BYTES``); transformers' own setting is the same after a load."""

from __future__ import annotations

from pathlib import Path

import pytest

BAR = "%|"  # what every tqdm bar line holds


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, smollm2_tokenizer) -> Path:
    from trainer_fixtures import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model", smollm2_tokenizer)


def load(folder: Path):
    from harness.lm.load import load_model

    return load_model(str(folder), device="cpu", dtype="float32")


def test_a_small_checkpoint_loads_without_a_bar(tiny_folder, capfd):
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()
    capfd.readouterr()
    load(tiny_folder)
    err = capfd.readouterr().err
    assert "Loading weights" not in err and BAR not in err, err
    assert hf_logging.is_progress_bar_enabled()  # transformers' setting, as it was


def test_a_checkpoint_above_the_threshold_shows_the_bar(tiny_folder, capfd, monkeypatch):
    from harness.lm import hf_load

    size = sum(p.stat().st_size for p in tiny_folder.glob("*.safetensors"))
    assert hf_load.weight_bytes(tiny_folder) == size
    monkeypatch.setattr(hf_load, "LOADING_BAR_BYTES", size - 1)
    capfd.readouterr()
    load(tiny_folder)
    assert "Loading weights" in capfd.readouterr().err


def test_bars_the_caller_turned_off_stay_off(tiny_folder, capfd, monkeypatch):
    from transformers.utils import logging as hf_logging

    from harness.lm import hf_load

    monkeypatch.setattr(hf_load, "LOADING_BAR_BYTES", 0)
    hf_logging.disable_progress_bar()
    try:
        capfd.readouterr()
        load(tiny_folder)
        assert "Loading weights" not in capfd.readouterr().err
        assert not hf_logging.is_progress_bar_enabled()
    finally:
        hf_logging.enable_progress_bar()


def test_a_hub_id_keeps_the_bar():
    assert __import__("harness.lm.hf_load", fromlist=["x"]).weight_bytes("HuggingFaceTB/SmolLM2-135M") is None


def test_the_embedded_gguf_converts_without_bars(tmp_path, capfd):
    """The one-time conversion (a 98 MB GGUF file): no dequantising, loading or writing bar."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    from harness.lm.gguf import convert_gguf
    from harness.models import EMBEDDED_GGUF, EMBEDDED_PACKAGE
    from harness.paths import package_dir

    reader_bar = gguf_utils.tqdm
    capfd.readouterr()
    convert_gguf(package_dir(EMBEDDED_PACKAGE), EMBEDDED_GGUF, tmp_path / "model")
    err = capfd.readouterr().err
    assert BAR not in err and "GGUF tensors" not in err, err
    assert (tmp_path / "model" / "config.json").is_file()
    assert gguf_utils.tqdm is reader_bar  # the reader's own tqdm, back
