"""Loading Hugging Face weights: the only module that names transformers' model classes.

- :func:`model_config`: a folder's config.json as transformers reads it (a model type it does not know, or one
  that asks to run the folder's own code, a user error);
- :func:`pick_device` / :func:`pick_dtype`: ``--device`` / ``--dtype`` as torch objects, one this machine
  lacks (CUDA on a CPU-only torch, bfloat16 on a GPU without it) a user error before any weights are read;
  :func:`check_weight_files`: safetensors files complete (a truncated copy is one line, not a traceback);
- :func:`load_hf`: a resolved spec (:class:`~harness.models.ModelInfo`) -> :class:`~harness.lm.hf.HFModel`
  (sentence encoder) or :class:`~harness.lm.hf_causal.HFCausalLM` (causal LM, with its peft adapter);
- :func:`attach_adapter` / :func:`adapter_on_loaded` / :func:`wrap_lora`: peft wrappers, for evaluation
  (on fresh weights or on a base already loaded) and for training;
- :func:`linear_layer_sizes`: the model's linear layers built on the meta device (no weights read);
- :func:`loading_bars`: transformers' progress bars only for checkpoints large enough to need them.

peft 0.21 reads transformers 5's deprecated ``is_gradient_checkpointing`` alias whenever it wraps a model
(``PeftModel.__init__``: ``getattr(model, "is_gradient_checkpointing", True)``), and the alias warns on every
read. Nothing of ours reads it and no argument steers peft's read, so :func:`_peft_wrapping` defines the alias
as transformers does (``is_activation_checkpointing``), without the warning, before peft first wraps a model;
every later read in the process (peft's, lm-eval's ``HFLM(peft=...)``) is then silent. Once transformers drops
the alias, nothing is defined and peft's default applies.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from harness.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.hf import HFModel
    from harness.models import ModelInfo


LOADING_BAR_BYTES = 1 << 30
"""Weight files larger than this (in all) show transformers' loading bars ("Loading weights", and the GGUF
conversion's). A smaller checkpoint loads in about a second on a CPU (the embedded default's 0.54 GB of
float32 safetensors: "Loading weights" 0.01 s, its one-time conversion 1.4 s of dequantising and 0.7 s of
writing), so its bars, printed at every load (twice in ``train-and-eval``: the concept-building child loads
too), tell nothing; a 7B checkpoint (14 GB in bfloat16) takes a minute or more, which a bar should show."""


def weight_bytes(source: str | Path) -> int | None:
    """The size of the weight files transformers reads from folder ``source`` (its ``*.safetensors``, else
    its ``*.bin``/``*.gguf``); None for a hub id, whose size is not known before the download."""
    folder = Path(source)
    if not folder.is_dir():
        return None
    files = list(folder.glob("*.safetensors")) or [*folder.glob("*.bin"), *folder.glob("*.gguf")]
    return sum(p.stat().st_size for p in files)


@contextlib.contextmanager
def loading_bars(nbytes: int | None) -> Iterator[bool]:
    """transformers' progress bars for a load of ``nbytes`` of weights: kept when the size is unknown or above
    :data:`LOADING_BAR_BYTES`, turned off for the load otherwise and turned back on after it (only when they
    were on: ``HF_HUB_DISABLE_PROGRESS_BARS`` or a caller's ``disable_progress_bar()`` stays in force).
    Yields whether the bars are shown."""
    from transformers.utils import logging as hf_logging

    if nbytes is None or nbytes > LOADING_BAR_BYTES or not hf_logging.is_progress_bar_enabled():
        yield hf_logging.is_progress_bar_enabled()
        return
    hf_logging.disable_progress_bar()
    try:
        yield False
    finally:
        hf_logging.enable_progress_bar()


def load_hf(info: "ModelInfo", source: str, device: Any, dtype: Any) -> "HFModel":
    """Weights from ``source`` (folder or hub id) onto ``device`` in ``dtype``, in eval mode; weight files
    cut short are reported before any is read (:func:`check_weight_files`)."""
    from harness.lm.hf import HFModel
    from harness.lm.hf_causal import HFCausalLM
    from harness.lm.tokenizer import load_tokenizer

    if Path(source).is_dir():
        model_config(source)
    check_weight_files(source)
    check_weight_files(info.adapter_path)
    try:
        with loading_bars(weight_bytes(source)):
            if info.kind == "encoder":
                from transformers import AutoModel

                module, cls = AutoModel.from_pretrained(source, dtype=dtype), HFModel
            else:
                from transformers import AutoModelForCausalLM

                module, cls = AutoModelForCausalLM.from_pretrained(source, dtype=dtype), HFCausalLM
        tokenizer = load_tokenizer(source)
    except OSError as exc:
        raise UserError(f"cannot load model {info.spec}: {str(exc).splitlines()[0]}") from None
    if info.kind == "adapter":
        module = attach_adapter(module, info.adapter_path, info.base)
    module.to(device).eval()
    return cls(info, module, tokenizer, device=device, dtype=dtype)


def adapter_on_loaded(base: "HFModel", info: "ModelInfo") -> "HFModel":
    """``base`` (whose module is changed in place) wrapped with the adapter of ``info``, same class and device."""
    check_weight_files(info.adapter_path)
    module = attach_adapter(base.module, info.adapter_path, info.base)
    module.to(base.device).eval()
    return type(base)(info, module, base.tokenizer, device=base.device, dtype=base.dtype,
                      max_batch_tokens=base.max_batch_tokens)


def pick_device(device: str = "auto"):
    """The torch device ``device`` names; one that this machine or this torch build lacks is a user error,
    raised before any weights are read."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from harness.models import DEVICES

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r} (choose {DEVICES})") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise UserError(f"--device {device}: no CUDA device is available (torch {torch.__version__}, {build}); "
                            f"use --device cpu")
        if (dev.index or 0) >= torch.cuda.device_count():
            raise UserError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {device}: MPS is not available here; use --device cpu")
    return dev


def pick_dtype(name: str, device) -> Any:
    """``auto`` = bfloat16 on a GPU that supports it, float32 otherwise; bfloat16 on a GPU without it is a
    user error."""
    import torch

    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if name not in table:
        raise UserError(f"unknown dtype {name!r} (choose auto, float32, bfloat16, float16)")
    if table[name] is torch.bfloat16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError(f"--dtype {name}: {torch.cuda.get_device_name(device)} does not support bfloat16; "
                        f"use float16 or float32")
    return table[name]


def model_config(source: str) -> Any:
    """transformers' config of the model at ``source`` (folder or hub id); a ``config.json`` it cannot read (no
    or an unknown ``model_type``, code of the folder's own to run) is a one-line user error, read before weights."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=False)  # refused, never asked on the terminal
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"cannot load model {source}: {_config_problem(source, exc)}") from None


def _config_problem(source: str, exc: Exception) -> str:
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    from harness.models import read_json_object

    path = Path(source) / "config.json"
    if not path.is_file():  # a hub id: what the hub client said
        return _first_line(exc)
    cfg = read_json_object(path)
    kind = cfg.get("model_type")
    if cfg.get("auto_map"):
        return f"{path} asks to run code from the model folder (auto_map), which the harness never does"
    if not kind:
        return f"{path} names no model_type"
    if kind not in CONFIG_MAPPING_NAMES:
        return (f"{path} names model type {kind!r}, which transformers {transformers.__version__} does not know "
                f"(a newer architecture? upgrade transformers)")
    return _first_line(exc)


def check_weight_files(folder: str | Path | None) -> None:
    """Every ``*.safetensors`` file of ``folder`` is whole: its header (an 8-byte little-endian length, then
    JSON giving each tensor's byte range) says how long the file must be, so a file cut short (an
    interrupted copy or download) is a one-line user error before any loading starts."""
    if not folder or not Path(folder).is_dir():
        return  # a hub id: the hub client checks its own downloads
    for path in sorted(Path(folder).glob("*.safetensors")):
        size = path.stat().st_size
        try:
            with open(path, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(n)) if 8 + n <= size else None
            need = 8 + n + max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"),
                               default=0)
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise UserError(f"{path} is damaged or truncated (its header cannot be read): copy it again") from None
        if size < need:
            raise UserError(f"{path} is truncated ({size} of {need} bytes): copy or download it again")


@contextlib.contextmanager
def _peft_wrapping() -> Iterator[None]:
    """Around peft's wrapping calls: transformers' deprecated alias, which peft reads, defined without its
    warning (module docstring)."""
    from transformers import PreTrainedModel

    alias = PreTrainedModel.__dict__.get("is_gradient_checkpointing")
    if isinstance(alias, property) and alias.fget is not _is_activation_checkpointing:
        PreTrainedModel.is_gradient_checkpointing = property(_is_activation_checkpointing, doc=alias.__doc__)
    yield


def _is_activation_checkpointing(model: Any) -> bool:
    return model.is_activation_checkpointing


def attach_adapter(module: Any, adapter_path: str | None, base_spec: str) -> Any:
    """Wrap ``module`` with the peft adapter; an adapter that does not fit the base is a user error."""
    from peft import PeftModel

    try:
        with _peft_wrapping():
            return PeftModel.from_pretrained(module, adapter_path, is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise UserError(f"adapter {adapter_path} does not fit base model {base_spec}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def wrap_lora(module: Any, config: Any) -> Any:
    """``module`` wrapped by ``peft.get_peft_model`` with the ``LoraConfig`` ``config`` (for training)."""
    from peft import get_peft_model

    with _peft_wrapping():
        return get_peft_model(module, config)


def unwrap_lora(model: Any) -> Any:
    """The module :func:`wrap_lora` wrapped, as it was before training: LoRA layers removed (not merged: the
    base weights are untouched), activation checkpointing and the input-gradient hook the trainer added
    switched off, in eval mode. So a base model trained in place serves as the base again."""
    base = model.unload()
    if getattr(base, "is_activation_checkpointing", False):
        base.activation_checkpointing_disable()
    base.disable_input_require_grads()
    return base.eval()


def linear_layer_sizes(source: str) -> list[tuple[str, int, int]]:
    """(module name, in features, out features) of every ``torch.nn.Linear`` of the causal LM at ``source``,
    read from a model built on the meta device (no weights read, no memory used)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(model_config(source))
    return [(name, m.in_features, m.out_features) for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear)]
