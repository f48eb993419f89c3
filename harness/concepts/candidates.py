"""Candidate pools: the base model's top-k next tokens at each content-word position.

For a content word at index ``p`` of ``input_ids`` the candidates are the ``k`` most likely
tokens of ``p(· | input_ids[:p])``: the logits at position ``p − 1``. One forward pass per batch
of sequences gives all of them: sequences are sorted by length and packed so a batch holds at
most ``max_batch_tokens`` padded tokens (right padding, attention mask); only the hidden states
at the needed positions go through the LM head, so no ``batch × length × vocab`` logits tensor
is built.

Selectors see only *whole-word alphabetic* candidates: decoded tokens made of one leading space
and letters (``" surf"``), the shape of a content word; the original word itself, in any letter case, is
left out (the original token is always in T*; `` Browse`` is no synonym of `` browse``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class SelectionQuery:
    """One content word in context and its candidate pool, as a selector sees it."""

    text: str
    word: str
    pos: str  # spaCy universal POS: NOUN, VERB or ADJ
    start: int  # character span of the word in ``text``
    end: int
    token_id: int
    candidates: list[str]  # whole-word alphabetic candidates, most likely first, without leading space
    candidate_ids: list[int] = field(default_factory=list)


@dataclass
class SelectorContext:
    """What a selector factory may use: the base model, spaCy, and the build's selector options."""

    model: Any  # harness.models.LoadedModel (the base model the candidates come from)
    nlp: Any = None
    judge: str | None = None
    hypernyms: bool = False
    threshold: float = 0.75
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 8


class WholeWordVocab:
    """Memoised ``token id -> word`` for whole-word alphabetic tokens (None for any other token)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._memo: dict[int, str | None] = {}

    def word(self, token_id: int) -> str | None:
        if token_id not in self._memo:
            text = self.tokenizer.decode([token_id])
            body = text[1:]
            self._memo[token_id] = body if text.startswith(" ") and body.isalpha() else None
        return self._memo[token_id]

    def pool(self, candidate_ids: Sequence[int], target: str) -> tuple[list[str], list[int]]:
        """Whole-word alphabetic candidates, leaving out the target word in any letter case."""
        words, ids = [], []
        skip = target.casefold()
        for tid in candidate_ids:
            w = self.word(int(tid))
            if w is not None and w.casefold() != skip:
                words.append(w)
                ids.append(int(tid))
        return words, ids


def topk_candidates(loaded: Any, sequences: Sequence[Sequence[int]], positions: Sequence[Sequence[int]],
                    k: int = 200, max_batch_tokens: int = 4096) -> list[list[list[int]]]:
    """``out[s][j]`` = the ``k`` most likely next-token ids (descending) before ``positions[s][j]``
    of ``sequences[s]``; every position must be >= 1."""
    import torch

    from harness.embedding import length_batches

    out: list[list[list[int]]] = [[[] for _ in pos] for pos in positions]
    need = [s for s in range(len(sequences)) if positions[s]]
    if not need:
        return out
    head = loaded.model.get_output_embeddings()
    backbone = loaded.backbone
    pad = loaded.tokenizer.pad_token_id or 0
    k = min(k, head.weight.shape[0])
    for batch in length_batches([len(sequences[s]) for s in need], max_batch_tokens):
        idx = [need[b] for b in batch]
        width = max(len(sequences[s]) for s in idx)
        ids = torch.full((len(idx), width), pad, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, s in enumerate(idx):
            ids[r, : len(sequences[s])] = torch.tensor(list(sequences[s]), dtype=torch.long)
            mask[r, : len(sequences[s])] = 1
        rows = [r for r, s in enumerate(idx) for _ in positions[s]]
        cols = [p - 1 for s in idx for p in positions[s]]
        if min(cols) < 0:
            raise ValueError("a content-word position must be >= 1 (it is predicted from its prefix)")
        with torch.inference_mode():
            hidden = backbone(input_ids=ids.to(loaded.device), attention_mask=mask.to(loaded.device)).last_hidden_state
            logits = head(hidden[torch.tensor(rows), torch.tensor(cols)]).float()
            top = torch.topk(logits, k, dim=-1).indices.cpu().tolist()
        n = 0
        for s in idx:
            for j in range(len(positions[s])):
                out[s][j] = top[n]
                n += 1
    return out
