"""Throughput of ``harness concepts build``: content words per second, per selector, in one run.

    python bench/concept_build.py [--model smollm2-135m] [--corpus wiki]
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

The ``llm`` selector's judge runs HF's ``generate`` on length-sorted batches (the fast greedy decoder this bench
once compared it with was removed by measurement: ``docs/architecture.md``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


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
    ap.add_argument("--embedding-modes", default="contextual", help="comma-separated: contextual, static")
    args = ap.parse_args()

    from concepts.builder import build_concepts
    from concepts.content_words import load_spacy
    from harness.corpora import load_corpus
    from harness.lm.load import load_model

    lm = load_model(args.model, device="cpu", dtype="float32")
    corpus = load_corpus(args.corpus)
    nlp = load_spacy()
    modes = [m.strip() for m in args.embedding_modes.split(",") if m.strip()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for sel in [s.strip() for s in args.selectors.split(",") if s.strip()]:
            runs += [(sel, {"embedding_mode": m}) for m in modes] if sel == "embedding" else [(sel, {})]
        for sel, extra in runs:
            limit = {"llm": args.llm_limit, "embedding": args.embedding_limit}.get(sel, args.wordnet_limit)
            proportion = args.llm_proportion if sel == "llm" else "1.0"
            load_before = os.getloadavg()[0]
            label = sel + "".join(f"/{v}" for v in extra.values())
            out = Path(tmp) / (sel + "".join(f"-{v}" for v in extra.values()) + ".jsonl")
            stats = build_concepts(lm, corpus, sel, out, limit=limit, proportion=proportion,
                                   nlp=nlp, device="cpu", dtype="float32", **extra)
            print(f"\n== selector {label}: {limit} sequences, proportion {proportion}, load average "
                  f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}")
            print(stats.summary())
            rows.append((label, limit, proportion, stats))
    print("\nsummary (content words per second, loop wall time):")
    for label, limit, proportion, st in rows:
        print(f"  {label:21s} {limit:4d} sequences  proportion {proportion:4s}  {st.content_words:6d} content words  "
              f"{st.seconds:8.1f} s  {st.words_per_second:8.2f} words/s  non-empty {st.share_with_synonyms:6.1%}  "
              f"mean set size {st.mean_set_size:5.2f}  (selector {st.selector_seconds:.1f} s, "
              f"candidates {st.candidate_seconds:.1f} s, filters {st.filter_seconds:.1f} s, "
              f"spaCy {st.content_word_seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
