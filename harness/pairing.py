"""Which stored result may stand as the reference of a paired comparison: the same measurement, not only the same name.

Task, variant and evaluation options name what is measured and how, but one setting has meant two measurements:
``--bos context`` prepended the declared BOS before the document token (for SmolLM2 ``<|im_start|>``, then
``<|endoftext|>``); the base result an old run left in a results folder would otherwise be paired with a new
adapter result and report the protocol change as the adapter's effect. So the reference must agree with the
record on the embedding protocol it records (how a text becomes a vector: :data:`EMBEDDING_PROTOCOL_KEYS`, all
independent of the weights, so a base and its adapter always agree when measured by the same code); a key one
side lacks counts as a difference. Tasks that embed nothing record none of these keys and are unaffected.

A stored result whose embedding protocol lacks a key the current code always records
(:data:`CURRENT_ONLY_KEYS`) was measured under an older protocol: workflows re-evaluate such a base instead of
reusing it (:func:`measured_by_older_protocol`).
"""

from __future__ import annotations

from harness.errors import UserError
from harness.comparison import MetricComparison
from harness.results import ResultRecord

# harness.embedding.EmbeddingProtocol's fields, and what protocol_record adds (tests/test_pairing.py checks both)
EMBEDDING_SETTINGS = ("layer", "bos", "pooling", "template", "normalize", "max_length")
CURRENT_ONLY_KEYS = ("context_token", "tokenizer_prefix")
EMBEDDING_PROTOCOL_KEYS = EMBEDDING_SETTINGS + CURRENT_ONLY_KEYS
_ABSENT = object()


class ProtocolMismatch(UserError):
    """The reference was measured under another embedding protocol than the record it would be paired with."""


def embeds(record: ResultRecord) -> bool:
    """Whether the record's protocol is an embedding protocol (it records any of its settings)."""
    return any(k in record.protocol for k in EMBEDDING_SETTINGS)


def protocol_differences(reference: ResultRecord, record: ResultRecord) -> list[str]:
    """The embedding-protocol keys on which the two records differ (a key only one records counts)."""
    if not (embeds(reference) or embeds(record)):
        return []
    return [k for k in EMBEDDING_PROTOCOL_KEYS
            if reference.protocol.get(k, _ABSENT) != record.protocol.get(k, _ABSENT)]


def measured_by_older_protocol(record: ResultRecord) -> bool:
    """An embedding result without a key the current code always records (written before it was recorded)."""
    return embeds(record) and any(k not in record.protocol for k in CURRENT_ONLY_KEYS)


def reference_bootstrap(reference: ResultRecord, record: ResultRecord, n_resamples: int = 1000, seed: int = 0,
                        unit: str = "sequence") -> list[MetricComparison]:
    """:func:`harness.bootstrap.paired_bootstrap` of ``record`` against its reference (the base model's result, or
    NTP's), refused (UserError) when the two were measured under different embedding protocols."""
    from harness.bootstrap import paired_bootstrap

    differing = protocol_differences(reference, record)
    if differing:
        shown = ", ".join(f"{k} {reference.protocol.get(k)!r} vs {record.protocol.get(k)!r}" for k in differing)
        raise ProtocolMismatch(f"{reference.model.name}'s {reference.key} result was measured under another protocol "
                               f"({shown}): evaluate {reference.model.name} again to compare")
    return paired_bootstrap(reference, record, n_resamples=n_resamples, seed=seed, unit=unit)
