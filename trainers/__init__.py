"""Training objectives and the LoRA training recipe.

- :mod:`trainers.objectives`: named, pure loss functions of (logits, labels, concept batch)
  in the :data:`~trainers.objectives.OBJECTIVES` registry (``ntp``, ``concept``, ...) and the
  settings they read (:class:`~trainers.objectives.ObjectiveSettings`); imported at CLI start-up,
  so it imports torch only inside functions.
- the objectives of related work, each registered by its own module (found by :mod:`harness.plugins`, which walks
  this package and imports the modules that register something): :mod:`trainers.caft` (``caft``, as
  published: heads from :mod:`trainers.caft_heads`, trained first by :mod:`trainers.caft_stage1`),
  :mod:`trainers.caft_joint` (``caft-joint``, a one-stage variant), :mod:`trainers.beyond_tokens` (``synonym-augment``, ``alternatives``), :mod:`trainers.weighted_ce`
  (``weighted-ce``).
- :mod:`trainers.data`: concept file -> training examples -> padded batches.
- :mod:`trainers.profiles`: the ``cpu`` (default) and ``paper`` hyperparameter profiles.
- :mod:`trainers.trainer`: a ``transformers.Trainer`` subclass that calls an objective, + peft LoRA.
- :mod:`trainers.recipe`: ``train(TrainConfig)``, the Python API behind ``harness train``.
- :mod:`trainers.run_folder`: the output folder of a run (identity, checkpoints, resume, disk space).
- :mod:`trainers.training_run`: a run as one object (config, objective, data, folder, model); :mod:`trainers.run_record`:
  its record and saved adapter; :mod:`trainers.objective_heads`: an objective's heads attached to the model.

``train-and-eval`` and ``sweep``, which also build concept files and evaluate, are in :mod:`workflows`.
"""
