"""``harness train-and-eval --dry-run`` (and ``harness sweep --dry-run``): what a run would do, loading no model
and building nothing.

It prints the concept file's recipe (corpus, selector, the judge and whether this machine can get it, the
sample rule and, for a corpus read from disk, how many sequences it has to draw from), every training
setting with its source (:data:`trainers.profile_sources.SOURCES`; a value given by a flag says so) and the
evaluation's split, held-out and seed settings. It reads the training corpus (a streamed one is not read) and asks
the Hugging Face cache about the judge; a judge that is missing offline is shown, not refused: exit 0.
"""

from __future__ import annotations

from typing import TextIO

from workflows.train_and_eval import TrainAndEval


def judge_status(spec: str | None) -> str:
    """Where judge ``spec`` comes from here (no model is loaded)."""
    from concepts.judge_check import HINT, offline_missing
    from harness.models import ALIASES, describe_spec
    from harness.paths import offline

    if offline_missing(spec):
        return f"NOT available offline: {HINT} (needed unless the concept file is cached)"
    info = describe_spec(spec) if spec else None
    if info is None or info.spec in ALIASES or info.path:
        return "available here"
    return "in the local Hugging Face cache" if offline() else "from the hub (downloaded when it first loads)"


def sample_line(corpus: str, sample: str, sequences: int, split_seed: int, heldout_size: int) -> str:
    """The sample rule in words, with the supply it draws from when the corpus is read from disk."""
    from concepts.sample_rule import PAPER_CHARS

    n = f"{sequences}" if sequences else "all"
    if sample == "first":
        return f"first: the first {n} sequences of the shuffled train part"
    lo, hi = PAPER_CHARS
    line = (f"{sample}: {n} whole documents of {lo} < characters < {hi:,} of the train part (others dropped, not "
            f"chunked), drawn by numpy default_rng({split_seed}) (the split seed)")
    from harness.corpus_stream import STREAMED

    if corpus in STREAMED:
        return line + f"; {corpus} streams: the supply is counted when it is built"
    from concepts.sample_rule import eligible
    from harness.corpora import load_corpus
    from harness.splits import split_corpus

    loaded = load_corpus(corpus)
    available = len(eligible(loaded, split_corpus(loaded, heldout_size, seed=split_seed).train))
    short = f": fewer than {sequences}, all would be used" if sequences and available < sequences else ""
    return line + f"; {available} available in {loaded.name}'s train part{short}"


def print_plan(cfg: TrainAndEval, file: TextIO, sweep: bool = False) -> None:
    """The plan of ``cfg`` (module docstring); ``sweep``: of what every point of a sweep shares."""
    from harness.models import EMBEDDED_DEFAULT
    from trainers.profile_sources import rows, settings, shown
    from trainers.profiles import resolve_profile
    from tasks.heldout import heldout_settings
    from workflows.train_and_eval import concept_recipe, eval_options_for, training_setup

    t = cfg.train
    hyper = resolve_profile(t.profile, t.overrides)
    corpus, selector = training_setup(cfg, hyper)
    options = eval_options_for(cfg, hyper)
    heldout = heldout_settings(options)
    judge, sample, sequences = concept_recipe(cfg, hyper)
    what = "settings every point shares" if sweep else f"objective {t.objective}"
    print(f"dry run: nothing is loaded or built. model {t.model}, {what}, profile {t.profile}", file=file)
    if t.concepts is not None:
        print(f"concept file: {t.concepts} (given: its judge and sample are what it was built with)", file=file)
    else:
        print(f"concept file: built from {corpus} (train part), selector {selector}", file=file)
        if selector == "llm":
            who = "--judge" if cfg.judge else f"the {t.profile} profile's"
            print(f"  judge: {judge or EMBEDDED_DEFAULT} ({who}; backend {cfg.judge_backend}): {judge_status(judge)}",
                  file=file)
        else:
            print(f"  judge: none (selector {selector} needs none)", file=file)
        print("  sample: " + sample_line(corpus, sample, sequences, heldout.split_seed, heldout.heldout_size),
              file=file)
    profile = settings(t.profile)
    now = {**profile, **{name: getattr(hyper, name) for name in profile if hasattr(hyper, name)},
           "selector": selector, "concept_sequences": sequences, "judge": judge, "sample": sample,
           "heldout_limit": heldout.heldout_limit}
    print(f"training settings of profile {t.profile} (setting, flag, value, source: note):", file=file)
    width = max(map(len, profile))
    for name, flag, value, source, note in rows(t.profile):
        if now[name] != profile[name]:  # a flag (or, for the selector, the given concept file) set it
            value, source, note = shown(name, now[name]), "given", f"not the profile's {value}"
        print(f"  {name:<{width}}  {flag or '(no flag)':<26} {value:<33} {source}: {note}", file=file)
    task_options = options.task_options
    geometry = f"{task_options['geometry_corpus']} by {task_options['geometry_selector']}"
    if task_options["geometry_selector"] == "llm":
        geometry += f" (judge {task_options.get('geometry_judge') or EMBEDDED_DEFAULT})"
    print(f"evaluation: tasks {cfg.tasks}; LM corpora {task_options['corpus']}; "
          f"held-out size {heldout.heldout_size}, split seed {heldout.split_seed}, held-out limit "
          f"{heldout.sequence_limit(options.limit) or 'all'}; evaluation seed {options.seed}; geometry sets from {geometry}",
          file=file)
