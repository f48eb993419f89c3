"""``llm``: an instruct model picks the contextual synonyms (paper section 3.1, appendix A).

The prompt is appendix A's, verbatim, with ``{target}`` = the content word,
``{input_sequence}`` = the whole sequence text and ``{decoded_tokens}`` = the whole-word
alphabetic candidates (most likely first) joined with ``", "``. It is sent as one user turn
through the judge's chat template (as is, when the tokenizer has none). Decoding is greedy
(deterministic) with repetition penalty 1.1, as in the paper; generation stops at ``]`` or
after ``max_new_tokens``. Prompts are batched by the model interface
(:meth:`harness.lm.interface.LanguageModel.generate`: each prompt prefilled alone, then decoded in
groups of similar length of at most ``batch_size`` rows and ``max_batch_tokens`` cache slots). The answer goes through
:func:`~concepts.selectors.parse.parse_synonyms`, so only pool words survive.

The judge is ``--judge SPEC`` (any instruct causal LM spec :func:`harness.lm.load.load_model`
accepts), the embedded SmolLM2-135M-Instruct by default. ``--judge-backend`` says what runs it: ``hf``
(the model interface's greedy path, :meth:`harness.lm.hf_causal.HFCausalLM.generate`) or ``vllm``
(:mod:`concepts.selectors.judge_vllm`); both get the same chat-templated prompts and their answers go
through the same parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from concepts.candidates import SelectionQuery, SelectorContext
from concepts.selector_registry import register_selector
from concepts.selectors.parse import parse_synonyms
from harness.config import option
from harness.models import EMBEDDED_DEFAULT

DEFAULT_JUDGE = "smollm2-135m"
REPETITION_PENALTY = 1.1
MAX_NEW_TOKENS = 64
STOP = ("]",)
JUDGE_BACKENDS = ("hf", "vllm")

PROMPT = """Find contextual synonyms for the word {target} in this text: {input_sequence}

Available tokens: {decoded_tokens}

Instructions:
- Find ALL possible synonyms from the available tokens that could replace {target} in this context
- Return ONLY a comma-separated list of synonyms from the available tokens, surrounded by square brackets
- Include every relevant synonym
- NO duplicates allowed
- NO explanations or extra text
- If no synonyms found, return: []

Example format: [word1, word2, word3]

Synonyms for {target}:"""


@dataclass(frozen=True)
class LLMSettings:
    judge: str | None = option(None, help=f"llm selector: instruct model spec (default: the embedded {EMBEDDED_DEFAULT})")
    judge_backend: str = option("hf", choices=JUDGE_BACKENDS,
                                help="llm selector: what runs the judge: hf (the model interface) or vllm")


def check_backend(settings: LLMSettings) -> None:
    """vLLM is needed before any corpus or model is loaded (and before a cache lookup names such a file)."""
    if settings.judge_backend == "vllm":
        from concepts.selectors.judge_vllm import require_vllm

        require_vllm()


def require_judge(settings: LLMSettings) -> None:
    """A judge this machine cannot get fails before the corpus and the model load."""
    from concepts.judge_check import require_judge as require

    require(settings.judge, "--judge")


def render_prompt(q: SelectionQuery) -> str:
    return PROMPT.format(target=q.word, input_sequence=q.text, decoded_tokens=", ".join(q.candidates))


@register_selector("llm", settings=LLMSettings, check=check_backend, preflight=require_judge)
class LLMSelector:
    name = "llm"

    def __init__(self, ctx: SelectorContext, max_new_tokens: int = MAX_NEW_TOKENS,
                 max_batch_tokens: int = 16384) -> None:
        from harness.models import describe_spec

        own = ctx.settings(LLMSettings)
        self.judge_spec = own.judge or DEFAULT_JUDGE
        self.backend = own.judge_backend
        self.max_new_tokens = max_new_tokens
        self.max_batch_tokens = max_batch_tokens
        self.batch_size = ctx.batch_size
        self.raw_answers: list[str] = []  # the last select() call's answers, for inspection
        info = describe_spec(self.judge_spec)
        own = ctx.model is not None and info.id == ctx.model.info.id  # the base model judges its own candidates
        if self.backend == "vllm":
            self._vllm(info, ctx, own)
            return
        if own:
            self.judge = ctx.model  # no second copy
        else:
            from harness.lm.load import load_model

            self.judge = load_model(self.judge_spec, device=ctx.device, dtype=ctx.dtype)
        if self.judge.info.kind == "encoder":
            from harness.errors import UserError

            raise UserError(f"--judge {self.judge_spec} is a sentence encoder, not an instruct causal LM")
        self.judge_id, self.tokenizer = self.judge.info.id, self.judge.tokenizer

    def _vllm(self, info: Any, ctx: SelectorContext, own: bool) -> None:
        from concepts.selectors.judge_vllm import VLLMJudge
        from harness.lm.load import model_folder
        from harness.lm.tokenizer import load_tokenizer

        self.judge_id = info.id
        self.tokenizer = ctx.model.tokenizer if own else load_tokenizer(model_folder(info))
        self.judge = VLLMJudge(model_folder(info), self.tokenizer, ctx.dtype, self.max_new_tokens, STOP,
                               REPETITION_PENALTY)

    def settings(self) -> dict[str, Any]:
        return {"judge": self.judge_spec, "judge_id": self.judge_id, "judge_backend": self.backend,
                "decoding": "greedy", "repetition_penalty": REPETITION_PENALTY, "max_new_tokens": self.max_new_tokens,
                "prompt": "paper appendix A", "chat_template": bool(self.tokenizer.chat_template)}

    def chat(self, prompt: str) -> str:
        tok = self.tokenizer
        if not tok.chat_template:
            return prompt
        return tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                       add_generation_prompt=True)

    def generate(self, prompts: list[str]) -> list[str]:
        """Greedy answers to ``prompts`` (each already through the chat template), in order."""
        if self.backend == "vllm":
            return self.judge.generate(prompts)
        return self.judge.generate(prompts, self.max_new_tokens, stop=STOP, repetition_penalty=REPETITION_PENALTY,
                                   max_batch_tokens=self.max_batch_tokens, max_batch_size=self.batch_size)

    def select(self, queries: list[SelectionQuery]) -> list[list[str]]:
        todo = [i for i, q in enumerate(queries) if q.candidates]
        answers = self.generate([self.chat(render_prompt(queries[i])) for i in todo])
        self.raw_answers = [""] * len(queries)
        out: list[list[str]] = [[] for _ in queries]
        for i, ans in zip(todo, answers):
            self.raw_answers[i] = ans
            out[i] = parse_synonyms(ans, queries[i].candidates, queries[i].word)
        return out
