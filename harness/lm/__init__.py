"""The model interface (:mod:`harness.lm.interface`) and its Hugging Face implementation.

- :mod:`harness.lm.interface`: :class:`LanguageModel`, the methods tasks, the concept builder and the
  bridges call (embed, token_scores, hidden_at, top_k_next, set_log_probs, generate, input_embeddings), and its
  records;
- :mod:`harness.lm.batching`: batching by length and padding, written once;
- :mod:`harness.lm.hf` / :mod:`harness.lm.hf_causal`: Hugging Face encoders and causal LMs (peft adapters
  included) behind the interface;
- :mod:`harness.lm.hf_load`: loading weights, adapters and LoRA wrapping (the only module naming
  transformers' model classes).

Nothing here imports torch at import time.
"""

from harness.lm.interface import LanguageModel, TokenScores

__all__ = ["LanguageModel", "TokenScores"]
