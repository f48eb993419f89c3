"""What the trainer asks of a Hugging Face causal LM module during a training step, kept here with the other
knowledge of transformers' calls and output classes (the trainer hands the module to ``transformers.Trainer``).

- :func:`training_forward`: logits ``[B, T, V]`` of one padded batch (no KV cache) and the output's loss, which
  only a module attached to the model puts there (an objective's heads: :mod:`trainers.objective_heads`);
- :func:`output_embedding` / :func:`hidden_size`: the module's output embedding (a ``d -> V`` layer) and ``d``;
- :func:`decoder_layers`, :func:`call_layer`, :func:`layer_hidden`: the stack of decoder layers of any causal LM,
  another layer run with the arguments one of them was called with, whatever the layer's signature, and the
  hidden states among those arguments.
"""

from __future__ import annotations

from typing import Any


def training_forward(module: Any, input_ids: Any, attention_mask: Any, **inputs: Any) -> tuple[Any, Any]:
    """(logits, the output's ``loss`` or None) of one padded batch, no KV cache. No labels are passed, so the model
    computes no loss of its own: a ``loss`` is what a module attached to it put there; ``inputs``: more keyword
    arguments of the forward pass (what such a module's hooks take, e.g. :class:`trainers.objective_heads.HeadsCall`)."""
    out = module(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **inputs)
    return out.logits, out.get("loss")


def output_embedding(module: Any) -> Any:
    return module.get_output_embeddings()


def hidden_size(module: Any) -> int:
    return int(module.get_input_embeddings().weight.shape[1])


def decoder_layers(module: Any) -> Any:
    """The module's stack of decoder layers: the ``ModuleList`` of ``num_hidden_layers`` blocks of one class
    (``model.layers`` of Llama, ``transformer.h`` of GPT-2, ...), found without knowing the architecture."""
    import torch

    from harness.errors import UserError

    n = module.config.get_text_config().num_hidden_layers
    for child in module.modules():
        if isinstance(child, torch.nn.ModuleList) and len(child) == n and len({type(c) for c in child}) == 1:
            return child
    raise UserError(f"cannot find the {n} decoder layers of {type(module).__name__}")


def call_layer(layer: Any, hidden: Any, args: tuple, kwargs: dict) -> Any:
    """``layer`` run on ``hidden`` with the other arguments another decoder layer of the model was called with
    (``caft``'s heads: :class:`trainers.caft_heads.LayerInput`); its output hidden states (a tuple's first item in older transformers)."""
    if args:
        out = layer(hidden, *args[1:], **kwargs)
    else:
        out = layer(**{**kwargs, "hidden_states": hidden})
    return out[0] if isinstance(out, tuple) else out


def layer_hidden(args: tuple, kwargs: dict) -> Any:
    """The hidden states among a decoder layer's recorded arguments."""
    return args[0] if args else kwargs["hidden_states"]
