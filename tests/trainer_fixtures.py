"""Shared by the trainer tests: a tiny random Llama saved as a model folder (with the real SmolLM2
tokenizer) and a concept file of equal-length random sequences written with the real writer."""

from __future__ import annotations

import random
from pathlib import Path

SEQ_LEN = 24
TARGETS_PER_SEQ = 4


def write_tiny_model(folder: Path, tokenizer, seed: int = 0) -> Path:
    from harness.testing import tiny_llama_model

    model = tiny_llama_model(len(tokenizer), seed=seed)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_concept_file(path: Path, tokenizer, n_seq: int = 4, seed: int = 0, header_extra: dict | None = None,
                       texts: list[str] | None = None, drop: tuple[str, ...] = ()) -> Path:
    """``n_seq`` sequences of SEQ_LEN random ids, TARGETS_PER_SEQ targets each with 1-4 random synonyms; record
    i's text is ``texts[i]`` (default ``"sequence i"``; the ids do not spell it); ``drop``: header keys left out
    (``("split",)``: a hand-made file that names no split part)."""
    from concepts.concept_file import ConceptRecord, ConceptTarget
    from concepts.concept_header import tokenizer_info
    from concepts.concept_file import write_concept_file as write

    rng = random.Random(seed)
    records = []
    for i in range(n_seq):
        ids = [rng.randrange(100, 20000) for _ in range(SEQ_LEN)]
        targets = []
        for p in sorted(rng.sample(range(1, SEQ_LEN), TARGETS_PER_SEQ)):
            syn = [t for t in rng.sample(range(100, 20000), rng.randint(1, 4)) if t != ids[p]]
            set_ids = [ids[p]] + syn
            targets.append(ConceptTarget(position=p, token_id=ids[p], word=f"w{p}", pos="NOUN", set_ids=set_ids,
                                         set_words=[f"s{t}" for t in set_ids]))
        text = texts[i] if texts is not None else f"sequence {i}"
        records.append(ConceptRecord(index=i, text=text, input_ids=ids, targets=targets))
    header = {"format_version": 1, "tokenizer": tokenizer_info(tokenizer, "tiny"), "corpus": "random",
              "split": "train", "selector": "random", **(header_extra or {})}
    header = {k: v for k, v in header.items() if k not in drop}
    write(path, header, records)
    return path
