"""The configuration identity of a training record across the two layouts of issue 28: older code recorded
``lambda_scope`` and ``mass_threshold`` for every objective, newer code only for the concept objective (whose own
settings they are). An ntp or caft record of either layout is one configuration (the seeds of one row, the same
NTP reference) and keeps the key it always had; concept records that differ in their λ scope stay apart."""

from __future__ import annotations

import hashlib
import json

from harness.results import ResultModel
from leaderboard.configs import configuration, settings_differences, trend_key
from test_leaderboard_helpers import model_block

ASKED = {"base": "tiny-base", "corpus": "wiki", "split": "train", "selector": "wordnet", "randomized": False,
         "profile": "cpu", "dtype": "float32", "world_size": 1,
         "hyperparameters": {"lr": 3e-4, "max_steps": 0, "selector": "wordnet", "max_synonyms": 10}}
OUTCOME = {"base_id": "tiny-base-00000001", "steps": 50, "train_loss": 3.0, "wall_time_s": 10.0}  # not the config


def model(mid: str, seed: int, **settings) -> ResultModel:
    return ResultModel.from_dict(model_block(mid, mid, training={**settings, **ASKED, **OUTCOME, "seed": seed}))


def older(method: str, objective: str, seed: int, scope: str = "all", threshold: float = 0.6, **own) -> ResultModel:
    """A record as older code wrote it: λ, the λ scope and the mass threshold for every objective."""
    return model(f"{objective}-old-{seed}", seed, method=method, objective=objective, **{"lambda": 0.0},
                 lambda_scope=scope, mass_threshold=threshold, **own)


def newer(method: str, objective: str, seed: int, **own) -> ResultModel:
    """The same run's record as newer code writes it: no concept-only settings for another objective."""
    return model(f"{objective}-new-{seed}", seed, method=method, objective=objective, **{"lambda": 0.0}, **own)


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def test_an_older_and_a_newer_ntp_record_are_one_configuration_with_its_old_key():
    old, new = older("ntp", "ntp", seed=0), newer("ntp", "ntp", seed=1)
    a, b = configuration(old), configuration(new)
    assert a.key == b.key and a.config_id == b.config_id and a.ntp_key == b.ntp_key
    assert (a.label, a.seed, b.seed) == ("NTP", 0, 1)  # the two seeds of one row
    # the key older code gave the older record: the group and every asked-for setting, as recorded
    want = canonical({"group": "tiny-base", "method": "ntp", "objective": "ntp", "lambda": 0.0, "lambda_scope": "all",
                      "mass_threshold": 0.6, **ASKED})
    assert a.key == want and a.config_id == hashlib.sha256(want.encode()).hexdigest()[:10]
    assert trend_key(old) == trend_key(new)
    assert settings_differences([old, new]) == [{}, {}]


def test_an_older_ntp_record_given_another_scope_is_still_that_configuration():
    """ntp never read the λ scope or the mass threshold: whatever an older record holds, it is the same run."""
    old, new = older("ntp", "ntp", seed=0, scope="content", threshold=0.9), newer("ntp", "ntp", seed=1)
    assert configuration(old).key == configuration(new).key
    assert settings_differences([old, new]) == [{}, {}]


def test_an_older_and_a_newer_caft_record_are_one_configuration():
    own = {"caft_heads": 4, "caft_coef": 0.01}
    old, new = older("caft", "caft", seed=0, **own), newer("caft", "caft", seed=1, **own)
    assert configuration(old).key == configuration(new).key and configuration(new).label == "CAFT"
    assert trend_key(old) == trend_key(new)
    other = newer("caft", "caft", seed=2, caft_heads=2, caft_coef=0.01)  # its own settings still count
    assert configuration(other).key != configuration(new).key
    assert settings_differences([new, other]) == [{"caft_heads": "4"}, {"caft_heads": "2"}]


def test_concept_records_that_differ_in_their_scope_are_two_configurations():
    def concept(scope: str) -> ResultModel:
        return model(f"concept-{scope}", 0, method="concept", objective="concept", **{"lambda": 0.5},
                     lambda_scope=scope, mass_threshold=0.6)

    full, content = concept("all"), concept("content")
    assert configuration(full).key != configuration(content).key
    assert (configuration(full).label, configuration(content).label) == ("Concept λ=0.5", "Concept λ=0.5 (content scope)")
    assert trend_key(full) != trend_key(content)
    assert settings_differences([full, content]) == [{"lambda_scope": "all"}, {"lambda_scope": "content"}]


def test_concept_records_at_lambda_zero_keep_their_scope():
    """λ = 0 of the concept objective is labelled NTP, but its record is the concept objective's: scopes apart."""
    def at_zero(scope: str) -> ResultModel:
        return model(f"zero-{scope}", 0, method="ntp", objective="concept", **{"lambda": 0.0}, lambda_scope=scope,
                     mass_threshold=0.6)

    assert configuration(at_zero("all")).key != configuration(at_zero("content")).key
