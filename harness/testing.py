"""What a plugin author needs to test a plugin in-process, shipped with the package (as MTEB ships its mock
tasks): a tiny random causal LM behind the model interface, fixture files, and registries a test may add to
and leave as it found them.

- :func:`tiny_llama_model`: a seeded random ``LlamaForCausalLM`` (2 layers, hidden size 32) for any vocabulary;
- :func:`tiny_lm`: it (or any module) behind :class:`~harness.lm.hf_causal.HFCausalLM`, what a task's ``run`` gets;
- :func:`embedded_tokenizer`: the embedded default's tokenizer (converted once per cache, no network);
- :func:`write_data_file`, :func:`write_corpus`: a task's benchmark file laid out as ``--data-dir`` expects, and a
  small plain-English corpus;
- :func:`isolated_registries`: plugins registered inside the block are gone after it.

Never imported by the engine (``harness list`` stays fast); torch and transformers are imported inside the
functions that need them.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from harness.data import DataFile


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


def embedded_tokenizer():
    """The tokenizer of the embedded default model (SmolLM2), from the packaged assets (no network)."""
    from harness.lm.load import embedded_default_folder
    from harness.lm.tokenizer import load_tokenizer

    return load_tokenizer(str(embedded_default_folder()))


def write_data_file(folder: Path, data_file: DataFile, text: str) -> Path:
    """``text`` as ``data_file`` under ``folder``, laid out like ``shared/data`` (pass ``folder`` as
    ``--data-dir`` / ``EvalOptions(data_dir=...)``); returns ``folder``."""
    path = Path(folder) / data_file.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Path(folder)


def write_corpus(path: Path, documents: int = 12) -> Path:
    """A .txt corpus of ``documents`` paragraphs of plain English sentences (content words in each)."""
    paragraphs = [f"The old farmer {k} walked across the green field to the river. He carried a heavy basket of "
                  f"fresh apples and sold them at the busy market before the evening rain." for k in range(documents)]
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


@contextmanager
def isolated_registries() -> Iterator[None]:
    """Every registry (tasks, objectives, aggregations, selectors) as it was before the block, after it: a
    test's plugins do not leak into the next test. Built-in plugins are discovered first, so the block
    starts from the full set."""
    from harness.plugins import load_plugins
    from harness.registry import REGISTRIES

    load_plugins()
    saved = {kind: dict(registry._items) for kind, registry in REGISTRIES.items()}  # noqa: SLF001 - ours to restore
    try:
        yield
    finally:
        for kind, registry in list(REGISTRIES.items()):
            registry._items.clear()  # noqa: SLF001
            registry._items.update(saved.get(kind, {}))  # noqa: SLF001
