"""Batching by length and padding: the one place that decides how token rows become tensors.

:func:`length_batches` sorts rows longest first and packs consecutive rows into batches of at
most ``max_batch_tokens`` padded tokens (``rows × width``, width = the batch's longest row) and
at most ``max_padding`` of them padding. The padding bound is what keeps a forward pass close
to a plain unpadded forward over the same tokens: on the first 24 wiki held-out sequences
(``bench/lm_tasks.py``, 2 CPU cores) 4,096-token batches without it spent 41% of their compute
on padding; bounds of 10% and 5% left 8% and 3% and ran at 0.77x and 0.83x the speed of one
dense unpadded batch of the same tokens (smaller batches cost little on a CPU; on a GPU a
larger ``max_batch_tokens`` fills the device). A row alone in its batch has no padding, so
every row fits somewhere.

:func:`pad_rows` right-pads (or left-pads, for generation: every prompt ends where new tokens
start) rows into ``(input_ids, attention_mask)``.
"""

from __future__ import annotations

from typing import Sequence

MAX_BATCH_TOKENS = 4096  # padded tokens per forward batch (the --max-batch-tokens default)
MAX_PADDING = 0.05  # share of a batch's padded tokens that may be padding
MAX_BATCH_ROWS = 256


def length_batches(lengths: Sequence[int], max_batch_tokens: int = MAX_BATCH_TOKENS,
                   max_batch_size: int = MAX_BATCH_ROWS, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Indices grouped into batches, longest first (ties in index order).

    A row joins the current batch while ``(rows + 1) · width <= max_batch_tokens``, the batch holds
    fewer than ``max_batch_size`` rows and padding stays within ``max_padding · (rows + 1) · width``;
    otherwise it starts the next batch."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    real = 0
    for i in order:
        if cur:
            width = lengths[cur[0]]  # the longest row of the batch comes first
            padded = (len(cur) + 1) * width
            if (padded > max_batch_tokens or len(cur) >= max_batch_size
                    or padded - real - lengths[i] > max_padding * padded):
                batches.append(cur)
                cur, real = [], 0
        cur.append(i)
        real += lengths[i]
    if cur:
        batches.append(cur)
    return batches


def pad_rows(rows: Sequence[Sequence[int]], pad_id: int, side: str = "right"):
    """``(input_ids, attention_mask)``, both long tensors of shape (len(rows), longest row)."""
    import torch

    assert side in ("right", "left"), f"padding side must be right or left, not {side!r}"
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        span = slice(0, len(row)) if side == "right" else slice(width - len(row), width)
        ids[r, span] = torch.tensor(list(row), dtype=torch.long)
        mask[r, span] = 1
    return ids, mask
