"""The embedded default's GGUF file -> a Hugging Face model folder (dequantised by transformers' GGUF reader), with
a progress bar over its tensors; :func:`harness.lm.load.embedded_default_folder` calls it once per cache."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from harness.atomic import atomic_path
from harness.lm.hf_load import loading_bars


def convert_gguf(src: Path, gguf_file: str, target: Path) -> None:
    """Dequantise a GGUF checkpoint and save it as an ordinary safetensors folder (atomically); its bars
    follow :func:`loading_bars` by the GGUF file's size."""
    with loading_bars((src / gguf_file).stat().st_size) as shown, _gguf_tensor_bar(shown):
        _convert_gguf(src, gguf_file, target)


@contextlib.contextmanager
def _gguf_tensor_bar(shown: bool) -> Iterator[None]:
    """transformers' GGUF reader makes its "Converting and de-quantizing GGUF tensors" bar with tqdm itself,
    outside its progress-bar setting; when the bars are off, the reader gets a tqdm that starts disabled for
    the conversion, and its own back after it."""
    import functools

    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    bar = getattr(gguf_utils, "tqdm", None)
    if shown or bar is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = bar


def _convert_gguf(src: Path, gguf_file: str, target: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src, gguf_file=gguf_file)
    gguf_model = AutoModelForCausalLM.from_pretrained(src, gguf_file=gguf_file, dtype=torch.float32)
    config_dict = gguf_model.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    model_type = config_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    with atomic_path(target) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
