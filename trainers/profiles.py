"""Hyperparameter profiles: ``cpu`` (the default, sized for a 2-core CPU) and ``paper``.

``paper`` is the paper's setup where the paper gives one (section 3.1 and appendix B: lr 7e-5, batch 2,
5 epochs with early stopping on a 10% validation split, at most 10 synonyms, the LLM judge
Llama-3.1-8B-Instruct, 2,000 sequences of 50 < characters < 2,000 per corpus), the public code's where
the paper is silent (LoRA r 4, α 4, dropout 0.2 on q, k, v, o; cosine schedule, warm-up ratio 0.08,
weight decay 0.05; 256 tokens), and ours, said so, for what neither fixes (the early-stopping patience,
per-epoch evaluation and checkpoints). Each value's source is data, :data:`trainers.profile_sources.SOURCES`,
which ``harness train-and-eval --dry-run`` prints and ``docs/training-settings.md`` tabulates.

``cpu`` is sized so that ``harness train-and-eval --lambda 0.25`` on the embedded default
(SmolLM2-135M) finishes, concept building and evaluation of adapter and base included, in well
under 30 minutes on 2 CPU cores (a LoRA step of 8 × 128 tokens takes ~5 s there): a few dozen
steps at a higher learning rate, WordNet synonyms (the LLM judge is slow on a CPU), and capped
held-out evaluation sizes (200 sequences per corpus for the LM and geometry tasks; the
similarity benchmarks always run whole). The fields declared with :func:`harness.config.option` can be
overridden from the command line (``--lr``, ``--epochs``, ...: default None, the profile's); the selector,
the concept sequences, the judge and the sample rule have flags of ``train-and-eval`` of their own.

The judge and the sample rule are a :class:`ConceptRecipe`, not :class:`Hyper` fields: ``Hyper`` is part of
a run's identity (``run.json``), so a new field there would make every finished cpu run "another run";
the concept file they decide is in that identity already, by its sha256.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from harness.config import AT_LEAST_0, AT_LEAST_1, NAMES, POSITIVE, SHARE, Check, check_fields, option
from harness.errors import UserError


@dataclass(frozen=True)
class Hyper:
    """Training hyperparameters (all recorded in ``harness_train.json``; the flag of an option field
    overrides the profile's value)."""

    lr: float = option(help="learning rate", check=POSITIVE)
    batch_size: int = option(help="sequences per device per micro-batch", check=AT_LEAST_1)
    grad_accum: int = option(help="micro-batches per optimizer step", check=AT_LEAST_1)
    epochs: float = option(help="training epochs (ignored when --max-steps > 0)", check=AT_LEAST_0)
    max_steps: int = option(help="optimizer steps (0 = as many as --epochs make)", check=AT_LEAST_0)
    max_length: int = option(help="tokens per sequence (longer sequences are cut)", check=Check(ge=2))
    max_synonyms: int = option(help="concept set = original token + at most this many synonyms", check=AT_LEAST_0)
    val_fraction: float = option(help="share of sequences held out for the validation loss", check=Check(ge=0, lt=1))
    early_stopping_patience: int = option(help="evaluations without improvement (0 = off)", check=AT_LEAST_0)
    eval_strategy: str  # "epoch" | "steps" | "no"
    save_steps: int = option(help="checkpoint every N steps (0 = every epoch)", check=AT_LEAST_0)
    lora_r: int = option(help="LoRA rank", check=AT_LEAST_1)
    lora_alpha: int = option(help="LoRA alpha", check=AT_LEAST_1)
    lora_dropout: float = option(help="LoRA dropout", check=Check(ge=0, lt=1))
    target_modules: tuple[str, ...] = option(help="comma-separated module names for LoRA (default q,k,v,o projections)",
                                             check=NAMES)
    warmup_ratio: float = option(help="share of steps with a linear learning-rate warm-up", check=SHARE)
    weight_decay: float = option(help="AdamW weight decay", check=AT_LEAST_0)
    scheduler: str
    mixed_precision: str = option(help="bf16: matmuls autocast to bfloat16 over float32 weights and optimizer state "
                                       "(mixed precision: ~1.4x faster steps on a CPU with AVX-512 BF16, and on a GPU); "
                                       "no: the weights' own dtype throughout", choices=("no", "bf16"))
    batch_order: str = option(help="shuffled: a new random order every epoch; by-length: random batches of sequences "
                                   "of similar length (transformers' group_by_length: less padding, faster steps)",
                              choices=("shuffled", "by-length"))
    selector: str  # synonym selector used by train-and-eval to build the concept file
    concept_sequences: int  # sequences in the concept file train-and-eval builds (0 = the whole train part)
    heldout_limit: int | None  # train-and-eval: held-out sequences per corpus for LM and geometry tasks (None = all)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["target_modules"] = list(self.target_modules)
        return d


LORA_QKVO = ("q_proj", "k_proj", "v_proj", "o_proj")
PAPER_JUDGE = "meta-llama/Llama-3.1-8B-Instruct"  # section 3.1: the instruct judge of the candidates

PROFILES: dict[str, Hyper] = {
    "cpu": Hyper(lr=3e-4, batch_size=8, grad_accum=1, epochs=1, max_steps=0, max_length=128, max_synonyms=10,
                 val_fraction=0.0, early_stopping_patience=0, eval_strategy="no", save_steps=20, lora_r=8,
                 lora_alpha=16, lora_dropout=0.05, target_modules=LORA_QKVO, warmup_ratio=0.05, weight_decay=0.0,
                 scheduler="linear", mixed_precision="no", batch_order="shuffled", selector="wordnet", concept_sequences=400, heldout_limit=200),
    "paper": Hyper(lr=7e-5, batch_size=2, grad_accum=1, epochs=5, max_steps=0, max_length=256, max_synonyms=10,
                   val_fraction=0.1, early_stopping_patience=1, eval_strategy="epoch", save_steps=0, lora_r=4,
                   lora_alpha=4, lora_dropout=0.2, target_modules=LORA_QKVO, warmup_ratio=0.08, weight_decay=0.05,
                   scheduler="cosine", mixed_precision="no", batch_order="shuffled", selector="llm", concept_sequences=2000, heldout_limit=None),
}
DEFAULT_PROFILE = "cpu"


@dataclass(frozen=True)
class ConceptRecipe:
    """How ``train-and-eval`` builds a profile's concept file besides :class:`Hyper`'s selector and sequence
    count (module docstring: why these are not ``Hyper`` fields)."""

    corpus: str  # the training corpus when --train-corpus is not given (its partner is the out-of-domain one)
    judge: str | None  # the llm selector's judge (None: the embedded default); used only when llm builds
    sample: str  # the sample rule of the train part (concepts.sample_rule): first | paper


CONCEPT_RECIPES: dict[str, ConceptRecipe] = {
    "cpu": ConceptRecipe(corpus="wiki", judge=None, sample="first"),
    "paper": ConceptRecipe(corpus="c4", judge=PAPER_JUDGE, sample="paper"),
}


def resolve_profile(name: str, overrides: dict[str, Any] | None = None) -> Hyper:
    """The named profile with every non-None override applied (unknown keys are a bug)."""
    if name not in PROFILES:
        raise UserError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    known = {f.name for f in fields(Hyper)}
    clean = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(clean) - known
    assert not unknown, f"unknown hyperparameters {sorted(unknown)}"
    if "target_modules" in clean and isinstance(clean["target_modules"], str):
        clean["target_modules"] = tuple(m.strip() for m in clean["target_modules"].split(",") if m.strip())
    hyper = replace(PROFILES[name], **clean)
    check_hyper(hyper)
    return hyper


def check_hyper(h: Hyper) -> None:
    """The declared checks of every field (:func:`harness.config.check_fields`: flags were checked when parsed,
    a profile or a Python caller's values are checked here), then what concerns several fields at once."""
    check_fields(h)
    problems = []
    if h.epochs <= 0 and h.max_steps <= 0:
        problems.append("give --epochs > 0 or --max-steps > 0")
    if h.early_stopping_patience > 0 and (h.val_fraction == 0 or h.eval_strategy == "no"):
        problems.append("early stopping needs a validation split (--val-fraction > 0) and evaluations")
    if h.eval_strategy not in ("no", "epoch", "steps"):
        problems.append(f"eval strategy must be no, epoch or steps, got {h.eval_strategy!r}")
    if problems:
        raise UserError(problems[0])
