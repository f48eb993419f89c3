"""Candidate pools: the base model's top-k next tokens at each content-word position.

For a content word at index ``p`` of ``input_ids`` the candidates are the ``k`` most likely
tokens of ``p(· | input_ids[:p])``: the logits at position ``p − 1``
(:meth:`harness.lm.interface.LanguageModel.top_k_next`, one forward pass per batch of sequences).

Selectors see only *whole-word alphabetic* candidates: tokens that begin a word and are made of
letters (``Ġsurf``, ``▁surf``, WordPiece ``surf``), read from the tokenizer's own word-boundary
convention (:class:`WholeWordVocab`), then filtered by :mod:`concepts.candidate_rules`
(no form of the target word itself, no inflection that disagrees with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from concepts.selector_registry import SelectorContext  # noqa: F401  (what a selector factory gets; imported from here)


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
    prefix_ids: list[int] = field(default_factory=list)  # the sequence's ids before the word (input_ids[:p])
    tag: str = ""  # spaCy's fine-grained (Penn) tag of the word in context: its inflection


EMBEDDING_MODES = ("contextual", "static")  # the embedding selector's modes (concepts.selectors.embedding)


ANCHOR = "a"  # any short word: the context a token is decoded and encoded after


class WholeWordVocab:
    """Whole-word tokens as the tokenizer itself marks word starts, for every tokenizer family.

    A token ``t`` *begins a word* when the tokenizer's decoder puts a space before it after another
    word: ``decode(A + [t]) == decode(A) + " " + w`` with ``A`` = the ids of :data:`ANCHOR`. That
    reads the family's convention from the tokenizer: byte-level BPE's ``Ġ`` (GPT-2, Llama-3,
    SmolLM2), SentencePiece / Metaspace's ``▁`` (Llama-2, Mistral, Gemma: decoded alone, ``▁cat``
    loses its space at the start of the text, so a lone ``decode([t])`` cannot tell), WordPiece's
    absent ``##`` (its decoder joins ``##`` pieces to the word before and spaces the others).
    :meth:`word` keeps the tokens that begin a word and are letters only (``str.isalpha``).

    :meth:`first_token` is the inverse: the first token of ``word`` as it follows another word,
    i.e. of ``encode(ANCHOR + " " + word)`` after the anchor's ids. So a synonym's token is the one
    the model would emit after the prefix, never a bare ``▁`` piece (Llama-2 encodes a lone
    ``" car"`` as ``▁`` + ``▁car``) nor a continuation piece."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.anchor = list(tokenizer.encode(ANCHOR, add_special_tokens=False))
        self.anchor_text = tokenizer.decode(self.anchor)
        self._words: dict[int, str | None] = {}
        self._first: dict[str, int | None] = {}

    def word(self, token_id: int) -> str | None:
        """The word of a whole-word alphabetic token, else None."""
        if token_id not in self._words:
            text = self.tokenizer.decode(self.anchor + [token_id])
            rest = text[len(self.anchor_text):] if text.startswith(self.anchor_text) else ""
            body = rest[1:]
            self._words[token_id] = body if rest.startswith(" ") and body.isalpha() else None
        return self._words[token_id]

    def first_token(self, word: str) -> int | None:
        """Id of the first token of ``word`` after a preceding word; None when that token does not begin
        the word (the tokenizer merges it into the anchor, or starts it with a bare space piece)."""
        if word not in self._first:
            ids = list(self.tokenizer.encode(f"{self.anchor_text} {word}", add_special_tokens=False))
            n = len(self.anchor)
            found = None
            if ids[:n] == self.anchor and len(ids) > n:
                rest = self.tokenizer.decode(self.anchor + ids[n:n + 1])[len(self.anchor_text):]
                found = int(ids[n]) if rest.startswith(" ") and rest[1:].strip() else None
            self._first[word] = found
        return self._first[word]

    def pool(self, candidate_ids: Sequence[int]) -> tuple[list[str], list[int]]:
        """The whole-word alphabetic candidates (words, ids), in the given order."""
        words, ids = [], []
        for tid in candidate_ids:
            w = self.word(int(tid))
            if w is not None:
                words.append(w)
                ids.append(int(tid))
        return words, ids
