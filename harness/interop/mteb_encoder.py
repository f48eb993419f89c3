"""An MTEB encoder over the model interface: MTEB's ``encode`` answered by :meth:`LanguageModel.embed`.

Every text is embedded with exactly the run's :class:`~harness.embedding.EmbeddingProtocol` (layer, pooling,
context token, template): the vectors MTEB scores are the vectors our own similarity tasks score, so an
MTEB STS task on this encoder and our pair task on the same pairs give the same Spearman ρ. MTEB's
instruction prompts are not applied (``prompt_type`` is ignored): a prompt is part of our protocol
(``--template``), never chosen per task behind the user's back. Similarity is the cosine, as in our tasks.

``HarnessEncoder.load(spec)`` loads any model spec, adapters included (their base from
``adapter_config.json``, as ``harness eval`` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from harness.embedding import EmbeddingProtocol
    from harness.lm.interface import LanguageModel


class HarnessEncoder:
    """MTEB's ``EncoderProtocol`` for one loaded harness model and one embedding protocol."""

    def __init__(self, lm: "LanguageModel", protocol: "EmbeddingProtocol | None" = None,
                 max_batch_tokens: int | None = None) -> None:
        from harness.embedding import EmbeddingProtocol
        from mteb.models import ModelMeta

        self.lm = lm
        self.protocol = protocol or EmbeddingProtocol.of(-1, "context", None, None)
        self.max_batch_tokens = max_batch_tokens
        self.mteb_model_meta = ModelMeta.create_empty(overwrites={
            "name": f"harness/{lm.info.id}", "revision": lm.info.adapter_hash or "none",
            "similarity_fn_name": "cosine", "framework": ["PyTorch"]})

    @classmethod
    def load(cls, spec: str, base: str | None = None, device: str = "auto", dtype: str = "auto",
             protocol: "EmbeddingProtocol | None" = None) -> "HarnessEncoder":
        from harness.lm.load import load_model

        return cls(load_model(spec, base=base, device=device, dtype=dtype), protocol)

    def encode(self, inputs: Any, *, task_metadata: Any = None, hf_split: str = "", hf_subset: str = "",
               prompt_type: Any = None, **kwargs: Any) -> np.ndarray:
        """One float32 row per text of MTEB's data loader (batches of ``{"text": [...]}``), in order."""
        texts = [t for batch in inputs for t in batch["text"]]
        return self.lm.embed(texts, self.protocol, max_batch_tokens=self.max_batch_tokens, progress=False)

    def similarity(self, a: Any, b: Any) -> Any:
        """cos(a_i, b_j) for every pair of rows."""
        import torch

        a, b = _unit(a), _unit(b)
        return torch.from_numpy(a @ b.T)

    def similarity_pairwise(self, a: Any, b: Any) -> Any:
        """cos(a_i, b_i) row by row."""
        import torch

        return torch.from_numpy((_unit(a) * _unit(b)).sum(axis=1))


def _unit(x: Any) -> np.ndarray:
    x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)
