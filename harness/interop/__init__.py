"""Bridges to the evaluation suites researchers already run: lm-evaluation-harness and MTEB.

- :mod:`harness.interop.lm_eval_model`: an lm-eval ``LM`` (registered as ``harness``) answering lm-eval's
  requests through the model interface (:mod:`harness.lm.interface`), so any model spec, adapters included,
  runs lm-eval tasks, and lm-eval runs our hidden-state tasks;
- :mod:`harness.interop.lm_eval_run`: ``harness eval --lm-eval TASKS``: lm-eval's results per document ->
  harness result files (per-item columns, so the paired bootstrap and the leaderboard treat them as ours);
- :mod:`harness.interop.mteb_encoder` / :mod:`harness.interop.mteb_run`: an MTEB encoder embedding with exactly
  our :class:`~harness.embedding.EmbeddingProtocol`, and ``harness eval --mteb TASKS``.

lm-eval and MTEB are optional (``pip install concept-harness[interop]``); they are imported inside the
functions that need them, so ``harness --help`` never loads them.
"""
