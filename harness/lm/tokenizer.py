"""The tokenizer of a model folder or hub id, as every part of the harness uses it: padded with its end-of-text
token where it names no pad token, padding on the right."""

from __future__ import annotations


def load_tokenizer(source: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(source)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    return tok
