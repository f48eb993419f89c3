"""Whether the llm selector's judge can be loaded here, answered before any model or corpus work.

A judge spec is the embedded default (always here), a local folder (:func:`harness.models.describe_spec`
refuses one that does not exist), or a hub id: online it is downloaded when it loads; offline
(``HF_HUB_OFFLINE``/``HARNESS_OFFLINE``) it must be in the Hugging Face cache, which is asked through
``huggingface_hub.try_to_load_from_cache`` (its own cache layout and environment variables, not a guess
at the folder names) for the id's ``config.json``. A build that would need a judge it cannot get stops
here with one line, instead of failing after the concept build's corpus and candidate model have loaded
(or, in ``train-and-eval``, after training).
"""

from __future__ import annotations

from harness.errors import UserError

HINT = "download it or pass --judge <folder or hub id>"


def offline_missing(spec: str | None) -> bool:
    """True when judge ``spec`` (None: the embedded default) is a hub id this offline machine does not hold."""
    from harness.models import ALIASES, describe_spec
    from harness.paths import offline

    if spec is None:
        return False
    info = describe_spec(spec)  # a folder that does not exist, or no spec at all: a user error here
    if info.spec in ALIASES or info.path or not offline():  # embedded, a local folder, or it can be downloaded
        return False
    from huggingface_hub import try_to_load_from_cache

    return not isinstance(try_to_load_from_cache(spec, "config.json"), str)


def require_judge(spec: str | None, who: str, hint: str = HINT) -> None:
    """A one-line UserError naming ``who`` (e.g. "the paper profile's judge", "--judge") when judge ``spec``
    cannot be had offline (:func:`offline_missing`)."""
    if offline_missing(spec):
        raise UserError(f"{who} {spec} is not available offline; {hint}")
