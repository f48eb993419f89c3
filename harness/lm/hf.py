"""Hugging Face models behind :class:`~harness.lm.interface.LanguageModel`: any model with hidden states.

:class:`HFModel` embeds texts (sentence encoders, and the base of :class:`~harness.lm.hf_causal.HFCausalLM`);
``module`` is the ``torch.nn.Module`` (``AutoModel`` / ``AutoModelForCausalLM``, possibly wrapped in a
peft adapter), there for the trainer and for tests that check the interface against it; tasks never
touch it. Inputs go to ``device`` here, outputs come back as numpy arrays on the CPU.

Embedding (paper section 4.1): vector(text) = normalise( Σ_i m_i · h_i^(L) / Σ_i m_i ), with h^(L) the
hidden states of layer L (``-1``: the final layer, after the final norm) and m_i the protocol's pooling
weights (:func:`harness.embedding.token_rows`: mean, last token, echo's second copy; 0 on padding and on
a context token). Every requested layer comes out of one forward pass per batch.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from harness.lm.batching import MAX_BATCH_TOKENS, length_batches, pad_rows

if TYPE_CHECKING:  # pragma: no cover
    from harness.embedding import EmbeddingProtocol
    from harness.models import ModelInfo


class HFModel:
    """A loaded Hugging Face model that gives hidden states (an encoder, or a causal LM's transformer)."""

    capabilities: frozenset[str] = frozenset({"hidden_states"})

    def __init__(self, info: "ModelInfo", module: Any, tokenizer: Any, device: Any = None, dtype: Any = None,
                 max_batch_tokens: int = MAX_BATCH_TOKENS) -> None:
        first = next(module.parameters())
        self.info, self.module, self.tokenizer = info, module, tokenizer
        self.device = device if device is not None else first.device
        self.dtype = dtype if dtype is not None else first.dtype
        self.max_batch_tokens = max_batch_tokens  # the default batch budget of every request method
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @property
    def backbone(self) -> Any:
        """The transformer without its head (computing logits only to pool hidden states is waste)."""
        inner = self.module.get_base_model() if hasattr(self.module, "get_base_model") else self.module
        return getattr(inner, inner.base_model_prefix, inner)

    @functools.cached_property
    def cache_kwarg(self) -> str:
        """The name the backbone's forward takes a KV cache by: ``cache`` (transformers ≥ 5.24 deprecates
        ``past_key_values`` and warns on every call) or ``past_key_values`` (older versions, unrenamed models)."""
        return "cache" if "cache" in inspect.signature(self.backbone.forward).parameters else "past_key_values"

    def _budget(self, max_batch_tokens: int | None) -> int:
        return max_batch_tokens or self.max_batch_tokens

    def _forward(self, rows: Sequence[Sequence[int]], side: str = "right", **kwargs: Any):
        """The backbone's output on padded ``rows``, and their attention mask (on the device)."""
        ids, mask = pad_rows(rows, self.pad_id, side)
        mask = mask.to(self.device)
        out = self.backbone(input_ids=ids.to(self.device), attention_mask=mask, return_dict=True, **kwargs)
        return out, mask

    @staticmethod
    def layers_of(out: Any, layers: tuple[int, ...]) -> list[Any]:
        """The hidden states of ``layers`` (indices into the model's hidden-state tuple; ``-1`` is the final
        layer after the final norm, the backbone's ``last_hidden_state``)."""
        return [out.last_hidden_state if layer == -1 else out.hidden_states[layer] for layer in layers]

    @property
    def num_layers(self) -> int:
        """Transformer layers: the hidden states are numbered 0 (embeddings) … ``num_layers`` (final)."""
        return int(self.backbone.config.num_hidden_layers)

    @staticmethod
    def wants_all_layers(layers: tuple[int, ...]) -> bool:
        return any(layer != -1 for layer in layers)

    def embed(self, texts: Sequence[str], protocol: "EmbeddingProtocol", max_batch_tokens: int | None = None,
              progress: bool = True) -> np.ndarray:
        """Pooled (and, per protocol, L2-normalised) float32 vectors, one row per text, in input order."""
        return self.embed_layers(texts, protocol, (protocol.layer,), max_batch_tokens, progress)[0]

    def embed_layers(self, texts: Sequence[str], protocol: "EmbeddingProtocol", layers: tuple[int, ...],
                     max_batch_tokens: int | None = None, progress: bool = True) -> np.ndarray:
        """``out[l]``: :meth:`embed` with the protocol's layer replaced by ``layers[l]``, all from one pass."""
        import torch
        from tqdm import tqdm

        from harness.embedding import token_rows

        assert texts, "no texts to embed"
        rows = token_rows(self.tokenizer, list(texts), protocol)
        out: np.ndarray | None = None
        batches = length_batches([len(ids) for ids, _ in rows], self._budget(max_batch_tokens))
        with torch.inference_mode():
            for batch in tqdm(batches, desc=f"embed {len(texts)} texts", disable=None if progress else True,
                              leave=False):
                result, _ = self._forward([rows[i][0] for i in batch],
                                          output_hidden_states=self.wants_all_layers(layers))
                pool = torch.zeros(result.last_hidden_state.shape[:2], dtype=torch.float32)
                for r, i in enumerate(batch):
                    pool[r, : len(rows[i][1])] = torch.tensor(rows[i][1], dtype=torch.float32)
                pool = pool.to(self.device)
                for slot, hidden in enumerate(self.layers_of(result, layers)):
                    vecs = mean_pool(hidden.float(), pool)
                    if protocol.normalize:
                        vecs = torch.nn.functional.normalize(vecs, dim=-1)
                    if out is None:
                        out = np.zeros((len(layers), len(texts), vecs.shape[1]), dtype=np.float32)
                    out[slot, batch] = vecs.cpu().numpy()
        assert out is not None
        return out

    def input_embeddings(self) -> np.ndarray:
        """The input embedding matrix as float32 (a view of the weights when they are float32 on the CPU)."""
        weight = self.module.get_input_embeddings().weight.detach()
        return weight.float().cpu().numpy()


def mean_pool(hidden, mask):
    """Σ_i m_i h_i / Σ_i m_i over the sequence axis; ``mask`` is (batch, seq) of 0/1 weights."""
    weights = mask.unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
