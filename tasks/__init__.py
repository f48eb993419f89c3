"""Evaluation tasks. One module per task family; importing a module registers its tasks
(see :mod:`harness.plugins`). A concrete task is mostly metadata; the family holds the logic."""
