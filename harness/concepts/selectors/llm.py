"""``llm``: an instruct model picks the contextual synonyms (paper section 3.1, appendix A).

The prompt is appendix A's, verbatim, with ``{target}`` = the content word,
``{input_sequence}`` = the whole sequence text and ``{decoded_tokens}`` = the whole-word
alphabetic candidates (most likely first) joined with ``", "``. It is sent as one user turn
through the judge's chat template (as is, when the tokenizer has none). Decoding is greedy
(deterministic) with repetition penalty 1.1, as in the paper; generation stops at ``]`` or
after ``max_new_tokens``. Prompts are batched (sorted by length, left padding, at most
``max_batch_tokens`` padded prompt tokens per batch). The answer goes through
:func:`~harness.concepts.selectors.parse.parse_synonyms`, so only pool words survive.

The judge is ``--judge SPEC`` (any instruct causal LM spec :func:`harness.models.load_model`
accepts), the embedded SmolLM2-135M-Instruct by default.
"""

from __future__ import annotations

from typing import Any

from harness.concepts.candidates import SelectionQuery, SelectorContext
from harness.concepts.selectors import SELECTORS
from harness.concepts.selectors.parse import parse_synonyms

DEFAULT_JUDGE = "smollm2-135m"
REPETITION_PENALTY = 1.1
MAX_NEW_TOKENS = 64

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


def render_prompt(q: SelectionQuery) -> str:
    return PROMPT.format(target=q.word, input_sequence=q.text, decoded_tokens=", ".join(q.candidates))


class LLMSelector:
    name = "llm"

    def __init__(self, ctx: SelectorContext, max_new_tokens: int = MAX_NEW_TOKENS,
                 max_batch_tokens: int = 8192) -> None:
        from harness.models import load_model

        self.judge_spec = ctx.judge or DEFAULT_JUDGE
        self.judge = load_model(self.judge_spec, device=ctx.device, dtype=ctx.dtype)
        if self.judge.info.kind == "encoder":
            from harness.errors import UserError

            raise UserError(f"--judge {self.judge_spec} is a sentence encoder, not an instruct causal LM")
        self.max_new_tokens = max_new_tokens
        self.max_batch_tokens = max_batch_tokens
        self.batch_size = ctx.batch_size
        self.raw_answers: list[str] = []  # the last select() call's answers, for inspection

    def settings(self) -> dict[str, Any]:
        return {"judge": self.judge_spec, "judge_id": self.judge.info.id, "decoding": "greedy",
                "repetition_penalty": REPETITION_PENALTY, "max_new_tokens": self.max_new_tokens,
                "prompt": "paper appendix A", "chat_template": bool(self.judge.tokenizer.chat_template)}

    def chat(self, prompt: str) -> str:
        tok = self.judge.tokenizer
        if not tok.chat_template:
            return prompt
        return tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                       add_generation_prompt=True)

    def generate(self, prompts: list[str]) -> list[str]:
        """Greedy answers to ``prompts`` (each already through the chat template), in order."""
        import torch

        from harness.embedding import length_batches

        tok = self.judge.tokenizer
        encoded = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
        answers = [""] * len(prompts)
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        for batch in length_batches([len(e) for e in encoded], self.max_batch_tokens):
            for start in range(0, len(batch), self.batch_size):
                part = batch[start:start + self.batch_size]
                width = max(len(encoded[i]) for i in part)
                ids = torch.full((len(part), width), pad, dtype=torch.long)
                mask = torch.zeros((len(part), width), dtype=torch.long)
                for r, i in enumerate(part):  # left padding: every prompt ends where generation starts
                    ids[r, width - len(encoded[i]):] = torch.tensor(encoded[i])
                    mask[r, width - len(encoded[i]):] = 1
                with torch.inference_mode():
                    out = self.judge.model.generate(
                        input_ids=ids.to(self.judge.device), attention_mask=mask.to(self.judge.device),
                        do_sample=False, repetition_penalty=REPETITION_PENALTY, max_new_tokens=self.max_new_tokens,
                        pad_token_id=pad, stop_strings=["]"], tokenizer=tok, temperature=None, top_p=None,
                        top_k=None)
                for r, i in enumerate(part):
                    answers[i] = tok.decode(out[r, width:], skip_special_tokens=True)
        return answers

    def select(self, queries: list[SelectionQuery]) -> list[list[str]]:
        todo = [i for i, q in enumerate(queries) if q.candidates]
        answers = self.generate([self.chat(render_prompt(queries[i])) for i in todo])
        self.raw_answers = [""] * len(queries)
        out: list[list[str]] = [[] for _ in queries]
        for i, ans in zip(todo, answers):
            self.raw_answers[i] = ans
            out[i] = parse_synonyms(ans, queries[i].candidates, queries[i].word)
        return out


SELECTORS.register("llm", LLMSelector)
