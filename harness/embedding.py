"""The embedding protocol of the paper's section 4.1 (the per-run cache of texts: :mod:`harness.embedding_cache`).

The model interface computes the vectors (:meth:`harness.lm.interface.LanguageModel.embed_layers`);
this module says what they are. Each text becomes one token row ``[c] + prefix + body + suffix`` and
a pooling weight per token (:func:`token_rows`):

vector(text) = normalise( Σ_i m_i · h_i^(L) / Σ_i m_i ), with h^(L) the hidden states of layer L
(default: the final layer, after the final norm) and m_i the pooling weight of token i (0 on padding).
Cosine of two such unit vectors is their dot product.

Context token ``c`` (``bos``), for tokenizers that add no special token in front of a text (SmolLM2's
adds none, Llama's adds its BOS, BERT's its [CLS]):
- ``context`` (default): prepend the *document token* (:func:`document_token`), the token the model saw
  in front of every pretraining document, and leave it out of the pool;
- ``declared``: prepend the tokenizer's declared BOS token, else its end-of-text token, left out of the
  pool (the default before the document token; on SmolLM2-Instruct the chat marker ``<|im_start|>``);
- ``add``: prepend the document token and pool over it too;
- ``native``: tokenise as the tokenizer does.
A tokenizer that adds its own prefix keeps it as it is (pooled, the paper's Llama protocol), and no
``c`` is added. Why ``context`` is the default: without a token in front, a text's own first token is
the attention-sink position, whose outsized hidden state dominates the mean at every layer; on
SmolLM2-135M ``native`` leaves MEN, WordSim353 and SimLex-999 near chance at every layer (README).
Why the document token and not the declared BOS: an instruct tokenizer may declare a chat marker as its
BOS (SmolLM2-Instruct's ``<|im_start|>`` opens chat turns only); the paper's Llama pipeline puts
``<|begin_of_text|>``, the token that began every pretraining document, in front. On SmolLM2-135M the
document token ``<|endoftext|>`` gives the final layer MEN 0.154, WordSim353 0.202, SimLex-999 0.056,
against 0.087, 0.064, 0.005 after ``<|im_start|>`` (README's layer table).

Pooling (``pooling``; ``body`` is the text's tokens unless said otherwise):
- ``mean``: m = 1 on prefix, body and suffix;
- ``last``: m = 1 on the row's last token only;
- ``echo``: body = the text's tokens twice; m = 1 on the second copy only (Springer et al., 2024);
- a ``template`` (PromptEOL, Jiang et al., 2023): body = the tokens of the template with ``{text}``
  replaced by the text, pooled at its last token (``last``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

from harness.errors import UserError

BOS_MODES = ("context", "declared", "native", "add")
END_OF_TEXT_NAMES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eot_id|>")  # document separators
POOLINGS = ("mean", "last", "echo")
TEXT_SLOT = "{text}"


@dataclass(frozen=True)
class EmbeddingProtocol:
    layer: int = -1  # index into the model's hidden states (0 = embeddings); -1 = final layer, after the final norm
    bos: str = "context"
    pooling: str = "mean"
    template: str | None = None
    normalize: bool = True
    max_length: int = 512

    def __post_init__(self) -> None:
        """Settings that cannot work are user errors, raised before any model is loaded."""
        if self.bos not in BOS_MODES:
            raise UserError(f"unknown --bos {self.bos!r} (choose {', '.join(BOS_MODES)})")
        if self.pooling not in POOLINGS:
            raise UserError(f"unknown --pooling {self.pooling!r} (choose {', '.join(POOLINGS)})")
        if self.template is not None and TEXT_SLOT not in self.template:
            raise UserError(f"--template must contain {TEXT_SLOT} where the text goes: {self.template!r}")
        if self.template is not None and self.pooling != "last":
            raise UserError(f"--template pools the last token; it cannot be combined with --pooling {self.pooling}")

    @classmethod
    def of(cls, layer: int, bos: str, pooling: str | None, template: str | None) -> EmbeddingProtocol:
        """The protocol of command-line settings: pooling ``None`` means mean, or last with a template."""
        return cls(layer=layer, bos=bos, pooling=pooling or ("last" if template else "mean"), template=template)

    def to_dict(self) -> dict:
        return asdict(self)

    def variant(self) -> str:
        """The result variant of this protocol: ``""`` for the default, else its differing settings
        (``layer6``, ``bos-native``, ``last``, ``echo``, ``template-<sha256[:8]>``) joined by ``_``, so
        results of different protocols never overwrite each other."""
        import hashlib

        default = EmbeddingProtocol()
        parts = [f"layer{self.layer}" if self.layer != default.layer else "",
                 f"bos-{self.bos}" if self.bos != default.bos else ""]
        if self.template is not None:
            parts.append("template-" + hashlib.sha256(self.template.encode()).hexdigest()[:8])
        elif self.pooling != default.pooling:
            parts.append(self.pooling)
        return "_".join(p for p in parts if p)


def check_layers(layers: Iterable[int], num_layers: int, flag: str) -> tuple[int, ...]:
    """``layers`` as hidden-state indices 0 … ``num_layers`` (``-k`` counts from the final layer, ``-1`` is
    it); one outside that range is a user error."""
    out = []
    for layer in layers:
        if not -num_layers - 1 <= layer <= num_layers:
            raise UserError(f"{flag} {layer} is out of range: this model has hidden-state layers 0 (embeddings) to "
                            f"{num_layers} (final), or -1 for the final layer")
        out.append(layer % (num_layers + 1))
    return tuple(out)


def context_token(tokenizer: Any, protocol: EmbeddingProtocol) -> int | None:
    """The token ``c`` put in front of texts the tokenizer adds nothing to (module docstring)."""
    if protocol.bos == "native":
        return None
    if protocol.bos == "declared":
        return tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    return document_token(tokenizer)[0]


def document_token(tokenizer: Any) -> tuple[int | None, str]:
    """The token the model saw in front of every pretraining document, and why it is that one.

    A tokenizer's declared BOS, else its EOS, unless that token occurs in the tokenizer's chat template:
    there it marks chat turns (``<|im_start|>``, ``<|im_end|>``), which pretraining documents never began
    with. Then the first of its special tokens with a document-separator name (``END_OF_TEXT_NAMES``, e.g.
    ``<|endoftext|>``, the separator GPT-2-style tokenizers put between documents) that the template does not
    use. With none of those, the declared BOS (else EOS) after all."""
    template = tokenizer.chat_template if isinstance(getattr(tokenizer, "chat_template", None), str) else ""
    declared = [(role, getattr(tokenizer, f"{role}_token", None)) for role in ("bos", "eos")]
    declared = [(role, tok) for role, tok in declared if tok]
    for role, tok in declared:
        if tok not in template:
            return tokenizer.convert_tokens_to_ids(tok), f"the tokenizer's declared {role.upper()} token"
    for name in END_OF_TEXT_NAMES:
        token_id = tokenizer.convert_tokens_to_ids(name)  # an unknown name gives the unk id (or None)
        if token_id is not None and tokenizer.convert_ids_to_tokens(token_id) == name and name not in template:
            markers = " and ".join(f"{role.upper()} {tok}" for role, tok in declared)
            return token_id, (f"the end-of-text token {name}: the declared {markers} mark chat turns in the "
                                 f"chat template, and pretraining documents did not begin with them")
    if declared:
        return tokenizer.convert_tokens_to_ids(declared[0][1]), f"the tokenizer's declared {declared[0][0].upper()} token"
    return None, "the tokenizer declares no BOS or EOS token"


def _affixes(own: list[int], bare: list[int]) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a text: ``own == prefix + bare + suffix``."""
    for start in range(len(own) - len(bare) + 1):
        if own[start:start + len(bare)] == bare:
            return own[:start], own[start + len(bare):]
    raise ValueError("the tokenizer's special tokens do not surround the text's tokens")


def token_rows(tokenizer: Any, texts: list[str], protocol: EmbeddingProtocol) -> list[tuple[list[int], list[int]]]:
    """Token ids and pooling weights of each text under the protocol (module docstring)."""
    filled = [protocol.template.replace(TEXT_SLOT, t) for t in texts] if protocol.template else list(texts)
    own_all = tokenizer(filled, add_special_tokens=True)["input_ids"]
    bare_all = tokenizer(filled, add_special_tokens=False)["input_ids"]
    c = context_token(tokenizer, protocol)
    rows = []
    for own, bare in zip(own_all, bare_all):
        prefix, suffix = _affixes(list(own), list(bare))
        head = [c] if c is not None and not prefix else []
        bare = list(bare)[: max(protocol.max_length - len(head) - len(prefix) - len(suffix), 1)]
        body = bare + bare if protocol.pooling == "echo" else bare
        ids = head + prefix + body + suffix
        if not body:
            raise ValueError("a text produced no tokens")
        if protocol.pooling == "mean":
            pool = [1 if protocol.bos == "add" else 0] * len(head) + [1] * (len(ids) - len(head))
        elif protocol.pooling == "last":
            pool = [0] * (len(ids) - 1) + [1]
        else:  # echo: the second copy
            pool = [0] * (len(head) + len(prefix) + len(bare)) + [1] * len(bare) + [0] * len(suffix)
        rows.append((ids, pool))
    return rows


def protocol_record(tokenizer: Any, protocol: EmbeddingProtocol) -> dict[str, Any]:
    """The protocol as recorded in results: its settings and the context token this tokenizer got
    (``None``: nothing prepended, e.g. the tokenizer adds its own BOS or ``bos`` is native)."""
    probe_own = tokenizer(["a"], add_special_tokens=True)["input_ids"][0]
    probe_bare = tokenizer(["a"], add_special_tokens=False)["input_ids"][0]
    own_prefix = _affixes(list(probe_own), list(probe_bare))[0]
    c = None if own_prefix else context_token(tokenizer, protocol)
    why = None
    if c is not None:
        why = document_token(tokenizer)[1] if protocol.bos in ("context", "add") else "--bos declared: the declared BOS"
    return {**protocol.to_dict(), "context_token": tokenizer.convert_ids_to_tokens(c) if c is not None else None,
            "context_token_why": why, "tokenizer_prefix": tokenizer.convert_ids_to_tokens(own_prefix)}
