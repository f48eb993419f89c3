"""``--judge-backend hf|vllm`` of the ``llm`` selector: the missing-vLLM error through the real CLI, the arguments the
vLLM backend passes (a contract test against a stand-in ``vllm`` module), and the choice recorded in the header."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

from concepts.candidates import SelectionQuery, SelectorContext
from concepts.selectors import SELECTORS
from concepts.selectors.llm import render_prompt

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_vllm_backend_without_vllm_is_one_line_and_exit_2(tmp_path):
    """Through the console entry in a subprocess: exit 2, one stderr line, before any model or corpus is read (the
    model and corpus named do not exist, so reaching them would be another error), nothing written."""
    out = tmp_path / "c.jsonl"
    done = subprocess.run([sys.executable, "-m", "harness.cli", "concepts", "build", "--model",
                           str(tmp_path / "no-model"), "--corpus", str(tmp_path / "no-corpus.txt"), "--selector",
                           "llm", "--judge-backend", "vllm", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: --judge-backend vllm needs vLLM"), done.stderr
    assert not out.exists()


class _Recorder:
    """A stand-in ``vllm`` module: records what the backend constructs and answers each prompt with its length."""

    def __init__(self) -> None:
        self.llm_kwargs: dict = {}
        self.params_kwargs: dict = {}
        self.prompts: list = []
        module = types.ModuleType("vllm")
        module.__spec__ = importlib.util.spec_from_loader("vllm", loader=None)
        recorder = self

        class LLM:
            def __init__(self, **kwargs):
                recorder.llm_kwargs = kwargs

            def generate(self, prompts, params, use_tqdm=True):
                recorder.prompts = list(prompts)
                assert params is recorder.params
                return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f"[w{len(p['prompt_token_ids'])}]")])
                        for p in prompts]

        def sampling_params(**kwargs):
            recorder.params_kwargs = kwargs
            recorder.params = types.SimpleNamespace(**kwargs)
            return recorder.params

        module.LLM, module.SamplingParams = LLM, sampling_params
        self.module = module


def test_vllm_backend_passes_the_papers_decoding_contract(tiny_llama, monkeypatch):
    """Contract test of the arguments we pass to vLLM (a stand-in module, not vLLM itself): the judge's local folder,
    prefix caching, greedy decoding with penalty 1.1, stop at ``]`` kept in the output, 64 new tokens; prompts are the
    chat-templated appendix-A prompts as token ids without added special tokens; answers come back in order and
    go through the parser."""
    from harness.lm.load import model_folder
    from harness.models import describe_spec

    fake = _Recorder()
    monkeypatch.setitem(sys.modules, "vllm", fake.module)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: fake.module.__spec__ if name == "vllm" else None)
    sel = SELECTORS.get("llm")(SelectorContext(model=tiny_llama, judge_backend="vllm", dtype="bfloat16"))
    assert fake.llm_kwargs == {"model": model_folder(describe_spec("smollm2-135m")), "enable_prefix_caching": True,
                               "dtype": "bfloat16"}
    assert fake.params_kwargs == {"temperature": 0, "max_tokens": 64, "stop": ["]"], "include_stop_str_in_output": True,
                                  "repetition_penalty": 1.1}
    queries = [SelectionQuery(text="the big house", word="big", pos="ADJ", start=4, end=7, token_id=1,
                              candidates=["large", "huge"]),
               SelectionQuery(text="a quick fox ran", word="quick", pos="ADJ", start=2, end=7, token_id=1,
                              candidates=["fast"])]
    tok = tiny_llama.tokenizer  # the embedded judge's tokenizer: the same SmolLM2 tokenizer
    want = [tok(tok.apply_chat_template([{"role": "user", "content": render_prompt(q)}], tokenize=False,
                                        add_generation_prompt=True), add_special_tokens=False)["input_ids"]
            for q in queries]
    assert sel.select(queries) == [[], []]
    assert [p["prompt_token_ids"] for p in fake.prompts] == want
    assert sel.raw_answers == [f"[w{len(w)}]" for w in want]
    assert sel.settings()["judge_backend"] == "vllm"


def test_hf_backend_is_recorded_and_judges_with_the_model_interface(tiny_llama, monkeypatch):
    """The default backend: the base model judges its own candidates (same id as the default judge's) through
    ``generate``."""
    from harness.models import describe_spec

    monkeypatch.setattr(tiny_llama, "info", describe_spec("smollm2-135m"))
    calls = []
    monkeypatch.setattr(tiny_llama, "generate", lambda prompts, *a, **k: calls.append((prompts, a, k)) or
                        ["[large, small]"] * len(prompts))
    sel = SELECTORS.get("llm")(SelectorContext(model=tiny_llama))
    q = SelectionQuery(text="the big house", word="big", pos="ADJ", start=4, end=7, token_id=1,
                       candidates=["large", "huge"])
    assert sel.select([q]) == [["large"]]
    assert calls[0][1] == (64,) and calls[0][2]["stop"] == ("]",) and calls[0][2]["repetition_penalty"] == 1.1
    assert sel.settings()["judge_backend"] == "hf" and sel.judge is tiny_llama
