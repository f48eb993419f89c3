"""The model interface: what every task, the concept builder and the bridges ask of a model.

The role lm-eval's ``LM`` plays for its tasks and MTEB's encoder for its: a handful of request
methods over token ids and texts, answered with numpy arrays and plain records. Whatever sits
behind it (:mod:`harness.lm.hf` for Hugging Face models, or a test double) alone knows about
padding, batching by length, devices, dtypes, KV caches and the library's output classes.

Each method keeps memory to one batch: no ``batch × length × vocabulary`` tensor and no stack of
every layer's hidden states outlives the batch that made it.

Built on these signatures: lm-eval's ``loglikelihood`` / ``loglikelihood_rolling`` on
:meth:`LanguageModel.token_scores`, MTEB's ``encode`` on :meth:`LanguageModel.embed`, the geometry
tasks and the contextual embedding selector (substituted candidates) on :meth:`LanguageModel.hidden_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from harness.embedding import EmbeddingProtocol
    from harness.models import ModelInfo


@dataclass
class TokenScores:
    """One token sequence ``x_0 … x_{n−1}`` scored by a causal LM, for tokens ``p = 1 … n−1``:

        nll[p − 1] = −log softmax(logits_{p−1})[x_p]      (float64, nats)
        correct[p − 1] = [argmax logits_{p−1} = x_p]      (float64, 0 or 1)
    """

    nll: np.ndarray
    correct: np.ndarray


@runtime_checkable
class LanguageModel(Protocol):
    """One loaded model. ``capabilities`` holds ``hidden_states`` (every model: :meth:`embed`) and,
    for causal LMs, ``causal_lm`` (the other request methods)."""

    info: "ModelInfo"
    tokenizer: Any
    device: Any
    dtype: Any
    capabilities: frozenset[str]
    num_layers: int  # hidden states are numbered 0 (embeddings) … num_layers (final, after the final norm)

    def embed(self, texts: Sequence[str], protocol: "EmbeddingProtocol", max_batch_tokens: int | None = None,
              progress: bool = True) -> np.ndarray:
        """One float32 row per text, in input order: the protocol's pooling of its layer's hidden states."""

    def embed_layers(self, texts: Sequence[str], protocol: "EmbeddingProtocol", layers: tuple[int, ...],
                     max_batch_tokens: int | None = None, progress: bool = True) -> np.ndarray:
        """``out[l]`` (float32, ``(len(layers), len(texts), d)``): :meth:`embed` with the protocol's layer
        replaced by ``layers[l]``, every layer from the same forward pass."""

    def token_scores(self, sequences: Sequence[Sequence[int]], max_batch_tokens: int | None = None,
                     desc: str = "LM pass", progress: bool = True) -> list[TokenScores]:
        """Per sequence (each of at least 2 tokens), NLL and greedy correctness of every token after the first."""

    def hidden_at(self, prefixes: Sequence[Sequence[int]], continuations: Sequence[Sequence[int]],
                  layers: tuple[int, ...] = (-1,), max_batch_tokens: int | None = None,
                  progress: bool = True) -> list[np.ndarray]:
        """``out[i][l, j]`` (float32, shape ``(len(layers), len(continuations[i]), d)``): the hidden state of
        layer ``layers[l]`` at the last token of ``prefixes[i] + [continuations[i][j]]``. Each continuation
        token is scored alone after its prefix (not after the other continuations); prefixes are non-empty."""

    def top_k_next(self, sequences: Sequence[Sequence[int]], positions: Sequence[Sequence[int]], k: int,
                   max_batch_tokens: int | None = None) -> list[list[list[int]]]:
        """``out[s][j]``: the ``k`` most likely next-token ids (descending) given ``sequences[s][:positions[s][j]]``;
        every position is at least 1."""

    def set_log_probs(self, sequences: Sequence[Sequence[int]], positions: Sequence[Sequence[int]],
                      sets: Sequence[Sequence[Sequence[int]]], max_batch_tokens: int | None = None) -> list[np.ndarray]:
        """``out[s][j] = log Σ_{t ∈ sets[s][j]} p(t | sequences[s][:positions[s][j]])`` (float64, nats): the log
        probability mass of a token set at a position, e.g. a concept set T*; every position is at least 1 and
        every set non-empty (a token listed twice counts once)."""

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str] = (),
                 repetition_penalty: float = 1.0, max_batch_tokens: int | None = None,
                 max_batch_size: int = 8) -> list[str]:
        """Greedy continuations of ``prompts`` (text as given, no special tokens added), decoded without
        special tokens; each stops after a stop string (kept), an end-of-sequence token or ``max_new_tokens``. The
        repetition penalty is HF's: a logit z of a token already in the prompt or answer becomes z·r if z < 0, else
        z/r."""

    def input_embeddings(self) -> np.ndarray:
        """The input embedding matrix, float32, shape ``(vocabulary, d)``."""
