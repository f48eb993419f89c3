"""Build a concept-set file: content words → top-k candidates → selector → T* (``harness concepts build``).

Pipeline, over one part of the corpus split (``train`` by default; ``validation`` and
``heldout`` exist for evaluation tasks that need concept sets of held-out text, never for
training):

1. content words of each sequence (:mod:`concepts.content_words`);
2. the share of them that gets a concept set (``proportion``, :mod:`concepts.concept_sets`), of those
   that are heads the corpus marks with ``heads_only`` (a lexical-substitution corpus: what its gold scores);
3. the base model's top-``k`` next tokens at each kept position, one batched forward pass per
   batch of sequences (:mod:`concepts.candidates`);
4. the whole-word alphabetic candidates, less what :mod:`concepts.candidate_rules` removes
   (forms of the word itself, case variants, letters, disagreeing inflections), so every selector
   obeys the same rules;
5. the selector's synonyms among them;
6. T* = original token + first tokens of ``" " + synonym`` (≤ 10, de-duplicated).

Each record carries its candidate counts; when the build ends, the header gains ``build_stats``
(their sums and the set statistics, :mod:`concepts.build_summary`). A build whose sets are
all singletons stops with a user error (:func:`~concepts.build_summary.check_not_all_singletons`).

Sequences are processed in fixed chunks of ``chunk_size`` consecutive indices and written in
index order, one flushed line each. ``resume`` keeps the finished lines and recomputes the
unfinished chunks whole (the batches, and so the floating-point sums, are the same as in an
uninterrupted build), writing only the missing sequences: the resumed file equals an
uninterrupted build's byte for byte. The header carries no timestamp for that reason.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from concepts.build_header import make_header
from concepts.build_summary import BuildStats, check_not_all_singletons, counts, build_stats_block
from concepts.concept_file import ConceptRecord, ConceptTarget
from concepts.concept_file_writer import ConceptFileWriter, finalize_header
from concepts.concept_sets import MAX_SYNONYMS, build_concept_set, choose_targets, parse_proportion, sequence_rng
from concepts.sample_rule import SAMPLE_RULES, apply_rule
from concepts.selector_registry import SELECTORS, selector_settings, setting_names
from harness.config import AT_LEAST_1, SEED, Check, check_fields, option, provided
from harness.errors import UserError
from harness.splits import HELDOUT_SIZE, SPLIT_SEED, VALIDATION_FRACTION

SPLIT_PARTS = ("train", "validation", "heldout")


@dataclass
class BuildConfig:
    """Everything that decides a concept file's content (all of it lands in the header); the option fields
    are the flags of ``harness concepts build`` (:mod:`harness.config`). ``selector_settings`` holds the values
    of the settings the registered selectors declare (``register_selector(..., settings=...)``), by field name:
    their flags sit among these, and the chosen selector reads its own (:class:`~concepts.selector_registry.
    SelectorContext`). Made from flat keyword settings by :func:`build_config`."""

    selector: str = option(help="synonym selector: llm, wordnet, embedding, gold (or a plugin's)")
    split: str = option("train", choices=SPLIT_PARTS,
                        help="part of the corpus split (train for training; heldout only for evaluation tasks)")
    k: int = option(200, check=AT_LEAST_1, help="top-k next-token candidates per content word")
    proportion: str = option("1.0", help="share of content words per sequence: 1.0, 0.5, 0.25 or last")
    selector_settings: dict[str, Any] = provided(selector_settings)
    limit: int | None = option(None, type=int, check=AT_LEAST_1, help="only N sequences of the split part (--sample)")
    heads_only: bool = option(False, help="a lexical-substitution corpus (.xml, coinco-*): sets for its marked heads "
                              "only, the words its gold scores (other content words of a context are never scored)")
    sample: str = option("first", choices=SAMPLE_RULES, help="which N: first (of the shuffled part) or paper (train "
                         "part: N whole documents of 50 < characters < 2,000 drawn with the split seed)")
    seed: int = option(0, check=SEED, help="seed of the proportion draws")
    heldout_size: int = option(HELDOUT_SIZE, check=AT_LEAST_1, help="corpus split: held-out sequences")
    validation_fraction: float = option(VALIDATION_FRACTION, check=Check(ge=0, lt=1),
                                        help="corpus split: validation share of the rest")
    split_seed: int = option(SPLIT_SEED, check=SEED, help="corpus split: document permutation seed (evaluate with the same "
                                              "--split-seed)")
    chunk_size: int = option(32, check=AT_LEAST_1, help="sequences per processing chunk")
    max_batch_tokens: int = option(4096, check=AT_LEAST_1, help="padded tokens per forward batch")
    max_synonyms: int = MAX_SYNONYMS

    def check(self) -> None:
        selector = SELECTORS.get(self.selector)
        self.proportion = parse_proportion(self.proportion)
        # the declared checks, the selectors' settings' too (flags were checked when parsed; this is for Python callers)
        check_fields(self, provided=True)
        if selector.check is not None:
            selector.check(selector.typed(self.selector_settings))  # before any corpus or model is loaded
        if self.max_synonyms < 0:
            raise UserError(f"max_synonyms must be at least 0 (got {self.max_synonyms})")

    def flat(self) -> dict[str, Any]:
        """The fields with the selectors' settings inline: the keyword settings :func:`build_config` takes."""
        values = asdict(self)
        return {**values, **values.pop("selector_settings")}


def build_config(selector: str, **settings: Any) -> BuildConfig:
    """The :class:`BuildConfig` of flat keyword ``settings``: its own fields, and the registered selectors'
    settings by field name (``threshold=0.5``); a name that is neither is a TypeError, as for any call."""
    own = {f.name for f in fields(BuildConfig)}
    unknown = [k for k in settings if k not in own and k not in setting_names()]
    if unknown:
        raise TypeError(f"build_config() got an unexpected keyword argument {unknown[0]!r}")
    cfg = BuildConfig(selector=selector, **{k: v for k, v in settings.items() if k in own})
    cfg.selector_settings.update({k: v for k, v in settings.items() if k not in own})
    return cfg


def corpus_part(corpus: Any, cfg: BuildConfig, quiet: bool = False) -> tuple[Any, list[str], dict[str, Any]]:
    """(corpus, texts of the chosen split part (``limit`` of them by the ``sample`` rule, :mod:`.sample_rule`),
    split record, with the rule's record as ``sample`` unless it is ``first``)."""
    from harness.corpora import load_corpus
    from harness.splits import split_corpus

    if isinstance(corpus, str):
        corpus = load_corpus(corpus)
    split = split_corpus(corpus, heldout_size=cfg.heldout_size, validation_fraction=cfg.validation_fraction,
                         seed=cfg.split_seed)
    texts = getattr(split, cfg.split)
    if not texts:
        hint = (" (an evaluation-only corpus: train on another corpus; concepts build can still use --split "
                "heldout for evaluation sets)") if corpus.eval_only else ""
        raise UserError(f"corpus {corpus.name} has no {cfg.split} sequences{hint}")
    texts, sample = apply_rule(cfg.sample, corpus, cfg.split, texts, cfg.limit, cfg.split_seed, quiet)
    return corpus, texts, split.record if sample is None else {**split.record, "sample": sample}


def _check_out(out: Path, resume: bool, overwrite: bool) -> None:
    if not out.parent.is_dir():
        raise UserError(f"output folder {out.parent} does not exist")
    if out.is_dir():
        raise UserError(f"output {out} is a folder, not a file")
    if out.exists() and not (resume or overwrite):
        raise UserError(f"{out} exists: pass --resume to continue it or --overwrite to replace it")


def build_concepts(model: Any, corpus: Any, selector: str, out: Path | str, *, resume: bool = False,
                   overwrite: bool = False, device: str = "auto", dtype: str = "auto", nlp: Any = None,
                   **settings: Any) -> BuildStats:
    """Build (or resume) the concept file ``out``; ``model`` is a spec or a loaded model, ``corpus``
    a name/path or a :class:`~harness.corpora.Corpus`; ``settings`` are :func:`build_config`'s (the
    :class:`BuildConfig` fields and the selectors' settings)."""
    from concepts.content_words import load_spacy
    from concepts.selector_registry import SelectorContext
    from harness.lexsub_files.coinco import NAMES as COINCO_NAMES

    cfg = build_config(selector, **settings)
    cfg.check()
    selector_entry = SELECTORS.get(cfg.selector)
    if selector_entry.preflight is not None:  # e.g. a judge this machine cannot get: before the corpus and model load
        selector_entry.preflight(selector_entry.typed(cfg.selector_settings))
    out = Path(out)
    _check_out(out, resume, overwrite)
    t0 = time.perf_counter()
    corpus_spec = corpus if isinstance(corpus, str) else corpus.name if corpus.name in COINCO_NAMES else ""
    corpus, texts, split_record = corpus_part(corpus, cfg)
    if cfg.heads_only and corpus.heads is None:
        raise UserError(f"--heads-only needs a lexical-substitution corpus (a SemEval-2007 .xml or coinco, coinco-dev, "
                        f"coinco-test); {corpus.name} marks no heads")
    if isinstance(model, str):
        from harness.lm.load import load_model

        loaded = load_model(model, device=device, dtype=dtype)
    else:
        loaded = model
    if "causal_lm" not in loaded.capabilities:
        raise UserError(f"model {loaded.info.spec} is not a causal LM: it proposes no next-token candidates")
    nlp = nlp or load_spacy()
    ctx = SelectorContext(loaded, nlp, max_synonyms=cfg.max_synonyms, max_batch_tokens=cfg.max_batch_tokens,
                          device=device, dtype=dtype, corpus=corpus_spec, **cfg.selector_settings)
    sel = selector_entry(ctx)
    header = make_header(loaded, corpus, texts, split_record, cfg, sel)
    existed = out.exists()
    stats = BuildStats(out=str(out), setup_seconds=time.perf_counter() - t0)
    try:
        with ConceptFileWriter.open(out, header, resume=resume) as writer:
            stats.already_done = len(writer.done)
            _run(loaded, nlp, sel, texts, cfg, writer, stats, corpus.heads if cfg.heads_only else None)
        if stats.content_words == 0 and stats.already_done == 0:
            raise UserError(f"corpus {corpus.name} ({cfg.split} part, {len(texts)} sequences) has no content words: "
                            f"nothing to build concept sets for")
    except UserError:
        if not existed or overwrite:
            out.unlink(missing_ok=True)
        raise
    finalize_header(out, {"build_stats": build_stats_block(out)})
    return stats


def _run(loaded: Any, nlp: Any, sel: Any, texts: list[str], cfg: BuildConfig, writer: ConceptFileWriter,
         stats: BuildStats, heads: dict[str, set[tuple[int, int]]] | None) -> None:
    from tqdm import tqdm

    from concepts.candidates import WholeWordVocab
    from concepts.content_words import find_content_words

    tok = loaded.tokenizer
    vocab = WholeWordVocab(tok)
    start = time.perf_counter()
    with tqdm(total=len(texts), desc=f"concepts ({cfg.selector})", unit="seq", disable=None,
              initial=len(writer.done)) as bar:
        for c0 in range(0, len(texts), cfg.chunk_size):
            chunk = list(range(c0, min(c0 + cfg.chunk_size, len(texts))))
            if all(i in writer.done for i in chunk):
                continue
            t = time.perf_counter()
            found = find_content_words([texts[i] for i in chunk], tok, nlp=nlp)
            stats.content_word_seconds += time.perf_counter() - t
            plans = [_plan(i, cw, cfg, heads) for i, cw in zip(chunk, found)]
            t = time.perf_counter()
            tops = loaded.top_k_next([p["ids"] for p in plans], [p["positions"] for p in plans], cfg.k,
                                     max_batch_tokens=cfg.max_batch_tokens)
            stats.candidate_seconds += time.perf_counter() - t
            t = time.perf_counter()
            queries, where, plan_counts = _queries(plans, tops, vocab)
            stats.filter_seconds += time.perf_counter() - t
            t = time.perf_counter()
            chosen = sel.select(queries) if queries else []
            stats.selector_seconds += time.perf_counter() - t
            synonyms: dict[tuple[int, int], list[str]] = dict(zip(where, chosen))
            for n, plan in enumerate(plans):
                if plan["index"] in writer.done:
                    continue
                if plan["drop"]:
                    stats.dropped += 1
                    bar.update(1)
                    continue
                targets = []
                for j, (p, word, pos) in enumerate(zip(plan["positions"], plan["words"], plan["pos"])):
                    ids, words = build_concept_set(plan["ids"][p], word, synonyms.get((n, j), []), vocab,
                                                   cfg.max_synonyms)
                    targets.append(ConceptTarget(position=p, token_id=plan["ids"][p], word=word, pos=pos,
                                                 set_ids=ids, set_words=words))
                    stats.add_set(plan["ids"][p], ids)
                    stats.whole_word_targets += vocab.word(plan["ids"][p]) is not None
                writer.append(ConceptRecord(index=plan["index"], text=plan["text"], input_ids=plan["ids"],
                                            targets=targets, candidates=counts(plan_counts[n])))
                stats.candidates.update(plan_counts[n])
                stats.sequences += 1
                stats.content_words += len(targets)
                bar.update(1)
            bar.set_postfix(words=stats.content_words, refresh=False)
            check_not_all_singletons(stats, loaded.info.base, cfg.selector)
    stats.seconds = time.perf_counter() - start


def _span(cw: Any, j: int) -> tuple[int, int]:
    """The character span of content word ``j`` of ``cw`` in its text (its token's end less the word)."""
    end = cw.offsets[cw.positions[j]][1]
    return end - len(cw.words[j]), end


def _plan(index: int, cw: Any, cfg: BuildConfig, heads: dict[str, set[tuple[int, int]]] | None) -> dict[str, Any]:
    """Which content words of one sequence get a set (and, in ``last`` mode, where the sequence ends): the
    ``proportion`` of them, or of those whose span is one of ``heads[text]`` when ``heads`` is given."""
    eligible = list(range(len(cw.positions)))
    if heads is not None:
        eligible = [j for j in eligible if _span(cw, j) in heads.get(cw.text, ())]
    keep = [eligible[j] for j in choose_targets(len(eligible), cfg.proportion, sequence_rng(cfg.seed, index))]
    positions = [cw.positions[j] for j in keep]
    ids, text = list(cw.input_ids), cw.text
    if cfg.proportion == "last" and positions:
        p = positions[-1]
        ids, text = ids[: p + 1], text[: cw.offsets[p][1]]
    return {"index": index, "text": text, "ids": ids, "positions": positions,
            "words": [cw.words[j] for j in keep], "pos": [cw.pos[j] for j in keep], "tags": [cw.tags[j] for j in keep],
            "spans": [_span(cw, j) for j in keep],
            "drop": cfg.proportion == "last" and not positions}


def _queries(plans: list[dict[str, Any]], tops: list[list[list[int]]], vocab: Any
             ) -> tuple[list, list, list[Counter]]:
    """The selector's queries (whole-word candidates less what the candidate rules remove), where each
    belongs (plan, target), and each plan's candidate counts."""
    from concepts.candidate_rules import apply_rules
    from concepts.candidates import SelectionQuery

    queries, where, plan_counts = [], [], []
    for n, plan in enumerate(plans):
        c: Counter = Counter()
        plan_counts.append(c)
        if plan["drop"]:
            continue
        for j, p in enumerate(plan["positions"]):
            words, ids = vocab.pool(tops[n][j])
            kept, kept_ids, removed = apply_rules(words, ids, plan["words"][j], plan["pos"][j], plan["tags"][j])
            c.update(top_k=len(tops[n][j]), whole_word=len(words), pool=len(kept), **removed)
            s, e = plan["spans"][j]
            queries.append(SelectionQuery(text=plan["text"], word=plan["words"][j], pos=plan["pos"][j], start=s, end=e,
                                          token_id=plan["ids"][p], candidates=kept, candidate_ids=kept_ids,
                                          prefix_ids=plan["ids"][:p], tag=plan["tags"][j]))
            where.append((n, j))
    return queries, where, plan_counts
