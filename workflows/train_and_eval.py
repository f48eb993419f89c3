"""``train_and_eval(TrainAndEval(...))``: what ``harness train-and-eval --lambda 0.25`` does, as a Python API.

0. before any work: the user errors a run can meet later (the settings, the output places, every selected
   task's ``prepare``, and a judge the llm selector would need but cannot get offline: :func:`check_judge`);
1. the concept file: the one given, or :func:`concepts.concept_cache.cached_concept_file` for
   (base model, training corpus, ``train`` split, selector, settings: :func:`build_settings`, with the
   profile's judge and sample rule, :func:`concept_recipe`): built once, then reused. The
   build runs in a child process with its own copy of the model, which exits before training, so
   the training step does not carry the build's spaCy, WordNet and heap (0.55 GB of peak memory);
2. the base model, loaded once for the rest (:func:`harness.lm.load.load_model`);
3. :func:`trainers.recipe.train` into ``out`` (default ``runs/<model>-<method>-lam<λ>-...``) of that same
   loaded base, trained in place and given back unchanged (LoRA layers removed, never merged), so the
   weights are loaded once and held once: the memory peak is the training step, not two copies of the
   weights; a folder already holding this finished run is reused, an interrupted one resumed;
4. :func:`harness.runner.evaluate` of the loaded base model on every selected task whose result is
   missing (or computed with other evaluation options or an older protocol), then of the adapter, put on that same
   loaded base, with the SAME :class:`~harness.task.EvalOptions`, base first, so every adapter result
   carries the paired bootstrap comparison against the base. Evaluation follows training
   (:func:`eval_options_for`): unless given, the LM tasks' corpora are the training corpus (in-domain)
   and its out-of-domain partner (:func:`harness.splits.evaluation_corpora`), and the geometry tasks'
   held-out concept sets come from the training corpus with the training selector. Held-out sets use
   the fixed split seed (``--split-seed``), never the run seed, and the training concept file comes
   from the train part of that same split, so no run trains on a document it is evaluated on;
5. the summary and the comparison table with 95% CIs (:func:`harness.runner.print_summary`); 6. the leaderboard.

A sweep (λ grid, noise control) calls this once per setting with its own ``TrainAndEval``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from concepts.sample_rule import SAMPLE_RULES
from concepts.selectors.llm import JUDGE_BACKENDS
from harness.config import AT_LEAST_0, NAMES, nested, option, recorded
from harness.errors import UserError
from harness.models import EMBEDDED_DEFAULT
from harness.paths import slug_keeping_end
from harness.task import EvalOptions
from tasks.heldout import heldout_settings
from trainers.objectives import OBJECTIVES, ConceptSettings, ObjectiveSettings, method_name
from trainers.profiles import CONCEPT_RECIPES, PAPER_JUDGE, Hyper, resolve_profile
from trainers.recipe import TrainConfig, TrainResult

RUNS_DIR = Path("runs")


@dataclass
class TrainAndEval:
    """Everything ``harness train-and-eval`` takes, declared once (each field is a flag, :mod:`harness.config`):
    the training run (``train``: its concept file and output folder are optional here), how the concept file
    is made, and the evaluation (``options``: the flags of ``harness eval``)."""

    train: TrainConfig = nested(TrainConfig, settings=ObjectiveSettings(lam=0.25))
    train_corpus: str | None = option(None, help="corpus whose train split becomes the concept file (default: "
                                                 "the profile's: wiki on cpu, c4 for paper); --corpus names the evaluation corpora")
    selector: str | None = option(None, help="synonym selector (default: the profile's: wordnet on cpu, llm for paper)")
    concept_sequences: int | None = option(None, type=int, check=AT_LEAST_0,
                                           help="sequences in the concept file to build (default: the profile's; "
                                                "0 = the whole train part)")
    concept_sample: str | None = option(None, choices=SAMPLE_RULES,
                                        help="which train sequences: first (of the shuffled part; cpu) or paper "
                                             "(whole documents of 50 < characters < 2,000 drawn with the split seed; "
                                             "paper) (default: the profile's)")
    judge: str | None = option(None, help="llm selector: the instruct judge, a folder or hub id (default: the "
                                          f"profile's: the embedded {EMBEDDED_DEFAULT} on cpu, {PAPER_JUDGE} for "
                                          "paper); also judges the geometry tasks' held-out sets when they use llm")
    judge_backend: str = option("hf", choices=JUDGE_BACKENDS, help="llm selector: what runs the judge: hf (the model "
                                                                   "interface) or vllm")
    randomize: bool = option(False, flag="--noise", help="train on the randomised concept file instead (the noise "
                                                         "control; method noise)")
    tasks: str = option("all", check=NAMES, help="comma-separated task names, or all (see harness list)")
    options: EvalOptions = field(default_factory=EvalOptions)  # the flags of harness eval (harness.commands.common)
    leaderboard: bool = option(True, flag="--no-leaderboard", help="do not rebuild leaderboard.md afterwards")
    eval_seed: int | None = None  # no flag: None evaluates with the training seed; a sweep fixes it (evaluation_seed)


@dataclass
class TrainAndEvalResult:
    concepts: Path
    train: TrainResult
    base: Any  # RunSummary of the base tasks evaluated now (None when every result existed)
    adapter: Any  # RunSummary of the adapter
    options: EvalOptions  # the options used for both
    seconds: dict[str, float]


def default_out(cfg: TrainAndEval, selector: str, corpus: str) -> Path:
    """``runs/<model>-<method>-<its settings>-<corpus>-<selector>-<profile>-seed<seed>``: λ and its scope for the
    objectives that read λ (and ntp), else the objective's own settings (``caft-k4-coef0.01-decay0.8``). A name
    too long for a slug (a corpus given by a long path) is cut before the selector, with a hash of what was cut
    (:func:`harness.paths.slug_keeping_end`): the seed stays in it, so the seeds of a grid never share a folder."""
    t = cfg.train
    method = method_name(t.objective, t.settings.lam, cfg.randomize)
    objective = OBJECTIVES.get(t.objective)
    if objective.reads_lambda or objective.settings is None:  # ntp: the --lambda-scope given, as its names always had
        tag = f"lam{t.settings.lam:g}-{t.settings.of(ConceptSettings).lambda_scope}"
    else:
        own = recorded(t.settings.of(objective.settings))
        tag = "-".join(f"{key.split('_')[-1]}{value if isinstance(value, str) else format(value, 'g')}"
                       for key, value in own.items())
    return RUNS_DIR / slug_keeping_end(f"{t.model}-{method}-{tag}-{corpus}", f"-{selector}-{t.profile}-seed{t.seed}")


def concept_recipe(cfg: TrainAndEval, hyper: Hyper) -> tuple[str | None, str, int]:
    """(judge, sample rule, sequences) of the concept file to build: the flags, else the profile's
    (:data:`trainers.profiles.CONCEPT_RECIPES`, ``Hyper.concept_sequences``)."""
    recipe = CONCEPT_RECIPES[cfg.train.profile]
    sequences = hyper.concept_sequences if cfg.concept_sequences is None else cfg.concept_sequences
    return cfg.judge or recipe.judge, cfg.concept_sample or recipe.sample, sequences


def build_settings(cfg: TrainAndEval, hyper: Hyper, selector: str, options: EvalOptions) -> dict[str, Any]:
    """The :class:`~concepts.builder.BuildConfig` settings of the training concept file, from the train part
    of the evaluation's split (``options``' held-out size and split seed); the sample rule, judge (llm only) and
    backend only when not the defaults (first, embedded, hf): the keys of files built before they existed stay."""
    judge, sample, sequences = concept_recipe(cfg, hyper)
    settings: dict[str, Any] = dict(limit=sequences or None, max_synonyms=hyper.max_synonyms,
                                    heldout_size=heldout_settings(options).heldout_size,
                                    split_seed=heldout_settings(options).split_seed)
    given = {"sample": sample, **({"judge": judge, "judge_backend": cfg.judge_backend} if selector == "llm" else {})}
    return {**settings, **{k: v for k, v in given.items() if v not in (None, "first", "hf")}}


def check_judge(cfg: TrainAndEval, hyper: Hyper) -> None:
    """Before any work (of ``train-and-eval``, or of a whole sweep): when the llm selector is to build the
    training concept file (none given, none cached) and its judge is a hub id this offline machine lacks, one
    line naming it (:func:`concepts.judge_check.require_judge`)."""
    from concepts.judge_check import offline_missing, require_judge

    corpus, selector = training_setup(cfg, hyper)
    settings = build_settings(cfg, hyper, selector, eval_options_for(cfg, hyper))
    judge = settings.get("judge")
    if cfg.train.concepts is not None or selector != "llm" or not offline_missing(judge):
        return
    from concepts.concept_cache import concept_cache_path
    from harness.lm.load import resolved_dtype
    from harness.models import describe_spec

    dtype = resolved_dtype(cfg.train.device, cfg.train.dtype)
    if concept_cache_path(describe_spec(cfg.train.model), corpus, "train", selector, dtype=dtype, **settings).is_file():
        return  # built before: no judge needed
    require_judge(judge, "--judge" if cfg.judge else f"the {cfg.train.profile} profile's judge")


def concept_file_for(cfg: TrainAndEval, selector: str, corpus: str, settings: dict[str, Any]) -> Path:
    """The given concept file, or the cached build (by the base model, in a child process) of
    :func:`build_settings`; with ``randomize``, its cached noise control beside it, drawn with the split seed
    (``settings``' ``split_seed``), as the held-out text and the concept file are: the training seed changes the
    training only, so the runs of a seed grid train on one concept file and one noise file."""
    t = cfg.train
    if t.concepts is not None:
        path = Path(t.concepts)
    else:
        from concepts.concept_cache import cached_concept_file

        path = cached_concept_file(t.model, corpus, "train", selector, separate_process=True, device=t.device,
                                   dtype=t.dtype, **settings)
    if not cfg.randomize:
        return path
    from concepts.randomize import randomize_file

    seed = settings["split_seed"]  # the data's seed, never the training seed: every seed of a grid shares the noise
    noise = path.with_name(f"{path.stem}.noise-v2-seed{seed}.jsonl")  # v2: sets without the original token
    if not noise.is_file():
        randomize_file(path, noise, seed)
    return noise


def training_setup(cfg: TrainAndEval, hyper: Hyper) -> tuple[str, str]:
    """(training corpus, selector): the flags, else what the given concept file's header records
    (a built-in corpus by name, a file by its path), else the profile's corpus and selector."""
    corpus, selector = cfg.train_corpus, cfg.selector
    if cfg.train.concepts is not None and not (corpus and selector):
        from concepts.concept_file import read_header

        header = read_header(cfg.train.concepts)
        corpus = corpus or header.corpus_spec
        selector = selector or header.block("selector").get("name")
    return corpus or CONCEPT_RECIPES[cfg.train.profile].corpus, selector or hyper.selector


def eval_options_for(cfg: TrainAndEval, hyper: Hyper) -> EvalOptions:
    """The evaluation options of a run, the same for the base model and every adapter of a grid.

    Unless given: the profile's held-out cap (``--heldout-limit``); the LM corpora follow the
    training corpus (in-domain first, then :func:`harness.splits.evaluation_corpora`'s
    out-of-domain partner); the geometry concept sets follow the training corpus and selector, and
    when that selector is llm, the training judge and backend. The evaluation seed: :func:`evaluation_seed`."""
    from harness.splits import evaluation_corpora

    options = replace(cfg.options)
    train_corpus, selector = training_setup(cfg, hyper)
    follow = {"heldout_limit": hyper.heldout_limit, "corpus": ",".join(evaluation_corpora(train_corpus)),
              "geometry_corpus": train_corpus, "geometry_selector": selector}
    given = options.task_options
    if (given.get("geometry_selector") or selector) == "llm":  # None and hf (the defaults) leave the record as it was
        follow.update(geometry_judge=concept_recipe(cfg, hyper)[0],
                      geometry_judge_backend=None if cfg.judge_backend == "hf" else cfg.judge_backend)
    options.task_options = {**given, **{k: v for k, v in follow.items() if given.get(k) is None}}
    options.seed = evaluation_seed(cfg)
    return options


def evaluation_seed(cfg: TrainAndEval) -> int:
    """The seed of the evaluation (``EvalOptions.seed``: set before every task, and the paired bootstrap's):
    ``eval_seed`` when set, else the training run's. A sweep over training seeds sets it to its ``--seed`` for
    every point, so the base model and the adapters of every training seed are evaluated under one set of
    options: the base's results are computed once and every point compares against them."""
    return cfg.train.seed if cfg.eval_seed is None else cfg.eval_seed


def refresh_leaderboard(results_dir: Path, file: TextIO) -> None:
    """Rebuild ``leaderboard.md`` beside the results folder (as ``harness leaderboard build`` does)."""
    from leaderboard.build import rebuild

    rebuild(Path(results_dir), Path(results_dir).parent / "leaderboard.md", file=file)


def train_and_eval(cfg: TrainAndEval, file: TextIO | None = None) -> TrainAndEvalResult:
    from harness.lm.load import load_model, resolved_dtype, with_adapter
    from harness.models import describe_spec, dtype_name
    from harness.runner import evaluate, print_summary, select_tasks
    from trainers.recipe import train
    from trainers.run_folder import CHECKPOINTS, last_checkpoint
    from workflows.base_results import missing_base_tasks

    file = file or sys.stdout
    t = cfg.train
    hyper = resolve_profile(t.profile, t.overrides)  # user errors before any work
    base_info = describe_spec(t.model)
    if base_info.kind != "causal_lm":
        raise UserError(f"--model {t.model} is not a base causal LM")
    tasks = select_tasks(cfg.tasks, base_info)
    options = eval_options_for(cfg, hyper)
    from harness.outputs import check_output_folder

    check_output_folder(options.results_dir, "--results-dir")  # not only after the training
    if cfg.leaderboard:
        from leaderboard.build import output_paths

        output_paths(Path(options.results_dir).parent / "leaderboard.md")
    corpus, selector = training_setup(cfg, hyper)
    settings = build_settings(cfg, hyper, selector, options)
    check_judge(cfg, hyper)
    from harness.task import EvalContext

    context = EvalContext(options, base_info)  # one context: the LM tasks share their corpora
    for task in tasks:  # the evaluation's user errors (a data file, a geometry judge it cannot get) before any work
        task.prepare(context)
    out = t.out or default_out(cfg, selector, corpus)
    check_output_folder(out, "--out")  # a place the adapter can go, before the concept build
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    judge = f", judge {settings.get('judge', EMBEDDED_DEFAULT)}" if selector == "llm" else ""
    built = (f"({corpus}, selector {selector}{judge}, {settings['limit'] or 'all'} sequences, "
             f"sample {settings.get('sample', 'first')})")
    print(f"[1/4] concept file {built if t.concepts is None else f'{t.concepts} (given)'}", file=file)
    concepts = concept_file_for(cfg, selector, corpus, settings)
    from concepts.concept_file import read_header

    read_header(concepts).check_training_part(concepts)  # as training does, but before the model loads
    seconds["concepts"] = time.perf_counter() - t0

    print(f"[2/4] training {out} ({t.objective}, profile {t.profile})", file=file)
    t1 = time.perf_counter()
    lm = load_model(t.model, device=t.device, dtype=t.dtype, info=base_info)
    resume = last_checkpoint(Path(out) / CHECKPOINTS) is not None  # an interrupted run of its own continues
    run = replace(t, concepts=concepts, out=out, resume=resume)
    same_weights = dtype_name(lm.dtype) == resolved_dtype(run.device, run.dtype)
    trained = train(run, model=lm.module if same_weights else None)  # trains the loaded base in place
    seconds["train"] = time.perf_counter() - t1
    if trained.reused:
        print(f"      {out} already holds this finished run: reused", file=file)

    t2 = time.perf_counter()
    missing = missing_base_tasks(base_info, tasks, options)
    print(f"[3/4] base model {t.model}: evaluating {', '.join(missing) if missing else 'nothing (results exist)'}"
          f" (held-out limit {heldout_settings(options).sequence_limit(options.limit) or 'none'})", file=file)
    base = evaluate(t.model, ",".join(missing), options, lm=lm) if missing else None
    seconds["eval_base"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    print(f"[4/4] adapter {out}: evaluating {', '.join(task.name for task in tasks)}", file=file)
    adapter_lm = with_adapter(lm, describe_spec(str(out)))  # the base is the adapter's from here on
    adapter = evaluate(str(out), ",".join(task.name for task in tasks), options, lm=adapter_lm)
    seconds["eval_adapter"] = time.perf_counter() - t3
    print_summary(adapter, file=file)
    if cfg.leaderboard:
        refresh_leaderboard(options.results_dir, file)
    seconds["total"] = time.perf_counter() - t0
    print("time: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()), file=file)
    return TrainAndEvalResult(concepts=concepts, train=trained, base=base, adapter=adapter, options=options,
                              seconds=seconds)
