"""Where every setting of each profile comes from: the paper, the paper's public code, or ours (and why).

:data:`SOURCES` maps a profile and a setting (each :class:`~trainers.profiles.Hyper` field, and the
:class:`~trainers.profiles.ConceptRecipe`'s judge and sample rule) to ``(source, note)``, ``source`` one
of :data:`KINDS`. It is data, read by ``harness train-and-eval --dry-run`` (:mod:`workflows.plan`) and by
:func:`settings_table`, whose tables ``docs/training-settings.md`` holds verbatim
(``tests/test_paper_profile.py`` checks both, and that every setting has a source).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from harness.config import flag_of, option_fields

PAPER, CODE, OURS = "paper", "public code", "ours"
KINDS = (PAPER, CODE, OURS)
RECIPE_FLAGS = {"selector": "--selector", "concept_sequences": "--concept-sequences",  # train-and-eval's own flags
                "heldout_limit": "--heldout-limit", "corpus": "--train-corpus", "judge": "--judge", "sample": "--concept-sample"}  # (and a task's)

SOURCES: dict[str, dict[str, tuple[str, str]]] = {
    "paper": {
        "lr": (PAPER, "appendix B: 7 × 10⁻⁵"),
        "batch_size": (PAPER, "appendix B: batch size 2"),
        "grad_accum": (OURS, "the paper's batch of 2 is the optimizer's: no accumulation"),
        "epochs": (PAPER, "appendix B: 5 epochs"),
        "max_steps": (OURS, "0: the epochs decide the length, as in the paper"),
        "max_length": (CODE, "256 tokens; the paper gives none"),
        "max_synonyms": (PAPER, "appendix B: at most 10 synonyms besides the word itself"),
        "val_fraction": (PAPER, "appendix B: 90% train, 10% validation"),
        "early_stopping_patience": (OURS, "appendix B enables early stopping but gives no patience: stop after one "
                                          "evaluation without improvement"),
        "eval_strategy": (OURS, "every epoch: the paper's models 'typically stop training around 4 epochs'"),
        "save_steps": (OURS, "0: a checkpoint at every epoch's evaluation, so the best one is restored"),
        "lora_r": (CODE, "the paper says LoRA, no rank"),
        "lora_alpha": (CODE, "the paper gives none"),
        "lora_dropout": (CODE, "the paper gives none"),
        "target_modules": (CODE, "q, k, v, o projections; the paper gives none"),
        "warmup_ratio": (CODE, "the paper gives none"),
        "weight_decay": (CODE, "the paper gives none"),
        "scheduler": (CODE, "the paper gives none"),
        "mixed_precision": (OURS, "the paper gives none; on a GPU --dtype auto loads bf16 weights already"),
        "batch_order": (OURS, "transformers' default random order; the paper gives none"),
        "selector": (PAPER, "section 3.1: an instruct LLM judges the candidates (appendix A's prompt)"),
        "concept_sequences": (PAPER, "section 3.1: 2,000 sequences per corpus (about 1,800 train after the 10% cut)"),
        "heldout_limit": (PAPER, "every held-out sequence: 1,000 per corpus (appendix C)"),
        "judge": (PAPER, "section 3.1: Llama 3.1 8B Instruct, from the hub or a local folder"),
        "corpus": (PAPER, "section 3.1: C4 (its out-of-domain partner OpenWebText; --train-corpus openwebtext for the "
                           "other direction); both stream from the hub. wiki's train part holds 2 whole articles "
                           "of 50 < chars < 2,000, too few for the sample rule"),
        "sample": (PAPER, "section 3.1: 50 < characters < 2,000; whole documents of the train part (others dropped, "
                          "not chunked), drawn with the split seed"),
    },
    "cpu": {
        "lr": (OURS, "a few dozen steps: a higher rate than the paper's"),
        "batch_size": (OURS, "8 × 128 tokens a step, ~5 s on 2 CPU cores"),
        "grad_accum": (OURS, "no accumulation"),
        "epochs": (OURS, "one pass over 400 sequences: minutes"),
        "max_steps": (OURS, "0: the epoch decides"),
        "max_length": (OURS, "short steps on a CPU"),
        "max_synonyms": (PAPER, "appendix B: at most 10 synonyms"),
        "val_fraction": (OURS, "no validation pass: minutes, not hours"),
        "early_stopping_patience": (OURS, "off: one epoch, nothing to stop"),
        "eval_strategy": (OURS, "no validation split to evaluate"),
        "save_steps": (OURS, "a checkpoint every 20 steps, so an interrupted run resumes"),
        "lora_r": (OURS, "a common small-adapter rank, chosen before the public code's was known"),
        "lora_alpha": (OURS, "α = 2r, the common pairing"),
        "lora_dropout": (OURS, "a common light dropout"),
        "target_modules": (CODE, "q, k, v, o projections"),
        "warmup_ratio": (OURS, "a short warm-up for a short run"),
        "weight_decay": (OURS, "none in a run this short"),
        "scheduler": (OURS, "transformers' default"),
        "mixed_precision": (OURS, "float32 throughout: the same numbers on every CPU (bf16 autocast is slow where the "
                                  "CPU has no bf16 instructions)"),
        "batch_order": (OURS, "transformers' default random order"),
        "selector": (OURS, "WordNet: the LLM judge is slow on a CPU"),
        "concept_sequences": (OURS, "concept building and training in minutes"),
        "heldout_limit": (OURS, "evaluation in minutes; the similarity benchmarks run whole"),
        "corpus": (OURS, "gensim's Wikipedia sample: a package ships it, so the main job runs offline"),
        "judge": (OURS, "the embedded SmolLM2-135M-Instruct, for --selector llm (wordnet needs none)"),
        "sample": (OURS, "the first N of the shuffled train part: a uniform sample of its sequences"),
    },
}


def settings(profile: str) -> dict[str, Any]:
    """Every setting of ``profile`` by name, as :data:`SOURCES` names them (Hyper's fields, then the recipe's)."""
    from trainers.profiles import CONCEPT_RECIPES, PROFILES

    hyper, recipe = PROFILES[profile], CONCEPT_RECIPES[profile]
    values = {f.name: getattr(hyper, f.name) for f in fields(hyper) if f.name != "extra"}
    return {**values, "corpus": recipe.corpus, "judge": recipe.judge, "sample": recipe.sample}


def flags() -> dict[str, str]:
    """The flag that overrides each setting."""
    from trainers.profiles import Hyper

    return {**{f.name: flag_of(f) for f in option_fields(Hyper)}, **RECIPE_FLAGS}


def shown(name: str, value: Any) -> str:
    """A setting's value as the dry run and the docs print it."""
    from harness.models import EMBEDDED_DEFAULT

    if name == "judge" and value is None:
        return f"{EMBEDDED_DEFAULT} (embedded)"
    if name == "heldout_limit" and value is None:
        return "all"
    if isinstance(value, (tuple, list)):
        return ",".join(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def rows(profile: str) -> list[tuple[str, str, str, str, str]]:
    """(setting, flag ("" when none), value, source, note) for every setting of ``profile``."""
    flag = flags()
    return [(name, flag.get(name, ""), shown(name, value), *SOURCES[profile][name])
            for name, value in settings(profile).items()]


def settings_table(profile: str) -> str:
    """The markdown table of ``profile``'s settings (``docs/training-settings.md`` holds it verbatim)."""
    lines = ["| setting | flag | value | source | note |", "|---|---|---|---|---|"]
    lines += [f"| `{name}` | {f'`{flag}`' if flag else '—'} | `{value}` | {source} | {note} |"
              for name, flag, value, source, note in rows(profile)]
    return "\n".join(lines)
