"""Results folder -> leaderboard tables (markdown, CSV) and plots; importing external results.

Reads result files only (:mod:`harness.results`) and never imports torch, so a
leaderboard of a thousand runs builds in about a second. Modules, one job each:

- :mod:`leaderboard.reader`: result files -> compact summaries (skipping invalid files with a warning);
- :mod:`leaderboard.table`: summaries -> rows (grouped by base model and method) and columns;
- :mod:`leaderboard.render`: rows -> markdown and CSV;
- :mod:`leaderboard.configs`: a model block -> its configuration (short label, seed, its NTP's settings);
- :mod:`leaderboard.significance`: paired bootstraps against the base model and NTP, and the seeds' rule;
- :mod:`leaderboard.paper_tables`: summaries -> the paper's tables (similarity; LM and geometry) per
  training corpus, a row per configuration (seeds: mean ± sd);
- :mod:`leaderboard.paper_render`: those tables -> markdown sections and a long CSV;
- :mod:`leaderboard.runs_table`: summaries -> the Runs section (sequence-updates, wall times, commits per model);
- :mod:`leaderboard.plot_data`: rows -> what the plots show (configurations, seed means and spread, CI bars);
- :mod:`leaderboard.plots`: PNG plots of each metric against λ; :mod:`leaderboard.layer_plots`: layer profiles;
- :mod:`leaderboard.store`: import result files under a lock; the options of the board's base rows.

The ``harness leaderboard`` command, and adding a model by evaluating it, live in the application
layer (:mod:`workflows.leaderboard_commands`, :mod:`workflows.add_model`): this package only reads and
writes result files (:mod:`harness.result_files`), which ``lint-imports`` checks.
"""
