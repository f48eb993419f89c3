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
- :func:`output_embedding` / :func:`hidden_size`: the module's output embedding (a ``d -> V`` layer) and ``d``;
- :func:`decoder_layers`, :class:`LayerInput`, :func:`call_layer`: the stack of decoder layers of any causal LM,
  the arguments its last layer is called with in a forward pass, and another layer run with those arguments
  (``caft``'s heads: copies of a decoder layer on the last layer's input, whatever the layer's signature).
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


class LayerInput:
    """The arguments of ``layer``'s call in each forward pass of ``model`` (a forward pre-hook on each): taken
    once per pass by :meth:`take`. Armed by the model's own call, so the recomputation of an activation-
    checkpointed layer in the backward pass records nothing. :meth:`remove` takes the hooks off."""

    def __init__(self, model: Any, layer: Any) -> None:
        self.value: tuple[tuple, dict] | None = None
        self._armed = False
        self._handles = [model.register_forward_pre_hook(self._arm),
                         layer.register_forward_pre_hook(self._record, with_kwargs=True)]

    def _arm(self, _module, _args) -> None:
        self._armed = True

    def _record(self, _module, args, kwargs) -> None:
        if self._armed:
            self.value, self._armed = (tuple(args), dict(kwargs)), False

    def take(self) -> tuple[tuple, dict]:
        value, self.value = self.value, None
        assert value is not None, "no forward pass of the model recorded the layer's input"
        return value

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def call_layer(layer: Any, hidden: Any, args: tuple, kwargs: dict) -> Any:
    """``layer`` run on ``hidden`` with the other arguments another decoder layer of the model was called with
    (:class:`LayerInput`); its output hidden states (a tuple's first item in older transformers)."""
    if args:
        out = layer(hidden, *args[1:], **kwargs)
    else:
        out = layer(**{**kwargs, "hidden_states": hidden})
    return out[0] if isinstance(out, tuple) else out


def layer_hidden(args: tuple, kwargs: dict) -> Any:
    """The hidden states among a decoder layer's recorded arguments."""
    return args[0] if args else kwargs["hidden_states"]
