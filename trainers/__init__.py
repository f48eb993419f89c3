"""Training objectives and the LoRA training recipe.

- :mod:`trainers.objectives`: named, pure loss functions of (logits, labels, concept batch)
  in the :data:`~trainers.objectives.OBJECTIVES` registry (``ntp``, ``concept``, ...);
  imported at CLI start-up, so it imports torch only inside functions.
- :mod:`trainers.data`: concept file -> training examples -> padded batches.
- :mod:`trainers.profiles`: the ``cpu`` (default) and ``paper`` hyperparameter profiles.
- :mod:`trainers.trainer`: a ``transformers.Trainer`` subclass that calls an objective, + peft LoRA.
- :mod:`trainers.recipe`: ``train(config)`` and ``train_and_eval(...)``, the Python APIs behind
  ``harness train`` and ``harness train-and-eval``.
"""
