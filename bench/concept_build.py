"""Throughput of ``harness concepts build``: content words per second, per selector, in one run.

    python bench/concepts.py [--model smollm2-135m] [--corpus wiki]
                             [--wordnet-limit 200] [--llm-limit 20] [--llm-proportion 1.0]
                             [--selectors wordnet,llm] [--embedding-limit 50]
                             [--embedding-modes contextual,static]

Each selector builds a concept file over the first N training sequences of the corpus into a
temporary folder, with the builder's defaults (k = 200, all content words unless
``--llm-proportion`` says otherwise); ``embedding`` runs once per ``--embedding-modes`` entry. Printed per run: the builder's ending statistics and
where the time went (content words by spaCy, the top-k forward passes, the whole-word filter and
candidate rules, the selector), then one
summary line per selector. Throughput = content words written / loop wall time (model, spaCy
and selector loading excluded and printed apart). The machine is shared: the load average is
printed beside the figures.

The ``llm`` selector is built twice on the same sequences (unless ``--no-before``): BEFORE with the judge
on Hugging Face's ``generate`` (``HFCausalLM._generate_hf``, left-padded batches), AFTER with the fast
greedy path (:mod:`harness.lm.greedy`). Printed: both throughputs and their ratio, whether every judge
answer and the two concept files are byte-identical, and where AFTER's loop time went (prefill, decode,
the rest of the judge call: tokenising and detokenising; the rest of the selector: chat template and
parsing; the rest of the loop: spaCy, top-k candidates, filters).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator



@contextmanager
def judge_probe(before: bool) -> Iterator[dict[str, Any]]:
    """Record every judge call (prompts, answers, seconds, fast path's prefill and decode seconds); ``before``
    sends the calls to HF's ``generate`` instead of the fast path."""
    import harness.lm.greedy as greedy
    from harness.lm.hf_causal import HFCausalLM

    rec: dict[str, Any] = {"answers": [], "seconds": 0.0, "timings": {}, "prompt_tokens": 0, "lm": None}
    real_generate, real_greedy = HFCausalLM.generate, greedy.greedy_generate

    def generate(self, prompts, *args, **kwargs):
        t = time.perf_counter()
        out = (HFCausalLM._generate_hf if before else real_generate)(self, prompts, *args, **kwargs)
        rec["seconds"] += time.perf_counter() - t
        rec["answers"] += out
        rec["lm"] = self
        rec["prompt_tokens"] += sum(len(self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
        return out

    def timed_greedy(*args, **kwargs):
        return real_greedy(*args, **kwargs, timings=rec["timings"])

    HFCausalLM.generate, greedy.greedy_generate = generate, timed_greedy
    try:
        yield rec
    finally:
        HFCausalLM.generate, greedy.greedy_generate = real_generate, real_greedy


def body(path: Path) -> bytes:
    """A concept file without its header line (which holds nothing run-specific, but skip it anyway)."""
    return path.read_bytes().split(b"\n", 1)[1]


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--corpus", default="wiki")
    ap.add_argument("--selectors", default="wordnet,llm")
    ap.add_argument("--wordnet-limit", type=int, default=200)
    ap.add_argument("--embedding-limit", type=int, default=50)
    ap.add_argument("--llm-limit", type=int, default=20)
    ap.add_argument("--llm-proportion", default="1.0")
    ap.add_argument("--no-before", action="store_true", help="llm: skip the HF-generate (BEFORE) build")
    ap.add_argument("--judge-prompts", type=int, default=0,
                    help="instead: time the judge alone on the first N prompts of the llm build, HF generate against "
                         "the fast path's variants (prefix cache, decode group size)")
    ap.add_argument("--embedding-modes", default="contextual", help="comma-separated: contextual, static")
    args = ap.parse_args()

    from concepts.builder import build_concepts
    from concepts.content_words import load_spacy
    from harness.corpora import load_corpus
    from harness.lm.load import load_model

    lm = load_model(args.model, device="cpu", dtype="float32")
    corpus = load_corpus(args.corpus)
    nlp = load_spacy()
    if args.judge_prompts:
        return judge_variants(lm, corpus, nlp, args)
    modes = [m.strip() for m in args.embedding_modes.split(",") if m.strip()]
    rows = []
    judge: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for sel in [s.strip() for s in args.selectors.split(",") if s.strip()]:
            if sel == "llm" and not args.no_before:
                runs.append(("llm", "before", {}))
            if sel == "embedding":
                runs += [(sel, "", {"embedding_mode": m}) for m in modes]
            else:
                runs.append((sel, "after" if sel == "llm" else "", {}))
        for sel, phase, extra in runs:
            limit = {"llm": args.llm_limit, "embedding": args.embedding_limit}.get(sel, args.wordnet_limit)
            proportion = args.llm_proportion if sel == "llm" else "1.0"
            load_before = os.getloadavg()[0]
            name = sel + "".join(f"-{v}" for v in extra.values())
            out = Path(tmp) / f"{name}{'-' + phase if phase else ''}.jsonl"
            with judge_probe(before=phase == "before") as rec:
                stats = build_concepts(lm, corpus, sel, out, limit=limit, proportion=proportion,
                                       nlp=nlp, device="cpu", dtype="float32", **extra)
            if phase:
                judge[phase] = {**rec, "stats": stats, "out": out}
            label = (f"{sel} ({phase}: {'HF generate' if phase == 'before' else 'fast greedy'})" if phase
                     else sel + "".join(f"/{v}" for v in extra.values()))
            print(f"\n== selector {label}: {limit} sequences, proportion {proportion}, load average "
                  f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}")
            print(stats.summary())
            rows.append((label, limit, proportion, stats))
        if "before" in judge and "after" in judge:
            print_judge_comparison(judge["before"], judge["after"])
        elif "after" in judge:
            print_breakdown(judge["after"])
    print("\nsummary (content words per second, loop wall time):")
    for label, limit, proportion, st in rows:
        print(f"  {label:21s} {limit:4d} sequences  proportion {proportion:4s}  {st.content_words:6d} content words  "
              f"{st.seconds:8.1f} s  {st.words_per_second:8.2f} words/s  non-empty {st.share_with_synonyms:6.1%}  "
              f"mean set size {st.mean_set_size:5.2f}  (selector {st.selector_seconds:.1f} s, "
              f"candidates {st.candidate_seconds:.1f} s, filters {st.filter_seconds:.1f} s, "
              f"spaCy {st.content_word_seconds:.1f} s)")
    return 0


def judge_variants(lm: Any, corpus: Any, nlp: Any, args: argparse.Namespace) -> int:
    """The judge alone on the first ``--judge-prompts`` prompts of the build (collected with the judge answering
    nothing), HF generate against variants of the fast path; answers compared with HF's."""
    import harness.lm.greedy as greedy
    from concepts.builder import build_concepts
    from harness.errors import UserError
    from harness.lm.hf_causal import HFCausalLM

    prompts: list[str] = []
    real = HFCausalLM.generate
    HFCausalLM.generate = lambda self, p, *a, **k: prompts.extend(p) or [""] * len(p)  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            build_concepts(lm, corpus, "llm", Path(tmp) / "p.jsonl", limit=args.llm_limit,
                           proportion=args.llm_proportion, nlp=nlp, device="cpu", dtype="float32")
    except UserError as exc:  # every set is a singleton when the judge answers nothing: the prompts are in
        print(f"(collecting prompts: {type(exc).__name__})")
    finally:
        HFCausalLM.generate = real  # type: ignore[method-assign]
    prompts = prompts[: args.judge_prompts]
    lengths = [len(lm.tokenizer(p)["input_ids"]) for p in prompts]
    print(f"{len(prompts)} prompts, {min(lengths)}-{max(lengths)} tokens (mean {sum(lengths) / len(lengths):.0f}); "
          f"load average {os.getloadavg()[0]:.1f}")
    kw = dict(max_new_tokens=64, stop=("]",), repetition_penalty=1.1, max_batch_tokens=8192)
    t = time.perf_counter()
    ref = lm._generate_hf(prompts, max_batch_size=8, **kw)
    base = time.perf_counter() - t
    print(f"  HF generate, batches of 8              {base:6.1f} s")
    rambling = sum(len(lm.tokenizer(a)["input_ids"]) >= 64 for a in ref)
    print(f"  ({rambling}/{len(ref)} answers run to 64 tokens)")
    for prefix_min, size, tokens in [(0, 8, 8192), (8, 8, 8192), (0, 16, 16384), (0, 32, 32768)]:
        greedy.PREFIX_MIN = prefix_min
        timings: dict[str, float] = {}
        t = time.perf_counter()
        encoded = [lm.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        ids = greedy.greedy_generate(lm, encoded, 64, ("]",), 1.1, tokens, size, timings=timings)
        got = [lm.tokenizer.decode(r, skip_special_tokens=True) for r in ids]
        sec = time.perf_counter() - t
        print(f"  fast, prefix cache {'on ' if prefix_min else 'off'}, groups of {size:2d}     {sec:6.1f} s  "
              f"{base / sec:.2f}x  prefill {timings['prefill']:.1f} s, decode {timings['decode']:.1f} s  "
              f"identical: {'yes' if got == ref else 'NO'}")
    greedy.PREFIX_MIN = 0
    return 0


def print_judge_comparison(before: dict[str, Any], after: dict[str, Any]) -> None:
    b, a = before["stats"], after["stats"]
    same = before["answers"] == after["answers"]
    differing = sum(x != y for x, y in zip(before["answers"], after["answers"]))
    print(f"\n== judge: {len(after['answers'])} prompts, {a.content_words} content words")
    print(f"  BEFORE (HF generate)   {b.seconds:7.1f} s loop, judge {before['seconds']:7.1f} s  "
          f"{b.words_per_second:.3f} content words/s")
    print(f"  AFTER  (fast greedy)   {a.seconds:7.1f} s loop, judge {after['seconds']:7.1f} s  "
          f"{a.words_per_second:.3f} content words/s")
    print(f"  ratio                  {a.words_per_second / b.words_per_second:.2f}x words/s, "
          f"{before['seconds'] / after['seconds']:.2f}x judge time")
    print(f"  answers byte-identical {'yes' if same else f'NO ({differing} differ)'}; concept files "
          f"{'identical' if body(before['out']) == body(after['out']) else 'DIFFER'}")
    print_breakdown(after)


def print_breakdown(after: dict[str, Any]) -> None:
    a, t = after["stats"], after["timings"]
    prefill, decode = t.get("prefill", 0.0), t.get("decode", 0.0)
    parts = [("prefill", prefill), ("decode", decode), ("judge other (tokenise, detokenise)",
                                                       after["seconds"] - prefill - decode),
             ("selector other (chat template, parse)", a.selector_seconds - after["seconds"]),
             ("loop other (spaCy, top-k, filters)", a.seconds - a.selector_seconds)]
    print(f"  AFTER's loop time ({a.seconds:.1f} s):")
    for name, sec in parts:
        print(f"    {name:40s} {sec:7.1f} s  {sec / a.seconds:6.1%}")
    if prefill and after["lm"] is not None:
        print_prefill_against_peak(after["lm"], after["prompt_tokens"], prefill)


def print_prefill_against_peak(lm: Any, tokens: int, seconds: float) -> None:
    """Prefill's arithmetic rate against this machine's: its linear layers do P multiply-adds (2·P FLOPs) per
    prompt token (P = backbone parameters outside the embedding), set against a float32 matmul of the MLP's shape
    (600 × hidden · hidden × intermediate) timed here. Attention and elementwise work come on top, so a rate near
    the matmul's means prefill is the hardware's arithmetic, not overhead."""
    import torch

    cfg = lm.backbone.config
    params = sum(p.numel() for n, p in lm.backbone.named_parameters() if "embed" not in n)
    a, b = torch.randn(600, cfg.hidden_size), torch.randn(cfg.hidden_size, cfg.intermediate_size)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(50):
        a @ b
    peak = 2 * 600 * cfg.hidden_size * cfg.intermediate_size * 50 / (time.perf_counter() - t) / 1e9
    rate = 2 * params * tokens / seconds / 1e9
    print(f"  prefill: {tokens} prompt tokens, {tokens / seconds:.0f} tokens/s; linear layers "
          f"{rate:.0f} GFLOP/s against {peak:.0f} GFLOP/s of a float32 matmul here ({rate / peak:.0%}; "
          f"{torch.get_num_threads()} threads)")


if __name__ == "__main__":
    sys.exit(main())
