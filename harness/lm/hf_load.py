"""Loading Hugging Face weights: the only module that names transformers' model classes.

- :func:`load_hf`: a resolved spec (:class:`~harness.models.ModelInfo`) -> :class:`~harness.lm.hf.HFModel`
  (sentence encoder) or :class:`~harness.lm.hf_causal.HFCausalLM` (causal LM, with its peft adapter);
- :func:`attach_adapter` / :func:`adapter_on_loaded` / :func:`wrap_lora`: peft wrappers, for evaluation
  (on fresh weights or on a base already loaded) and for training;
- :func:`linear_layer_sizes`: the model's linear layers built on the meta device (no weights read);
- :func:`convert_gguf`: a GGUF checkpoint -> an ordinary safetensors folder (the embedded default).

peft 0.21 reads transformers 5's deprecated ``is_gradient_checkpointing`` alias when it wraps a
model (``PeftModel.__init__``), which warns once per process; :func:`_peft_wrapping` silences exactly that
warning around our two wrapping calls, since no argument of ours reaches that read.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from harness.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.hf import HFModel
    from harness.models import ModelInfo


def load_hf(info: "ModelInfo", source: str, device: Any, dtype: Any) -> "HFModel":
    """Weights from ``source`` (folder or hub id) onto ``device`` in ``dtype``, in eval mode."""
    from harness.lm.hf import HFModel
    from harness.lm.hf_causal import HFCausalLM
    from harness.models import load_tokenizer

    try:
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
    module = attach_adapter(base.module, info.adapter_path, info.base)
    module.to(base.device).eval()
    return type(base)(info, module, base.tokenizer, device=base.device, dtype=base.dtype,
                      max_batch_tokens=base.max_batch_tokens)


@contextlib.contextmanager
def _peft_wrapping() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def attach_adapter(module: Any, adapter_path: str | None, base_spec: str) -> Any:
    """Wrap ``module`` with the peft adapter; an adapter that does not fit the base is a user error."""
    from peft import PeftModel

    try:
        with _peft_wrapping():
            return PeftModel.from_pretrained(module, adapter_path, is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"adapter {adapter_path} does not fit base model {base_spec}: {first}") from None


def wrap_lora(module: Any, config: Any) -> Any:
    """``module`` wrapped by ``peft.get_peft_model`` with the ``LoraConfig`` ``config`` (for training)."""
    from peft import get_peft_model

    with _peft_wrapping():
        return get_peft_model(module, config)


def linear_layer_sizes(source: str) -> list[tuple[str, int, int]]:
    """(module name, in features, out features) of every ``torch.nn.Linear`` of the causal LM at ``source``,
    read from a model built on the meta device (no weights read, no memory used)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(source))
    return [(name, m.in_features, m.out_features) for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear)]


def convert_gguf(src: Path, gguf_file: str, target: Path) -> None:
    """Dequantise a GGUF checkpoint and save it as an ordinary safetensors folder (atomically)."""
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
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.replace(tmp, target)
