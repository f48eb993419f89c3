"""Corpora streamed from the Hugging Face hub with ``datasets`` (``c4``, ``openwebtext``): a document is a
row; rows are read until ``max_sequences`` sequences are collected. Needs internet: offline runs
(``HF_HUB_OFFLINE``, ``HF_DATASETS_OFFLINE``, ``HARNESS_OFFLINE``) get a one-line user error.
"""

from __future__ import annotations

from typing import Iterator

from harness.errors import UserError
from harness.paths import env_true, offline

STREAMED = {"c4": ("allenai/c4", "en"), "openwebtext": ("Skylion007/openwebtext", None)}


def stream_documents(name: str) -> Iterator[str]:
    """The documents (rows) of streamed corpus ``name``; offline or unreachable is a UserError."""
    repo, config = STREAMED[name]
    if offline() or env_true("HF_DATASETS_OFFLINE"):
        raise UserError(f"corpus {name} streams {repo} from the Hugging Face hub, but this run is offline "
                        f"(unset HF_HUB_OFFLINE/HF_DATASETS_OFFLINE, or pass a .txt/.jsonl file)")
    try:
        from datasets import load_dataset

        ds = load_dataset(repo, config, split="train", streaming=True)
        for row in ds:
            yield row["text"]
    except UserError:
        raise
    except Exception as exc:  # network, hub or format errors all mean: the corpus cannot be read
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot stream corpus {name} ({repo}): {first}") from None


def streamed_texts(name: str, lo: int, hi: int, max_sequences: int) -> tuple[list[str], list[int], list[bool]]:
    """Distinct sequences of the first rows of corpus ``name`` until ``max_sequences``, with their row index
    and whether each is its whole row (one piece of ``lo < len < hi`` characters, not cut)."""
    from tqdm import tqdm

    from harness.sequence_cutting import split_document

    seen: set[str] = set()
    texts: list[str] = []
    documents: list[int] = []
    whole: list[bool] = []
    with tqdm(total=max_sequences, desc=f"stream {name}", disable=None, leave=False) as bar:
        for d, doc in enumerate(stream_documents(name)):
            pieces = split_document(doc, lo, hi)
            for s in pieces:
                if s not in seen:
                    seen.add(s)
                    texts.append(s)
                    documents.append(d)
                    whole.append(pieces == [doc.strip()])
                    bar.update(1)
            if len(texts) >= max_sequences:
                break
    return texts[:max_sequences], documents[:max_sequences], whole[:max_sequences]
