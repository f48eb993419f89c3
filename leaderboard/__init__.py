"""Results folder -> leaderboard tables (markdown, CSV) and plots; importing external results.

Reads result files only (:mod:`harness.results`) and never imports torch, so a
leaderboard of a thousand runs builds in about a second. Modules, one job each:

- :mod:`leaderboard.reader`: result files -> compact summaries (skipping invalid files with a warning);
- :mod:`leaderboard.table`: summaries -> rows (grouped by base model and method) and columns;
- :mod:`leaderboard.render`: rows -> markdown and CSV;
- :mod:`leaderboard.plots`: rows -> PNG plots of each metric against λ;
- :mod:`leaderboard.store`: import and add results under a lock, then rebuild;
- :mod:`leaderboard.commands`: the ``harness leaderboard`` subcommand.
"""
