"""Text embeddings from hidden states, the protocol of the paper's section 4.1.

vector(text) = normalise( Σ_i m_i · h_i^(L) / Σ_i m_i ), with h^(L) the hidden states of
layer L (default: the final layer, after the final norm) and m_i = 1 on the text's real
tokens, 0 on padding (and on a BOS token added only as context). Cosine of two such
unit vectors is their dot product.

BOS handling (``bos``), for tokenizers that add no BOS of their own (SmolLM2's adds none):
- ``native``: tokenise as the tokenizer does by default;
- ``add``: prepend the BOS token and pool over it too (what a Llama tokenizer would do);
- ``context``: prepend the BOS token as context but leave it out of the pool.
A tokenizer that already adds a BOS gets no second one.

Texts are sorted by length and packed into batches of at most ``max_batch_tokens``
padded tokens, so little compute is spent on padding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Iterable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from harness.models import LoadedModel


@dataclass(frozen=True)
class EmbeddingProtocol:
    layer: int = -1  # index into hidden_states; -1 = final layer
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


def length_batches(lengths: list[int], max_batch_tokens: int, max_batch_size: int = 256) -> list[list[int]]:
    """Indices grouped into batches, longest first, each at most ``max_batch_tokens`` padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches, cur = [], []
    for i in order:
        width = lengths[cur[0]] if cur else lengths[i]  # longest of the batch comes first
        if cur and ((len(cur) + 1) * width > max_batch_tokens or len(cur) >= max_batch_size):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def embed_texts(lm: "LoadedModel", texts: list[str], protocol: EmbeddingProtocol,
                max_batch_tokens: int = 4096, progress: bool = True) -> np.ndarray:
    """Pooled (and, per protocol, L2-normalised) float32 vectors, one row per text, in input order."""
    import torch
    from tqdm import tqdm

    rows = token_rows(lm.tokenizer, texts, protocol)
    pad = lm.tokenizer.pad_token_id
    out: np.ndarray | None = None
    batches = length_batches([len(r[0]) for r in rows], max_batch_tokens)
    backbone = lm.backbone
    with torch.inference_mode():
        for batch in tqdm(batches, desc=f"embed {len(texts)} texts", disable=None if progress else True, leave=False):
            width = max(len(rows[i][0]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            attn = torch.zeros((len(batch), width), dtype=torch.long)
            pool = torch.zeros((len(batch), width), dtype=torch.float32)
            for r, i in enumerate(batch):
                tid, pm = rows[i]
                ids[r, : len(tid)] = torch.tensor(tid)
                attn[r, : len(tid)] = 1
                pool[r, : len(tid)] = torch.tensor(pm, dtype=torch.float32)
            hidden = hidden_states(lm, ids.to(lm.device), attn.to(lm.device), protocol.layer)
            vecs = mean_pool(hidden.float(), pool.to(lm.device))
            if protocol.normalize:
                vecs = torch.nn.functional.normalize(vecs, dim=-1)
            vecs = vecs.cpu().numpy()
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[batch] = vecs
    assert out is not None, "no texts to embed"
    return out


def hidden_states(lm: "LoadedModel", input_ids, attention_mask, layer: int):
    """Hidden states of ``layer`` (index into the model's hidden_states tuple) for a right-padded batch."""
    out = lm.backbone(input_ids=input_ids, attention_mask=attention_mask,
                      output_hidden_states=layer != -1, return_dict=True)
    if layer == -1:
        return out.last_hidden_state
    return out.hidden_states[layer]


def mean_pool(hidden, mask):
    """Σ_i m_i h_i / Σ_i m_i over the sequence axis; ``mask`` is (batch, seq) of 0/1 weights."""
    weights = mask.unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


class EmbeddingCache:
    """Each distinct text is embedded once per model run, whichever tasks ask for it."""

    def __init__(self, lm: "LoadedModel", protocol: EmbeddingProtocol, max_batch_tokens: int = 4096) -> None:
        self.lm, self.protocol, self.max_batch_tokens = lm, protocol, max_batch_tokens
        self._vectors: dict[str, np.ndarray] = {}
        self.embedded = 0  # how many texts were actually run through the model

    def get(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            vecs = embed_texts(self.lm, missing, self.protocol, self.max_batch_tokens)
            self._vectors.update(zip(missing, vecs))
            self.embedded += len(missing)
        return np.stack([self._vectors[t] for t in texts])
