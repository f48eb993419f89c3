"""An objective's heads (:attr:`trainers.objectives.Objective.heads`: ``caft``, ``caft-joint``), attached to the model
by the objective's side of the code, not by the engine or the trainer.

- :func:`build_heads`: the heads, built on the base model before LoRA is added (no LoRA layer is copied into them),
  given what of the run they may read (:class:`HeadsContext`);
- :class:`AttachedHeads`: the heads as the LoRA model's :data:`HEADS_ATTRIBUTE` child (so the optimizer, the
  checkpoints' optimizer state and distributed training see them), run INSIDE the model's forward pass by two hooks
  of their own: a forward pass given ``objective_heads=HeadsCall(labels, progress)`` returns its hidden states and,
  as its output's ``loss``, the heads' term ``heads(final hidden states, labels, output embeddings, progress)``
  (the model computes no loss of its own: no labels reach it). So the heads' parameters are used in the forward
  pass and reachable from its output, as ``DistributedDataParallel`` requires (it marks parameters it cannot
  reach from the output as unused, and rebuilds the output from its declared fields: ``loss`` is one); the call
  object carries the term's logs back to whoever made the call;
- :func:`trained`, :func:`save_heads`, :func:`load_heads`: heads that train beside LoRA (``caft-joint``) are saved
  beside the adapter and in every checkpoint (:data:`HEADS_FILE`), and a resumed run continues them; frozen heads
  (``caft``) are neither.

Imported at CLI start-up through :mod:`trainers.objectives`' users: torch is imported inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADS_ATTRIBUTE = "objective_heads"  # the model's child holding an objective's extra trainable modules
HEADS_FILE = "objective_heads.safetensors"  # beside the adapter and in every checkpoint
CALL_KEYWORD = "objective_heads"  # the forward-pass keyword that asks the attached heads for their term


@dataclass(frozen=True)
class HeadsContext:
    """What an objective's ``heads`` hook may read of the run besides the model: the training examples
    (:class:`trainers.data.TrainExample`, validation excluded), the padding id, the run's batch shape and
    warm-up share, seed, device flag, the base model's name (for file names) and whether to show progress."""

    train_set: list
    pad_id: int
    batch_size: int
    grad_accum: int
    warmup_ratio: float
    seed: int
    device: str
    model_name: str
    progress: bool = False


@dataclass
class HeadsCall:
    """One forward pass's request to the attached heads: the batch's labels and the share of the optimizer steps
    done (None before it is known); after the pass, ``output`` holds their :class:`~trainers.objectives.LossOutput`."""

    labels: Any
    progress: float | None
    output: Any = None


def build_heads(objective, settings, base, context: HeadsContext):
    """The objective's extra modules (None for most), built on the base model before LoRA is added."""
    if objective.heads is None:
        return None
    return objective.heads(base, settings.of(objective.settings), context)


def on_final_hidden(module: Any, fn: Any) -> Any:
    """Run ``fn(final hidden states) -> scalar loss`` in every forward pass of ``module`` that returns hidden
    states (the last of them: after the final norm, what the output embedding reads); a scalar it returns
    becomes the pass's ``loss``. Returns the hook's handle."""

    def hook(_module, _args, out):
        if getattr(out, "hidden_states", None) is not None:
            loss = fn(out.hidden_states[-1])
            if loss is not None:
                out["loss"] = loss
        return out

    return module.register_forward_hook(hook)


class AttachedHeads:
    """``heads`` as ``model``'s :data:`HEADS_ATTRIBUTE` child, run in each forward pass given
    ``objective_heads=HeadsCall(...)`` (module docstring); trained heads of a resumed run continue from its
    checkpoint ``resume_from``. :meth:`remove` takes the hooks off and lets the heads let go of the base model."""

    def __init__(self, model: Any, heads: Any, resume_from: Path | None = None) -> None:
        model.add_module(HEADS_ATTRIBUTE, heads)
        if resume_from is not None and trained(heads):
            load_heads(heads, resume_from)
        self.model, self.heads = model, heads
        self._call: HeadsCall | None = None  # taken by the pre-hook, answered by the hook of the same pass
        self._handles = [model.register_forward_pre_hook(self._take_call, with_kwargs=True),
                         on_final_hidden(model, self._answer)]

    def _take_call(self, _module, args, kwargs):
        call = kwargs.pop(CALL_KEYWORD, None)
        if call is None:
            return None
        self._call = call
        return args, {**kwargs, "output_hidden_states": True}

    def _answer(self, hidden):
        from harness.lm.hf_train import output_embedding

        call, self._call = self._call, None
        if call is None:
            return None  # a pass that asked nothing of the heads
        call.output = self.heads(hidden, call.labels, output_embedding(self.model), call.progress)
        return call.output.loss

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        if hasattr(self.heads, "release"):  # heads that hooked into the base model (trainers.caft.FrozenHeads)
            self.heads.release()


def heads_of(model: Any) -> Any:
    """``model``'s attached heads, or None."""
    return dict(model.named_children()).get(HEADS_ATTRIBUTE)


def trained(heads) -> bool:
    """Heads that train beside LoRA (saved with the adapter and in checkpoints); frozen ones are neither."""
    return heads is not None and any(p.requires_grad for p in heads.parameters())


def saved_heads(model):
    """``model``'s heads when they are saved (:func:`trained`), else None."""
    heads = heads_of(model)
    return heads if trained(heads) else None


def save_heads(heads, folder: Path) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in heads.state_dict().items()}
    save_file(tensors, str(Path(folder) / HEADS_FILE))


def load_heads(heads, folder: Path) -> None:
    """Load the heads a checkpoint holds (every checkpoint of a run with heads holds them)."""
    from safetensors.torch import load_file

    heads.load_state_dict(load_file(str(Path(folder) / HEADS_FILE)))
