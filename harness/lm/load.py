"""A model spec (:mod:`harness.models`) -> one loaded model behind the model interface (:mod:`harness.lm`).

The one loader: the embedded default is converted here once (its GGUF file into ``<cache>/models``), the weights'
folder of a described spec is found here, and :func:`load_model` puts it on the chosen device (CUDA when present,
else CPU), in eval mode. torch and transformers are imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UserError
from harness.lm.hf_load import adapter_on_loaded, load_hf, pick_device, pick_dtype
from harness.models import (EMBEDDED_DEFAULT, EMBEDDED_GGUF, EMBEDDED_PACKAGE, GGUF_FIX, ModelInfo, describe_spec,
                            dtype_name, embedded_default_target, package_folder)
from harness.paths import cache_dir

if TYPE_CHECKING:
    from harness.lm.interface import LanguageModel


def embedded_default_folder() -> Path:
    """The converted embedded default model; converts the GGUF once (~30 s on 2 CPU cores) and reuses it."""
    target = embedded_default_target()
    if (target / "config.json").is_file():
        return target
    from filelock import FileLock

    cache_dir("models")
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file():
            return target
        src = package_folder(EMBEDDED_PACKAGE)
        if not (src / EMBEDDED_GGUF).is_file():
            raise UserError(f"{src / EMBEDDED_GGUF} is missing: {GGUF_FIX}")
        from harness.lm.gguf import convert_gguf

        convert_gguf(src, EMBEDDED_GGUF, target)
    return target


def model_folder(info: ModelInfo) -> str:
    """Where to read the (base) weights from: a folder, or the hub id."""
    if info.base == EMBEDDED_DEFAULT:
        return str(embedded_default_folder())
    return info.path or info.base


def load_model(spec: str, base: str | None = None, device: str = "auto", dtype: str = "auto",
               info: ModelInfo | None = None) -> "LanguageModel":
    """Load a model spec (see module docstring) onto the chosen device, in eval mode, behind the model
    interface (:mod:`harness.lm`); ``info``: the spec already resolved by :func:`describe_spec` (so an
    adapter is not hashed twice)."""
    info = info or describe_spec(spec, base)
    dev = pick_device(device)
    return load_hf(info, model_folder(info), dev, pick_dtype(dtype, dev))


def resolved_dtype(device: str = "auto", dtype: str = "auto") -> str:
    """The name (``float32``, ``bfloat16``, ...) of the dtype :func:`load_model` gives ``dtype`` on ``device`` on
    this machine (``auto`` resolved), known before any weights are read."""
    return dtype_name(pick_dtype(dtype, pick_device(device)))


def with_adapter(base: "LanguageModel", info: ModelInfo) -> "LanguageModel":
    """The adapter ``info`` (a described adapter spec) on an already loaded base model, without loading
    the base again. The base's module is changed in place (peft injects the adapter's layers): use
    ``base`` for nothing else afterwards."""
    assert info.kind == "adapter" and info.base_id == base.info.id, "an adapter of this very base model"
    return adapter_on_loaded(base, info)
