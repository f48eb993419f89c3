"""Cached concept files: one per (base model, corpus part, selector, settings), built once and reused.

Files live under ``<cache>/concepts``, named by model, corpus, split part, selector and a key over
everything that decides their content (the model id and the dtype it runs in, the corpus sha256, the
split part's own texts, the settings, among them the llm selector's judge and backend when given and the
sample rule other than ``first`` (:mod:`concepts.sample_rule`), the file format and the candidate
filter). The dtype is the resolved one (``auto`` is ``bfloat16`` on most GPUs, ``float32`` on a CPU): the
candidates and the judge's answers are the model's numbers, so sets built in float32 are not those of a
bfloat16 run. A build happens beside the final name and is renamed in under a file lock, so concurrent runs
build a file once and never read half of one.

``separate_process=True`` builds from a model spec in a spawned child process, which loads its own
copy of the model, spaCy, WordNet and lemminflect and exits when the file is written: a caller that
trains afterwards (``train-and-eval``) would otherwise carry that state through training, about
0.55 GB of peak memory on the embedded default (none of it can be handed back to the OS: live
caches of the libraries, and the build's fragmented heap). The file is the same byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from concepts.build_header import CANDIDATE_FILTER
from concepts.builder import build_concepts, build_config, corpus_part
from concepts.concept_file import FORMAT_VERSION
from harness.atomic import atomic_path


def cache_key(model_id: str, dtype: str | None, corpus_sha: str, split: str, selector: str,
              settings: dict[str, Any]) -> str:
    payload = json.dumps({"model": model_id, "dtype": dtype, "corpus": corpus_sha, "split": split,
                          "selector": selector, "settings": settings, "format": FORMAT_VERSION,
                          "candidates": CANDIDATE_FILTER}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def concept_cache_path(info: Any, corpus: Any, split: str, selector: str, *, dtype: str | None,
                       **settings: Any) -> Path:
    """Where the concept file of base model ``info`` (a :class:`~harness.models.ModelInfo`) running in ``dtype``
    (a resolved name, :func:`harness.lm.load.resolved_dtype`), ``corpus`` (a name/path or a Corpus), ``split``
    part, ``selector`` and :func:`~concepts.builder.build_config` ``settings`` is cached (whether or not it was built yet); needs
    no model."""
    from harness.corpora import load_corpus, texts_sha256
    from harness.paths import cache_dir, slug

    corpus_obj = load_corpus(corpus) if isinstance(corpus, str) else corpus
    cfg = build_config(selector, split=split, **settings)
    cfg.check()
    _, texts, record = corpus_part(corpus_obj, cfg, quiet=True)  # the key holds the part's texts: a new split method
    # is a new file; it names the embedding mode even when defaulted (the default went from static to contextual)
    if selector == "embedding":
        settings = {**settings, "embedding_mode": cfg.selector_settings["embedding_mode"]}
    # the sample rule: first adds nothing (the keys it always had), another adds its record (limits, count, seed)
    settings = {k: v for k, v in settings.items() if not (k == "sample" and v == "first")}
    if "sample" in record:
        settings["sample_rule"] = {k: v for k, v in record["sample"].items() if k != "available"}
    key = cache_key(info.id, dtype, corpus_obj.sha256, split, selector,
                    {**settings, "part_sha256": texts_sha256(texts)})
    return cache_dir("concepts") / f"{slug(info.name)}-{slug(corpus_obj.name)}-{split}-{selector}-{key}.jsonl"


def cached_concept_file(model: Any, corpus: Any, split: str, selector: str, separate_process: bool = False,
                        **settings: Any) -> Path:
    """The concept file for (base model, corpus, split, selector, settings), built on first use and reused.

    ``model`` is a spec or a loaded model (its ``info.id`` and dtype key the cache and it builds the file, so
    the model is not loaded again); ``settings`` are :func:`~concepts.builder.build_config`'s plus ``device``/``dtype``/``nlp``
    for a build from a spec (the dtype they resolve to keys the cache). ``separate_process`` (a spec only): build in a spawned child process
    (module docstring); a user error there is raised here."""
    from filelock import FileLock

    from harness.corpora import load_corpus
    from harness.lm.load import resolved_dtype
    from harness.models import describe_spec, dtype_name

    run_opts = {k: settings.pop(k) for k in ("device", "dtype", "nlp") if k in settings}
    if isinstance(model, str):
        info = describe_spec(model)
        dtype = resolved_dtype(run_opts.get("device", "auto"), run_opts.get("dtype", "auto"))
    else:
        info, dtype = model.info, dtype_name(model.dtype)
    corpus_obj = load_corpus(corpus) if isinstance(corpus, str) else corpus
    path = concept_cache_path(info, corpus_obj, split, selector, dtype=dtype, **settings)
    if path.is_file():
        return path
    with FileLock(str(path) + ".lock"):
        if path.is_file():
            return path
        with atomic_path(path) as tmp:
            build = dict(split=split, overwrite=True, **run_opts, **settings)
            if separate_process:
                _build_in_child(model, corpus, selector, tmp, build)
            else:
                build_concepts(model, corpus_obj, selector, tmp, **build)
    return path


def _build_in_child(model: str, corpus: Any, selector: str, out: Path, settings: dict[str, Any]) -> None:
    """:func:`build_concepts` in a spawned process (a fresh interpreter: no forked torch threads), waited for."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if not isinstance(model, str):
        raise TypeError("a build in a separate process loads the model from its spec: pass the spec")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_build, model, corpus, selector, out, settings).result()


def _build(model: str, corpus: Any, selector: str, out: Path, settings: dict[str, Any]) -> None:
    build_concepts(model, corpus, selector, out, **settings)  # returns its statistics: not needed across processes
