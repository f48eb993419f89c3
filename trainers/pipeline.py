"""``train_and_eval(TrainAndEval(...))``: what ``harness train-and-eval --lambda 0.25`` does, as a Python API.

1. the concept file: the one given, or :func:`harness.concepts.builder.cached_concept_file` for
   (base model, training corpus, ``train`` split, selector, settings): built once, then reused;
2. :func:`trainers.recipe.train` into ``out`` (default ``runs/<model>-<method>-lam<λ>-...``); a
   folder already holding this finished run is reused, an interrupted one resumed;
3. :func:`harness.runner.evaluate` of the base model on every selected task whose result is missing
   (or was computed with other evaluation options), then of the adapter with the SAME
   :class:`~harness.runner.EvalOptions`, base first, so every adapter result carries the paired
   bootstrap comparison against the base. Evaluation follows training (:func:`eval_options_for`):
   unless given, the LM tasks' corpora are the training corpus (in-domain) and its out-of-domain
   partner (:func:`harness.splits.evaluation_corpora`), and the geometry tasks' held-out concept
   sets come from the training corpus with the training selector. Held-out sets use the fixed
   split seed (``--split-seed``), never the run seed, and the training concept file comes from the
   train part of that same split, so no run trains on a document it is evaluated on;
4. the summary and the comparison table with 95% CIs (:func:`harness.runner.print_summary`);
5. the leaderboard rebuilt from the results folder when the ``leaderboard`` package is installed.

A sweep (λ grid, noise control) calls this once per setting with its own ``TrainAndEval``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from harness.errors import UserError
from harness.results import slug
from trainers.objectives import check_settings, method_name
from trainers.profiles import DEFAULT_PROFILE, resolve_profile
from trainers.recipe import TrainConfig, TrainResult

DEFAULT_TRAIN_CORPUS = "wiki"
RUNS_DIR = Path("runs")


@dataclass
class TrainAndEval:
    """Everything ``harness train-and-eval`` takes; every field has the CLI's default."""

    model: str = "smollm2-135m"
    lam: float = 0.25
    objective: str = "concept"
    lambda_scope: str = "all"
    mass_threshold: float = 0.6
    profile: str = DEFAULT_PROFILE
    overrides: dict[str, Any] = field(default_factory=dict)  # Hyper fields (None = the profile's)
    corpus: str | None = None  # training corpus (default wiki)
    selector: str | None = None  # default: the profile's (wordnet on cpu, llm for paper)
    concepts: Path | None = None  # a concept file to use instead of building one
    randomize: bool = False  # train on the noise control of the concept file (method "noise")
    concept_sequences: int | None = None  # default: the profile's; 0 = the whole train split
    out: Path | None = None
    tasks: str = "all"
    options: Any = None  # harness.runner.EvalOptions (default: EvalOptions() with results/)
    limit: int | None = None  # --limit: evaluation cap per task (quick checks; default none)
    seed: int = 0
    resume: bool = True
    device: str = "auto"
    dtype: str = "auto"
    report_to: str = "none"
    progress: bool = True
    leaderboard: bool = True


@dataclass
class TrainAndEvalResult:
    concepts: Path
    train: TrainResult
    base: Any  # RunSummary of the base tasks evaluated now (None when every result existed)
    adapter: Any  # RunSummary of the adapter
    options: Any  # the EvalOptions used for both
    seconds: dict[str, float]


def default_out(cfg: TrainAndEval, selector: str, corpus: str) -> Path:
    method = method_name(cfg.objective, cfg.lam, cfg.randomize)
    name = f"{cfg.model}-{method}-lam{cfg.lam:g}-{cfg.lambda_scope}-{corpus}-{selector}-{cfg.profile}-seed{cfg.seed}"
    return RUNS_DIR / slug(name)


def concept_file_for(cfg: TrainAndEval, selector: str, corpus: str, sequences: int, max_synonyms: int,
                     options) -> Path:
    """The given concept file, or the cached build from the train part of the evaluation's split
    (``options``' held-out size and split seed); with ``randomize``, its cached noise control beside it."""
    if cfg.concepts is not None:
        path = Path(cfg.concepts)
    else:
        from harness.concepts.builder import cached_concept_file

        path = cached_concept_file(cfg.model, corpus, "train", selector, limit=sequences or None,
                                   max_synonyms=max_synonyms, heldout_size=options.heldout_size(),
                                   split_seed=options.split_seed(), device=cfg.device, dtype=cfg.dtype)
    if not cfg.randomize:
        return path
    from harness.concepts.randomize import randomize_file

    noise = path.with_name(f"{path.stem}.noise-v2-seed{cfg.seed}.jsonl")  # v2: sets without the original token
    if not noise.is_file():
        randomize_file(path, noise, cfg.seed)
    return noise


def training_setup(cfg: TrainAndEval, hyper) -> tuple[str, str]:
    """(training corpus, selector): the flags, else what the given concept file's header records
    (a built-in corpus by name, a file by its path), else wiki and the profile's selector."""
    corpus, selector = cfg.corpus, cfg.selector
    if cfg.concepts is not None and not (corpus and selector):
        from harness.concepts.concept_file import read_header
        from harness.corpora import BUILTIN

        header = read_header(cfg.concepts)
        built = header.get("corpus") if isinstance(header.get("corpus"), dict) else {}
        chosen = header.get("selector") if isinstance(header.get("selector"), dict) else {}
        corpus = corpus or (built.get("name") if built.get("name") in BUILTIN else built.get("source"))
        selector = selector or chosen.get("name")
    return corpus or DEFAULT_TRAIN_CORPUS, selector or hyper.selector


def eval_options_for(cfg: TrainAndEval, hyper):
    """The evaluation options of a run, the same for the base model and every adapter of a grid.

    Unless given: the profile's held-out cap (``--heldout-limit``); the LM corpora follow the
    training corpus (in-domain first, then :func:`harness.splits.evaluation_corpora`'s
    out-of-domain partner); the geometry concept sets follow the training corpus and selector."""
    from harness.splits import evaluation_corpora
    from harness.runner import EvalOptions

    options = replace(cfg.options) if cfg.options is not None else EvalOptions()
    if cfg.limit is not None and cfg.limit < 1:
        raise UserError("--limit must be at least 1")
    options.limit = cfg.limit
    train_corpus, selector = training_setup(cfg, hyper)
    follow = {"heldout_limit": hyper.heldout_limit, "corpus": ",".join(evaluation_corpora(train_corpus)),
              "geometry_corpus": train_corpus, "geometry_selector": selector}
    options.extra = {**options.extra, **{k: v for k, v in follow.items() if options.extra.get(k) is None}}
    options.seed = cfg.seed
    return options


def missing_base_tasks(info, tasks: list, options) -> list[str]:
    """Tasks without a base result computed under the same evaluation options (results_dir aside)."""
    from harness.results import ResultError, load_result

    want = {k: v for k, v in options.recorded().items() if k != "results_dir"}
    missing = []
    for task in tasks:
        folder = Path(options.results_dir) / info.id
        files = sorted(folder.glob(f"{task.name}.json")) + sorted(folder.glob(f"{task.name}@*.json"))
        ok = bool(files)
        for f in files:
            try:
                have = {k: v for k, v in load_result(f).record.get("options", {}).items() if k != "results_dir"}
            except ResultError:
                have = None
            ok = ok and have == want
        if not ok:
            missing.append(task.name)
    return missing


def refresh_leaderboard(results_dir: Path, file: TextIO) -> None:
    """Rebuild the leaderboard (``leaderboard.md`` beside the results folder, as ``harness leaderboard build``
    writes it for ``results/``) when the ``leaderboard`` package provides its build function."""
    try:
        from leaderboard.build import build
    except ImportError:
        return
    results_dir = Path(results_dir)
    report = build(results_dir, results_dir.parent / "leaderboard.md")
    print(f"leaderboard: {report.markdown} ({report.n_models} models)", file=file)


def train_and_eval(cfg: TrainAndEval, file: TextIO | None = None) -> TrainAndEvalResult:
    from harness.models import describe_spec
    from harness.runner import evaluate, print_summary, select_tasks
    from trainers.recipe import train

    file = file or sys.stdout
    check_settings(cfg.lam, cfg.lambda_scope, cfg.mass_threshold)  # user errors before any work
    hyper = resolve_profile(cfg.profile, cfg.overrides)
    base_info = describe_spec(cfg.model)
    if base_info.kind != "causal_lm":
        raise UserError(f"--model {cfg.model} is not a base causal LM")
    tasks = select_tasks(cfg.tasks, base_info)
    options = eval_options_for(cfg, hyper)
    corpus, selector = training_setup(cfg, hyper)
    sequences = hyper.concept_sequences if cfg.concept_sequences is None else cfg.concept_sequences
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    print(f"[1/4] concept file ({corpus}, selector {selector}, {sequences or 'all'} sequences)", file=file)
    concepts = concept_file_for(cfg, selector, corpus, sequences, hyper.max_synonyms, options)
    seconds["concepts"] = time.perf_counter() - t0

    out = cfg.out or default_out(cfg, selector, corpus)
    print(f"[2/4] training {out} (λ={cfg.lam}, {cfg.objective}, scope {cfg.lambda_scope}, profile {cfg.profile})",
          file=file)
    t1 = time.perf_counter()
    trained = train(TrainConfig(model=cfg.model, concepts=concepts, out=out, lam=cfg.lam, objective=cfg.objective,
                                lambda_scope=cfg.lambda_scope, mass_threshold=cfg.mass_threshold,
                                profile=cfg.profile, overrides=cfg.overrides, seed=cfg.seed, resume=cfg.resume,
                                device=cfg.device, dtype=cfg.dtype, report_to=cfg.report_to, progress=cfg.progress))
    seconds["train"] = time.perf_counter() - t1
    if trained.reused:
        print(f"      {out} already holds this finished run: reused", file=file)

    t2 = time.perf_counter()
    missing = missing_base_tasks(base_info, tasks, options)
    print(f"[3/4] base model {cfg.model}: evaluating {', '.join(missing) if missing else 'nothing (results exist)'}"
          f" (held-out limit {options.heldout_limit() or 'none'})", file=file)
    base = evaluate(cfg.model, ",".join(missing), options, device=cfg.device, dtype=cfg.dtype) if missing else None
    seconds["eval_base"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    print(f"[4/4] adapter {out}: evaluating {', '.join(t.name for t in tasks)}", file=file)
    adapter = evaluate(str(out), ",".join(t.name for t in tasks), options, device=cfg.device, dtype=cfg.dtype)
    seconds["eval_adapter"] = time.perf_counter() - t3
    print_summary(adapter, file=file)
    if cfg.leaderboard:
        refresh_leaderboard(options.results_dir, file)
    seconds["total"] = time.perf_counter() - t0
    print("time: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()), file=file)
    return TrainAndEvalResult(concepts=concepts, train=trained, base=base, adapter=adapter, options=options,
                              seconds=seconds)
