"""What the trainer asks of a Hugging Face causal LM module during a training step, kept here with the other
knowledge of transformers' calls and output classes (the trainer hands the module to ``transformers.Trainer``).

- :func:`training_forward`: logits ``[B, T, V]`` of one padded batch (no KV cache) and the loss
  :func:`on_final_hidden`'s function made of it;
- :func:`on_final_hidden`: a function of the final hidden states ``[B, T, d]`` (the last of the model's hidden
  states: after the final norm, what the output embedding reads) run inside every forward pass of the module,
  a forward hook; the scalar it returns becomes the pass's ``loss`` (the model computes none: no labels are
  passed). So the parameters it trains (an objective's heads: ``caft``) are used in the forward pass and
  reachable from its output, as ``DistributedDataParallel`` requires (it marks parameters it cannot reach from
  the output as unused, and rebuilds the output from its declared fields);
- :func:`output_embedding` / :func:`hidden_size`: the module's output embedding (a ``d -> V`` layer) and ``d``.
"""

from __future__ import annotations

from typing import Any

def training_forward(module: Any, input_ids: Any, attention_mask: Any, final_hidden: bool = False) -> tuple[Any, Any]:
    """(logits, the loss of the :func:`on_final_hidden` function, or None); ``final_hidden``: run it."""
    out = module(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, output_hidden_states=final_hidden)
    return out.logits, out.get("loss")


def on_final_hidden(module: Any, fn: Any) -> Any:
    """Run ``fn(final hidden states) -> scalar loss`` in every forward pass of ``module`` that returns hidden
    states; returns the hook's handle."""

    def hook(_module, _args, out):
        if getattr(out, "hidden_states", None) is not None:
            out["loss"] = fn(out.hidden_states[-1])
        return out

    return module.register_forward_hook(hook)


def output_embedding(module: Any) -> Any:
    return module.get_output_embeddings()


def hidden_size(module: Any) -> int:
    return int(module.get_input_embeddings().weight.shape[1])
