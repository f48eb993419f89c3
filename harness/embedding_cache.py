"""Each distinct text embedded once per model run and layer (:class:`EmbeddingCache`), whichever tasks ask: the
cache above the model interface, so that the embedding protocol (:mod:`harness.embedding`) stays below it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from harness.embedding import EmbeddingProtocol, protocol_record

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel


class EmbeddingCache:
    """Each distinct text is embedded once per model run and layer, whichever tasks ask for it."""

    def __init__(self, lm: "LanguageModel", protocol: EmbeddingProtocol, max_batch_tokens: int | None = None) -> None:
        self.lm, self.protocol, self.max_batch_tokens = lm, protocol, max_batch_tokens
        self._vectors: dict[tuple[int, str], np.ndarray] = {}
        self.embedded = 0  # how many texts were actually run through the model

    def describe(self) -> dict[str, Any]:
        return protocol_record(self.lm.tokenizer, self.protocol)

    def get(self, texts: Iterable[str], layers: tuple[int, ...] | None = None) -> np.ndarray:
        """Vectors of the protocol's layer, shape ``(n, d)``; with ``layers``, shape ``(len(layers), n, d)``,
        every missing text run once for all of them."""
        texts = list(texts)
        wanted = (self.protocol.layer,) if layers is None else tuple(layers)
        missing = sorted({t for t in texts for layer in wanted if (layer, t) not in self._vectors})
        if missing:
            vecs = self.lm.embed_layers(missing, self.protocol, wanted, self.max_batch_tokens)
            for slot, layer in enumerate(wanted):
                self._vectors.update(((layer, t), v) for t, v in zip(missing, vecs[slot]))
            self.embedded += len(missing)
        out = np.stack([np.stack([self._vectors[(layer, t)] for t in texts]) for layer in wanted])
        return out[0] if layers is None else out
