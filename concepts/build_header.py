"""The header of a concept file as :func:`concepts.builder.build_concepts` writes it: the model, tokenizer, corpus and
split it was built from, the rules and settings that decided its sets (the candidate filter, the selector's own
settings), and the software's versions. Everything here but :data:`concepts.concept_file.PROVENANCE_KEYS` decides
whether a resume may continue a file, and the concept cache's key holds the candidate filter too."""

from __future__ import annotations

from typing import Any

from concepts.candidate_rules import DESCRIPTION as CANDIDATE_RULES
from concepts.concept_file import FORMAT_VERSION
from concepts.concept_header import tokenizer_info

CANDIDATE_FILTER = ("whole-word tokens: decode(anchor + [token]) = decode(anchor) + ' ' + letters (the tokenizer's own "
                    "word-boundary convention); then " + CANDIDATE_RULES)


def make_header(loaded: Any, corpus: Any, texts: list[str], split_record: dict[str, Any], cfg: Any,
                selector: Any) -> dict[str, Any]:
    """The header of a build: ``cfg`` is its :class:`concepts.builder.BuildConfig`, ``loaded`` the model the
    candidates come from, ``texts`` the part built from, ``selector`` the built selector."""
    from harness.corpora import texts_sha256
    from harness.models import dtype_name
    from harness.provenance import git_commit, package_versions

    info = loaded.info
    return {
        "type": "header", "format_version": FORMAT_VERSION,
        "model": {"spec": info.spec, "id": info.id, "name": info.name, "base": info.base,
                  "dtype": dtype_name(loaded.dtype)},  # what the cache key holds (concept_cache)
        "tokenizer": tokenizer_info(loaded.tokenizer, name=info.base),
        "corpus": corpus.describe(),
        "split": {"part": cfg.split, "limit": cfg.limit, "sequences": len(texts), "sha256": texts_sha256(texts),
                  "heldout_size": cfg.heldout_size, "validation_fraction": cfg.validation_fraction,
                  "split_seed": cfg.split_seed, "method": split_record.get("method"), "sizes": split_record.get("sizes"),
                  "documents": split_record.get("documents_per_part"),
                  **({"sample": split_record["sample"]} if "sample" in split_record else {})},
        # a recorded string (every concept file's header): a stable identifier of the rule, kept literally although
        # the module it names is now concepts.content_words
        "content_words": "harness.concepts.content_words: whole-word single-token NOUN/VERB/ADJ (spaCy-aligned)",
        **({"heads_only": "only content words whose span is a head the corpus marks"} if cfg.heads_only else {}),
        "selector": {"name": cfg.selector, "settings": selector.settings()},
        "k": cfg.k, "candidate_filter": CANDIDATE_FILTER,
        "proportion": cfg.proportion, "seed": cfg.seed, "max_synonyms": cfg.max_synonyms,
        "set_rule": "original token, then the first token of ' '+synonym (as it follows a word) per synonym; "
                    "de-duplicated",
        "batching": {"chunk_size": cfg.chunk_size, "max_batch_tokens": cfg.max_batch_tokens},
        "versions": package_versions(), "git_commit": git_commit(),
    }
