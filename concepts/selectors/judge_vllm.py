"""The ``llm`` selector's judge on vLLM (``--judge-backend vllm``): same prompts, same decoding, vLLM's engine.

The selector builds the prompts (appendix A through the judge's chat template) and parses the answers, whatever the
backend; this module only turns chat-templated prompts into answers, in order. The prompts go in as token ids
(``tokenizer(prompt, add_special_tokens=False)``, exactly what the ``hf`` backend feeds its model), with

    LLM(model=<the judge's local model folder>, enable_prefix_caching=True, dtype=<--dtype>)
    SamplingParams(temperature=0, max_tokens=n, stop=["]"], include_stop_str_in_output=True, repetition_penalty=1.1)

temperature 0 is greedy decoding; vLLM's repetition penalty, like HF's, divides positive and multiplies negative
logits of every token already in the prompt or the answer. Prefix caching shares the chat header's KV cache
between prompts. vLLM is an optional dependency: :func:`require_vllm` says so in one line (a
:class:`~harness.errors.UserError`) before any model is loaded.
"""

from __future__ import annotations

from typing import Any, Sequence

from harness.errors import UserError

INSTALL = "pip install vllm"


def require_vllm() -> None:
    """Fail in one line when vLLM cannot be imported (without importing it: that takes seconds)."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        raise UserError(f"--judge-backend vllm needs vLLM, which is not installed ({INSTALL}), or use --judge-backend hf")


def vllm_dtype(dtype: str) -> str:
    """vLLM's name for a ``--dtype`` value (``auto``, ``float32``, ``bfloat16``, ``float16``; vLLM reads the same)."""
    return {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}.get(dtype, dtype)


class VLLMJudge:
    """A vLLM engine on the judge's folder, answering chat-templated prompts greedily."""

    def __init__(self, folder: str, tokenizer: Any, dtype: str, max_new_tokens: int, stop: Sequence[str],
                 repetition_penalty: float) -> None:
        require_vllm()
        import vllm

        self.tokenizer = tokenizer
        self.llm = vllm.LLM(model=folder, enable_prefix_caching=True, dtype=vllm_dtype(dtype))
        self.params = vllm.SamplingParams(temperature=0, max_tokens=max_new_tokens, stop=list(stop),
                                          include_stop_str_in_output=True, repetition_penalty=repetition_penalty)

    def generate(self, prompts: Sequence[str]) -> list[str]:
        """One answer per prompt, in order (vLLM returns its outputs in the order of its inputs)."""
        ids = [{"prompt_token_ids": self.tokenizer(p, add_special_tokens=False)["input_ids"]} for p in prompts]
        outputs = self.llm.generate(ids, self.params, use_tqdm=False)
        return [o.outputs[0].text for o in outputs]
