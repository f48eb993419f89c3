"""``harness concepts build`` (corpus -> concept-set file), ``randomize`` (noise control), ``show``; ``stats``,
``score``, ``pool-recall`` and ``score-table`` (reports) live in :mod:`concepts.report_commands`."""

from __future__ import annotations

import argparse

from concepts.builder import BuildConfig
from harness.commands.common import add_device_args
from concepts.report_commands import add_pool_parser, add_score_parser, add_score_table_parser, add_stats_parser
from harness.config import SEED, add_arguments, add_flag
from harness.models import EMBEDDED_DEFAULT


def add_parser(sub) -> None:
    p = sub.add_parser("concepts", help="build concept-set files and their random noise controls; report on them")
    csub = p.add_subparsers(dest="concepts_command", metavar="ACTION")

    b = csub.add_parser("build", help="content words -> top-k candidates -> synonym selector -> concept sets",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    b.add_argument("--model", default=EMBEDDED_DEFAULT, help="base model spec the candidates come from")
    b.add_argument("--corpus", default="wiki", help="corpus: wiki, lee, c4, openwebtext, or a .txt/.jsonl file")
    b.add_argument("--out", required=True, help="output concept file (JSON Lines)")
    add_arguments(b, BuildConfig, required=("selector",))
    b.add_argument("--resume", action="store_true", help="continue an interrupted build of --out")
    b.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_device_args(b)
    b.set_defaults(func=run_build)

    r = csub.add_parser("randomize", help="noise control: replace every set by random draws from the pooled synonyms")
    r.add_argument("input", help="concept file to randomize")
    r.add_argument("output", help="output concept file")
    add_flag(r, "--seed", "seed", 0, "seed of the random draws", check=SEED)
    r.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    r.set_defaults(func=run_randomize)

    s = csub.add_parser("show", help="check a concept file (and that it fits a model's tokenizer) and print its statistics")
    s.add_argument("file", help="concept file")
    s.add_argument("--model", help="model spec whose tokenizer the file must fit")
    s.set_defaults(func=run_show)
    add_stats_parser(csub)
    add_score_parser(csub)
    add_pool_parser(csub)
    add_score_table_parser(csub)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_build(args) -> int:
    from concepts.builder import build_concepts
    from harness.config import from_args
    from harness.plugins import load_plugins

    load_plugins()
    settings = from_args(BuildConfig, args).flat()
    stats = build_concepts(args.model, args.corpus, settings.pop("selector"), args.out, resume=args.resume,
                           overwrite=args.overwrite, device=args.device, dtype=args.dtype, **settings)
    print(stats.summary())
    return 0


def run_randomize(args) -> int:
    from concepts.randomize import randomize_file

    cf = randomize_file(args.input, args.output, args.seed, overwrite=args.overwrite)
    n = sum(1 for _ in cf.targets())
    print(f"randomized {n} concept sets of {len(cf.records)} sequences -> {args.output} "
          f"(pool of {cf.header.block('randomized')['pool_size']} synonyms, seed {args.seed})")
    return 0


def run_show(args) -> int:
    from concepts.concept_file import load_concept_file

    tokenizer = None
    if args.model:
        from harness.lm.load import model_folder
        from harness.lm.tokenizer import load_tokenizer
        from harness.models import describe_spec

        tokenizer = load_tokenizer(model_folder(describe_spec(args.model)))
    cf = load_concept_file(args.file, tokenizer=tokenizer)
    print(f"{args.file}: {len(cf.records)} sequences, {set_summary(cf)}")
    h = cf.header
    print(f"model {h.model_spec}, corpus {h.name('corpus')} ({h.split_part or None}), selector {h.name('selector')}, "
          f"k {h.raw.get('k')}, proportion {h.raw.get('proportion')}" + (", randomized" if h.is_noise_control else "")
          + (", fits the model's tokenizer" if tokenizer is not None else ""))
    candidates = h.block("build_stats").get("candidates")
    if candidates:
        from concepts.build_summary import candidate_line

        print(f"candidates: {candidate_line(candidates)}")
    return 0


def set_summary(cf) -> str:
    """``N content words, X% with synonyms, mean set size S``; a noise control has random sets without
    the original token (loading the file checked that), so no share of synonyms."""
    from concepts.set_counts import SetCounts

    sets = SetCounts.of(t for _, t in cf.targets())
    mean, share = (sets.mean_size, sets.non_empty_share) if sets.targets else (0.0, 0.0)
    if cf.header.is_noise_control:
        return f"{sets.targets} content words, random noise sets of mean size {mean:.2f} (never the original token)"
    return f"{sets.targets} content words, {share:.1%} with synonyms, mean set size {mean:.2f}"
