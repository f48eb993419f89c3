"""The embedding protocol of the paper's section 4.1, and the per-run cache of embedded texts.

The model interface computes the vectors (:meth:`harness.lm.interface.LanguageModel.embed`);
this module says what they are:

vector(text) = normalise( Σ_i m_i · h_i^(L) / Σ_i m_i ), with h^(L) the hidden states of
layer L (default: the final layer, after the final norm) and m_i = 1 on the text's real
tokens, 0 on padding (and on a BOS token added only as context). Cosine of two such
unit vectors is their dot product.

BOS handling (``bos``), for tokenizers that add no BOS of their own (SmolLM2's adds none):
- ``native``: tokenise as the tokenizer does by default;
- ``add``: prepend the BOS token and pool over it too (what a Llama tokenizer would do);
- ``context``: prepend the BOS token as context but leave it out of the pool.
A tokenizer that already adds a BOS gets no second one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Iterable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from harness.lm.interface import LanguageModel


@dataclass(frozen=True)
class EmbeddingProtocol:
    layer: int = -1  # index into the model's hidden states (0 = embeddings); -1 = final layer, after the final norm
    bos: str = "native"
    pooling: str = "mean"
    normalize: bool = True
    max_length: int = 512

    def to_dict(self) -> dict:
        return asdict(self)


def token_rows(tokenizer, texts: list[str], protocol: EmbeddingProtocol) -> list[tuple[list[int], list[int]]]:
    """Token ids and pooling mask for each text, with the protocol's BOS handling applied."""
    enc = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=protocol.max_length)["input_ids"]
    bos = tokenizer.bos_token_id
    rows = []
    for ids in enc:
        ids = list(ids)
        pool = [1] * len(ids)
        already = bos is not None and ids and ids[0] == bos
        if protocol.bos in ("add", "context") and bos is not None and not already:
            ids = [bos] + ids
            pool = [1 if protocol.bos == "add" else 0] + pool
        if not ids:
            raise ValueError("a text produced no tokens")
        rows.append((ids, pool))
    return rows


class EmbeddingCache:
    """Each distinct text is embedded once per model run, whichever tasks ask for it."""

    def __init__(self, lm: "LanguageModel", protocol: EmbeddingProtocol, max_batch_tokens: int | None = None) -> None:
        self.lm, self.protocol, self.max_batch_tokens = lm, protocol, max_batch_tokens
        self._vectors: dict[str, np.ndarray] = {}
        self.embedded = 0  # how many texts were actually run through the model

    def get(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            vecs = self.lm.embed(missing, self.protocol, self.max_batch_tokens)
            self._vectors.update(zip(missing, vecs))
            self.embedded += len(missing)
        return np.stack([self._vectors[t] for t in texts])
