"""The application layer: the commands that orchestrate the other packages.

``train`` and ``train-and-eval`` (:mod:`workflows.train_commands`, :mod:`workflows.train_and_eval`),
``sweep`` (:mod:`workflows.sweep`) and ``leaderboard`` with adding a model by evaluating it
(:mod:`workflows.leaderboard_commands`, :mod:`workflows.add_model`). This package sits above
``tasks``, ``trainers`` and ``leaderboard``, which sit above ``harness``: every import points down
(checked by ``lint-imports``, see ``pyproject.toml``). ``harness.cli`` reaches these command modules
by name only.
"""
