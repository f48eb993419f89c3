"""concept-harness: evaluate, train and compare concept-level objectives for causal LMs.

The engine (this package) knows no concrete task, objective or selector: those
live in ``tasks/``, ``trainers/`` and ``concepts/selectors`` and register
themselves in the registries of :mod:`harness.registry` when
:func:`harness.plugins.load_plugins` imports them.
"""

__version__ = "0.1.0"
