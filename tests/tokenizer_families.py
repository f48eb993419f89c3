"""Tiny in-process tokenizers of each word-boundary family, trained with the `tokenizers` library.

- ``bytelevel``: byte-level BPE (``Ġword``), as GPT-2, Llama-3 and SmolLM2;
- ``metaspace``: BPE with the Metaspace pre-tokenizer and decoder (``▁word``), as Mistral-style models
  (punctuation isolated too);
- ``sentencepiece``: BPE behind Llama-2's normalizer (prepend ``▁``, spaces -> ``▁``) and decoder
  (``▁`` -> space, byte fallback, strip the first space), as the Llama-2 fast tokenizer;
- ``wordpiece``: WordPiece (a word-initial token has no prefix, continuations start with ``##``), as BERT.

Each is trained on :data:`TRAINING_TEXT` (a few hundred words written here) and wrapped in
``transformers.PreTrainedTokenizerFast``. The text repeats its common words so that they become
whole-word tokens, while rare long words stay split into pieces.
"""

from __future__ import annotations

from functools import lru_cache

FAMILIES = ("bytelevel", "metaspace", "sentencepiece", "wordpiece")

_SENTENCES = [
    "The farmer parked the car near the old house and walked to the field.",
    "An automobile is a car, and a big car is a large automobile.",
    "She wanted to buy a house, so she decided to purchase the small house by the river.",
    "The large dog ran across the big field while the children walked home.",
    "A small bird sang in the tree near the house every morning.",
    "People buy cars and houses when they have money to spend.",
    "The old farmer walked slowly, and the dog walked with him across the field.",
    "They bought a large house and a small car for the family.",
    "The children read stories about a big dog and a little bird.",
    "A car is a vehicle, and the farmer drove his vehicle to the market.",
    "The market sells bread, fruit and vegetables to the people of the town.",
    "In the morning the town is quiet, and the river is calm.",
    "The teacher gave the children a book about the river and the town.",
    "Every family in the town has a house, a car and a dog.",
    "Extraordinarily unpredictable thunderstorms overwhelmed the neighbourhood.",
]
TRAINING_TEXT = " ".join(_SENTENCES * 4)
SPECIAL = ["<unk>", "<s>", "</s>"]


def _train(family: str):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    lines = [TRAINING_TEXT] * 3
    if family == "bytelevel":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    elif family in ("metaspace", "sentencepiece"):
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=family == "sentencepiece", fuse_unk=True))
        # punctuation isolated, as SentencePiece's split_by_unicode_script keeps it out of word pieces
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"),
                                                     pre_tokenizers.Punctuation(behavior="isolated")])
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIAL)
    elif family == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="<unk>"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=False)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
        trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=SPECIAL)
    else:
        raise ValueError(family)
    tok.train_from_iterator(lines, trainer=trainer)
    if family == "sentencepiece":  # trained on words (no piece spans a ▁, as SentencePiece's split_by_whitespace);
        tok.pre_tokenizer = None  # used as Llama-2's fast tokenizer is: normalizer, no pre-tokenizer
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
    return tok


@lru_cache(maxsize=None)
def family_tokenizer(family: str):
    """A ``PreTrainedTokenizerFast`` of ``family`` (trained once per test session)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=_train(family), unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", pad_token="</s>")
