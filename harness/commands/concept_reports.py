"""``harness concepts stats`` (what one or two concept files hold) and ``harness concepts score`` (their sets
against human substitutes). Parsers here import nothing heavy; the work is imported inside the run functions."""

from __future__ import annotations

from pathlib import Path

from harness.commands.common import add_device_args
from harness.concepts.concept_sets import DEFAULT_MASS_THRESHOLD
from harness.config import Check, add_flag


def add_stats_parser(csub) -> None:
    s = csub.add_parser("stats", help="report on a concept file (or compare two): coverage, set sizes, POS, frequent "
                                      "sets, set mass under the base model")
    s.add_argument("file", help="concept file")
    s.add_argument("file2", nargs="?", help="a second concept file of the same texts: the selectors' agreement")
    s.add_argument("--model", help="model whose p(T*) is reported (default: each file's own base model)")
    s.add_argument("--no-mass", action="store_true", help="skip the set mass (loads no model)")
    add_flag(s, "--threshold", "threshold", DEFAULT_MASS_THRESHOLD, f"mass threshold θ: share of targets with "
             "p(T*) ≥ θ (default: the objectives' {DEFAULT_MASS_THRESHOLD})", check=Check(gt=0, le=1))
    s.add_argument("--out", help="write PREFIX.md (the report) and PREFIX.png (the plot)")
    s.add_argument("--plot", help="write the plot here (PNG), whatever --out says")
    s.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_flag(s, "--max-batch-tokens", "max_batch_tokens", 4096, "padded tokens per forward batch (default 4096)",
             check=Check(ge=1))
    add_device_args(s)
    s.set_defaults(func=run_stats)


def add_score_parser(csub) -> None:
    s = csub.add_parser("score", help="precision/recall of a concept file's sets against SemEval-2007 lexical "
                                      "substitution gold")
    s.add_argument("file", help="concept file built from the lexical-substitution contexts (concepts build --corpus "
                                "X.xml --split heldout --heldout-size N)")
    s.add_argument("--gold", required=True, help="gold file: 'item.pos id :: substitute count;...' lines")
    s.add_argument("--contexts", help="the test XML (default: the corpus the file was built from)")
    s.add_argument("--model", help="model spec whose tokenizer re-tokenises the texts (default: the file's)")
    s.add_argument("--out", help="also write the markdown here")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    s.set_defaults(func=run_score)


def _outputs(args) -> tuple[Path | None, Path | None]:
    from harness.outputs import check_output_file

    md = png = None
    if args.out:
        md = check_output_file(f"{args.out}.md", "--out", overwrite=args.overwrite)
        png = check_output_file(f"{args.out}.png", "--out", overwrite=args.overwrite)
    if args.plot:
        png = check_output_file(args.plot, "--plot", overwrite=args.overwrite)
    return md, png


def run_stats(args) -> int:
    from harness.atomic import atomic_write_text
    from harness.concepts.concept_file import load_concept_file
    from harness.concepts.file_stats import compare_files, mass_stats, summarize_file
    from harness.concepts.stats_report import markdown, plot
    from harness.errors import UserError

    md, png = _outputs(args)
    paths = [Path(p) for p in (args.file, args.file2) if p]
    if len(paths) == 2 and paths[0].resolve() == paths[1].resolve():
        raise UserError(f"compare two different concept files (both are {paths[0]})")
    files = [load_concept_file(p) for p in paths]
    names = [p.name if len(paths) == 1 or paths[0].name != paths[1].name else str(p) for p in paths]
    stats = [summarize_file(cf, name) for cf, name in zip(files, names)]
    if not args.no_mass:
        models: dict[str, object] = {}
        for k, (path, cf) in enumerate(zip(paths, files)):
            spec = args.model or cf.header.model_spec
            if not spec:
                raise UserError(f"concept file {path} names no model: pass --model, or --no-mass")
            if spec not in models:
                from harness.models import load_model

                models[spec] = load_model(spec, device=args.device, dtype=args.dtype)
            model = models[spec]
            if "causal_lm" not in model.capabilities:  # type: ignore[attr-defined]
                raise UserError(f"model {spec} is not a causal LM: it gives no next-token probabilities")
            checked = load_concept_file(path, tokenizer=model.tokenizer)  # type: ignore[attr-defined]
            stats[k].mass = mass_stats(checked, model, args.threshold, args.max_batch_tokens)
    pair = compare_files(files[0], files[1], names[0], names[1]) if len(files) == 2 else None
    text = markdown(stats, pair)
    print(text, end="")
    if md is not None:
        atomic_write_text(md, text)
        print(f"wrote {md}")
    if png is not None:
        plot(stats, png)
        print(f"wrote {png}")
    return 0


def run_score(args) -> int:
    from harness.atomic import atomic_write_text
    from harness.concepts.concept_file import load_concept_file, read_header
    from harness.concepts.lexsub import read_contexts, read_gold
    from harness.concepts.lexsub_score import NOT_IN_FILE, score, score_markdown, wordnet_lemmatizer
    from harness.errors import UserError
    from harness.models import describe_spec, load_tokenizer, model_folder
    from harness.outputs import check_output_file

    out = check_output_file(args.out, "--out", overwrite=args.overwrite) if args.out else None
    header = read_header(args.file)
    contexts_path = args.contexts or header.block("corpus").get("source")
    if not contexts_path or not str(contexts_path).lower().endswith(".xml"):
        raise UserError(f"concept file {args.file} was not built from a lexical-substitution XML: pass --contexts")
    gold = read_gold(args.gold)
    contexts = read_contexts(contexts_path)
    spec = args.model or header.model_spec
    if not spec:
        raise UserError(f"concept file {args.file} names no model: pass --model (its tokenizer re-tokenises the texts)")
    tokenizer = load_tokenizer(model_folder(describe_spec(spec)))
    cf = load_concept_file(args.file, tokenizer=tokenizer)
    result = score(cf, tokenizer, contexts, gold, wordnet_lemmatizer())
    text = score_markdown(result, Path(args.file).name)
    if result.unmatched.get(NOT_IN_FILE):
        text += (f"\n{result.unmatched[NOT_IN_FILE]} contexts are not in the concept file: build it with --split "
                 f"heldout --heldout-size {len({c.text for c in contexts})} (or more) to hold every context.\n")
    print(text, end="")
    if out is not None:
        atomic_write_text(out, text)
        print(f"wrote {out}")
    return 0
