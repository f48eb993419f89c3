"""The same evaluation twice in one run: through lm-eval + MTEB, and through ``harness eval``.

    python bench/suite.py [--model smollm2-135m] [--corpus wiki] [--limit 200] [--pairs 0] [--batch-size 16]

The work, on the same model and data, both sides loading the model themselves (loads are timed):

- global perplexity of the first ``--limit`` held-out sequences of ``--corpus``: lm-eval's ``hf`` model on a
  ``loglikelihood_rolling`` task over those texts (local JSON Lines, ``--batch-size``), against ``harness eval
  --tasks global_ppl`` (one length-batched pass of :meth:`token_scores`);
- STS-B test (``$HARNESS_DATA_DIR/stsbenchmark/sts-test.csv``, the first ``--pairs``, 0 = all): MTEB's own STS
  evaluator on a local MTEB task with :class:`~harness.interop.mteb_encoder.HarnessEncoder` (our embedding
  protocol: an MTEB user of this model embeds the way we do), against ``harness eval --tasks stsb``.

Not timed: imports, and the content-word cache of the held-out texts (``global_ppl`` shares its pass with
``content_word_ppl``, which tags content words once per text set with spaCy). Printed: both wall times and
their ratio (lm-eval + MTEB) / harness. The goal: ≥ 3×.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

STS_TASK = '''
import os
from pathlib import Path
from datasets import Dataset, DatasetDict
from mteb.abstasks.sts import AbsTaskSTS
from mteb.abstasks.task_metadata import TaskMetadata


class SuiteSTSB(AbsTaskSTS):
    metadata = TaskMetadata(
        name="SuiteSTSB", description="STS-B test from the local file", reference=None,
        dataset={"path": "local/stsbenchmark", "revision": "local"}, type="STS", category="t2t", modalities=["text"],
        eval_splits=["test"], eval_langs=["eng-Latn"], main_score="cosine_spearman", date=("2017-01-01", "2017-12-31"),
        domains=[], task_subtypes=[], license="not specified", annotations_creators="human-annotated", dialect=[],
        sample_creation="found", bibtex_citation="")
    min_score, max_score = 0, 5

    def load_data(self, **kwargs):
        path = Path(os.environ["HARNESS_DATA_DIR"]) / "stsbenchmark" / "sts-test.csv"
        rows = [r for r in (line.split("\\t") for line in path.read_text(encoding="utf-8").splitlines()) if len(r) >= 7]
        rows = rows[:PAIRS] if PAIRS else rows
        self.dataset = DatasetDict({"test": Dataset.from_dict({"sentence1": [r[5] for r in rows],
                                    "sentence2": [r[6] for r in rows], "score": [float(r[4]) for r in rows]})})
        self.data_loaded = True
'''



def separate(args, folder: str, tmp: Path) -> dict:
    """lm-eval (hf model) for the perplexity, then MTEB (its STS evaluator, our encoder) for STS-B."""
    import importlib.util

    import lm_eval
    import mteb
    from lm_eval.tasks import TaskManager

    from harness.interop.mteb_encoder import HarnessEncoder

    out = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={folder},dtype=float32", device="cpu",
                                  batch_size=args.batch_size, tasks=["suite_global_ppl"], bootstrap_iters=0,
                                  task_manager=TaskManager(include_path=str(tmp / "lm_eval")))
    spec = importlib.util.spec_from_file_location("suite_sts", tmp / "suite_sts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sts = mteb.evaluate(HarnessEncoder.load(args.model, device="cpu", dtype="float32"), module.SuiteSTSB(),
                        cache=None, show_progress_bar=False, encode_kwargs={"batch_size": 64})
    return {"word_perplexity": out["results"]["suite_global_ppl"]["word_perplexity,none"],
            "stsb_spearman": sts.task_results[0].scores["test"][0]["cosine_spearman"]}


def ours(args, tmp: Path) -> dict:
    from harness.runner import evaluate
    from harness.task import EvalOptions

    options = EvalOptions(results_dir=tmp / "results", limit=args.pairs or None,
                          task_options={"corpus": args.corpus, "heldout_limit": args.limit})
    summary = evaluate(args.model, "global_ppl,stsb", options, device="cpu", dtype="float32")
    metrics = {r.task: r.metrics for r in summary.records}
    return {"perplexity": metrics["global_ppl"]["perplexity"], "stsb_spearman": metrics["stsb"]["spearman"]}


def main() -> int:
    from common import bench_parser

    ap = bench_parser(__doc__)
    ap.add_argument("--limit", type=int, default=200, help="held-out sequences for the perplexity")
    ap.add_argument("--pairs", type=int, default=0, help="STS-B test pairs (0: all)")
    ap.add_argument("--batch-size", type=int, default=16, help="lm-eval's batch size")
    args = ap.parse_args()
    if args.limit > 1000:
        ap.error("--limit: at most 1000 (the held-out part of a corpus)")

    import lm_eval  # noqa: F401  imports are not timed
    import mteb  # noqa: F401
    import torch

    from concepts.content_words import cached_content_words
    from harness.corpora import load_corpus
    from harness.interop.lm_eval_run import rolling_task_yaml
    from harness.lm.load import model_folder
    from harness.lm.tokenizer import load_tokenizer
    from harness.models import describe_spec
    from harness.splits import split_corpus

    folder = model_folder(describe_spec(args.model))
    texts = split_corpus(load_corpus(args.corpus), heldout_size=1000).heldout[: args.limit]
    cached_content_words(texts, load_tokenizer(folder))  # warm: not part of either side
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "lm_eval").mkdir()
        (tmp / "texts.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
        (tmp / "lm_eval" / "suite_global_ppl.yaml").write_text(rolling_task_yaml("suite_global_ppl", tmp / "texts.jsonl"))
        (tmp / "suite_sts.py").write_text(STS_TASK.replace("PAIRS", str(args.pairs)))
        print(f"model {args.model}; {len(texts)} held-out {args.corpus} sequences; STS-B test "
              f"{args.pairs or 'all'} pairs; torch threads {torch.get_num_threads()}, load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        t0 = time.perf_counter()
        theirs = separate(args, folder, tmp)
        t_sep = time.perf_counter() - t0
        t0 = time.perf_counter()
        mine = ours(args, tmp)
        t_ours = time.perf_counter() - t0
    print(f"lm-eval + MTEB   {t_sep:8.1f} s   {theirs}")
    print(f"harness eval     {t_ours:8.1f} s   {mine}")
    ratio = t_sep / t_ours
    print(f"ratio (lm-eval + MTEB) / harness: {ratio:.2f}x (goal >= 3x: {'met' if ratio >= 3 else 'NOT met'}); "
          f"load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
