"""``harness concepts stats`` (what one or two concept files hold), ``harness concepts score`` (their sets
against human substitutes), ``pool-recall`` (the candidate pool's ceiling) and ``score-table`` (several scores side
by side). Parsers here import nothing heavy; the work is imported inside the run functions."""

from __future__ import annotations

from pathlib import Path

from harness.commands.common import add_device_args
from concepts.concept_sets import DEFAULT_MASS_THRESHOLD
from harness.config import SEED, Check, add_flag


def add_forward_args(s) -> None:
    add_flag(s, "--max-batch-tokens", "max_batch_tokens", 4096, "padded tokens per forward batch (default 4096)",
             check=Check(ge=1))
    add_device_args(s)


def add_report_outputs(s, what: str) -> None:
    """``--out`` (markdown), ``--json`` and ``--overwrite``."""
    s.add_argument("--out", help="also write the markdown here")
    s.add_argument("--json", help=f"also write {what} here (JSON)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --out / --json")


def write_reports(text: str, out, out_json, report) -> None:
    """Print the markdown; write it to ``out`` and ``report()`` to ``out_json`` (atomically) where given."""
    import json

    from harness.atomic import atomic_write_text

    print(text, end="")
    if out is not None:
        atomic_write_text(out, text)
        print(f"wrote {out}")
    if out_json is not None:
        atomic_write_text(out_json, json.dumps(report(), indent=1) + "\n")
        print(f"wrote {out_json}")


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
    add_forward_args(s)
    s.set_defaults(func=run_stats)


def add_score_parser(csub) -> None:
    s = csub.add_parser("score", help="precision/recall and SemEval-2007's best/oot measures of a concept file's sets "
                                      "against human substitutes (SemEval-2007 or CoInCo)")
    s.add_argument("file", help="concept file built from the gold's contexts (concepts build --corpus X.xml or "
                                "coinco-test --split heldout --heldout-size N)")
    s.add_argument("--gold", required=True, help="SemEval-2007 gold file ('item.pos id :: substitute count;...' "
                                                 "lines), or CoInCo: coinco, coinco-dev, coinco-test or a coinco.xml.gz")
    s.add_argument("--contexts", help="SemEval-2007: the test XML (default: the corpus the file was built from)")
    s.add_argument("--model", help="model spec whose tokenizer re-tokenises the texts (default: the file's)")
    add_report_outputs(s, "the figures and every target's columns")
    add_flag(s, "--resamples", "resamples", 1000, "bootstrap resamples over targets (default 1000)", check=Check(ge=1))
    add_flag(s, "--seed", "seed", 0, "bootstrap seed (default 0)", check=SEED)
    s.set_defaults(func=run_score)


def load_gold(gold: str, contexts: str | None, header, what: str) -> tuple[list, dict, dict[str, int]]:
    """(contexts, gold instances, targets left out by reason) of a SemEval-2007 gold file or a CoInCo name."""
    from harness.lexsub_files.coinco import is_coinco, read_coinco
    from harness.lexsub_files.semeval2007 import read_contexts, read_gold
    from harness.errors import UserError

    if is_coinco(gold):
        data = read_coinco(gold)
        left_out = {"problematic": data.problematic, "not aligned to the text": data.unaligned}
        return data.contexts, data.gold, left_out | ({"sentence in the test part too": data.in_test} if data.in_test else {})
    contexts_path = contexts or header.block("corpus").get("source")
    if not contexts_path or not str(contexts_path).lower().endswith(".xml"):
        raise UserError(f"{what}: pass --contexts (the SemEval-2007 XML)")
    found = read_gold(gold)
    return read_contexts(contexts_path), found, {}


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
    from concepts.concept_file import load_concept_file
    from concepts.concept_figures import compare_files, mass_stats, summarize_file
    from concepts.concept_report import markdown, plot
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
                from harness.lm.load import load_model

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
    from concepts.concept_file import load_concept_file, read_header
    from concepts.lexsub_ci import by_pos
    from concepts.lexsub_report import score_json, score_markdown
    from concepts.lexsub_score import NOT_IN_FILE, score, wordnet_lemmatizer
    from harness.errors import UserError
    from harness.lm.load import model_folder
    from harness.lm.tokenizer import load_tokenizer
    from harness.models import describe_spec
    from harness.outputs import check_output_file

    out = check_output_file(args.out, "--out", overwrite=args.overwrite) if args.out else None
    out_json = check_output_file(args.json, "--json", overwrite=args.overwrite) if args.json else None
    header = read_header(args.file)
    contexts, gold, left_out = load_gold(args.gold, args.contexts, header,
                                         f"concept file {args.file} was not built from a lexical-substitution XML")
    spec = args.model or header.model_spec
    if not spec:
        raise UserError(f"concept file {args.file} names no model: pass --model (its tokenizer re-tokenises the texts)")
    tokenizer = load_tokenizer(model_folder(describe_spec(spec)))
    cf = load_concept_file(args.file, tokenizer=tokenizer)
    result = score(cf, tokenizer, contexts, gold, wordnet_lemmatizer())
    cis = by_pos(result, args.resamples, args.seed)
    name = Path(args.file).name
    text = score_markdown(result, name, cis, left_out, args.resamples, args.seed)
    if result.unmatched.get(NOT_IN_FILE):
        text += (f"\n{result.unmatched[NOT_IN_FILE]} contexts are not in the concept file: build it with --split "
                 f"heldout --heldout-size {len({c.text for c in contexts})} (or more) to hold every context.\n")
    write_reports(text, out, out_json, lambda: score_json(result, name, args.gold, cis, left_out, args.resamples,
                                                          args.seed, header=header.raw))
    return 0


def add_score_table_parser(csub) -> None:
    s = csub.add_parser("score-table", help="several concept files' scores side by side: scores.md, scores.csv and "
                                            "scores.png (precision against recall) from concepts score --json files")
    s.add_argument("scores", nargs="+", help="JSON files of harness concepts score --json (one row each, in this order)")
    s.add_argument("--pool", action="append", default=[], help="a JSON file of harness concepts pool-recall --json "
                                                               "(the pool's ceiling; repeat for more)")
    s.add_argument("--out", required=True, help="output folder (created if missing)")
    s.add_argument("--overwrite", action="store_true", help="replace existing scores.md / scores.csv / scores.png")
    s.set_defaults(func=run_score_table)


def run_score_table(args) -> int:
    from harness.atomic import atomic_write_text
    from concepts.score_plot import write_score_plot
    from concepts.score_table import load_pool, load_score, scores_csv, scores_markdown
    from harness.outputs import check_output_file, check_output_folder

    folder = check_output_folder(args.out, "--out")
    paths = [check_output_file(folder / name, "--out", overwrite=args.overwrite)
             for name in ("scores.md", "scores.csv", "scores.png")]
    scores, pools = [load_score(p) for p in args.scores], [load_pool(p) for p in args.pool]
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(paths[0], scores_markdown(scores, pools))
    atomic_write_text(paths[1], scores_csv(scores, pools))
    write_score_plot(scores, paths[2])
    for p in paths:
        print(f"wrote {p}")
    return 0


def add_pool_parser(csub) -> None:
    s = csub.add_parser("pool-recall", help="the candidate pool's ceiling: share of human substitutes among the "
                                            "model's top-k candidates (after the candidate rules)")
    s.add_argument("--gold", required=True, help="CoInCo (coinco, coinco-dev, coinco-test, a coinco.xml.gz) or a "
                                                 "SemEval-2007 gold file (with --contexts)")
    s.add_argument("--contexts", help="SemEval-2007: the XML of the contexts")
    s.add_argument("--model", default=None, help="model spec the candidates come from (default: the embedded one)")
    s.add_argument("--k", default="10,50,200", help="pool sizes, comma-separated (default 10,50,200)")
    add_report_outputs(s, "every target's counts")
    add_forward_args(s)
    s.set_defaults(func=run_pool_recall)


def run_pool_recall(args) -> int:
    from dataclasses import asdict

    from concepts.concept_header import ConceptHeader
    from concepts.lexsub_score import wordnet_lemmatizer
    from concepts.pool_recall import pool_markdown, pool_recall
    from harness.errors import UserError
    from harness.lm.load import load_model
    from harness.models import EMBEDDED_DEFAULT
    from harness.outputs import check_output_file

    try:
        ks = sorted({int(k) for k in args.k.split(",") if k.strip()})
    except ValueError:
        raise UserError(f"--k {args.k!r}: expected comma-separated whole numbers (10,50,200)") from None
    if not ks or ks[0] < 1:
        raise UserError(f"--k {args.k!r}: give one pool size or more, each at least 1")
    out = check_output_file(args.out, "--out", overwrite=args.overwrite) if args.out else None
    out_json = check_output_file(args.json, "--json", overwrite=args.overwrite) if args.json else None
    contexts, gold, _ = load_gold(args.gold, args.contexts, ConceptHeader({}),
                                  "a SemEval-2007 gold file needs its contexts")
    model = load_model(args.model or EMBEDDED_DEFAULT, device=args.device, dtype=args.dtype)
    if "causal_lm" not in model.capabilities:
        raise UserError(f"model {model.info.spec} is not a causal LM: it proposes no next-token candidates")
    result = pool_recall(model, contexts, gold, ks, wordnet_lemmatizer(), max_batch_tokens=args.max_batch_tokens)
    text = pool_markdown(result, f"{args.gold}, {model.info.spec}")
    write_reports(text, out, out_json, lambda: {
        "gold": args.gold, "model": model.info.spec, "k": ks, "recall": {str(k): result.recall(k) for k in ks},
        "token_recall": {str(k): result.recall(k, token=True) for k in ks}, "unmatched": dict(result.unmatched),
        "targets": [{**asdict(r), "key": list(r.key)} for r in result.rows]})
    return 0
