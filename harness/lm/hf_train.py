"""What the trainer asks of a Hugging Face causal LM module during a training step, kept here with the other
knowledge of transformers' calls and output classes (the trainer hands the module to ``transformers.Trainer``).

- :func:`training_forward`: logits ``[B, T, V]`` of one padded batch, no KV cache, and on request the final
  hidden states ``[B, T, d]`` (the last entry of the model's hidden-state stack: after the final norm, what
  the output embedding reads), for objectives with heads of their own (``caft``);
- :func:`output_embedding` / :func:`hidden_size`: the module's output embedding (a ``d -> V`` layer) and ``d``.
"""

from __future__ import annotations

from typing import Any


def training_forward(module: Any, input_ids: Any, attention_mask: Any, final_hidden: bool = False) -> tuple[Any, Any]:
    """(logits, final hidden states or None)."""
    out = module(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, output_hidden_states=final_hidden)
    return out.logits, (out.hidden_states[-1] if final_hidden else None)


def output_embedding(module: Any) -> Any:
    return module.get_output_embeddings()


def hidden_size(module: Any) -> int:
    return int(module.get_input_embeddings().weight.shape[1])
