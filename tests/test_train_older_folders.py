"""Run folders written by older code (issue 28): their ``run.json`` holds ``lambda_scope`` and ``mass_threshold``
for every objective, newer code records them for the concept objective only (its own settings). A folder of an
older run of another objective is still that run (reused when finished, resumed when interrupted), while a concept
run's scope and threshold still tell its runs apart."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.errors import UserError
from trainers.objectives import OBJECTIVES, ObjectiveSettings
from trainers.profiles import resolve_profile
from trainers.run_folder import RunFolder
from trainers.train_config import TrainConfig
from trainers.training_run import run_identity


def identity(objective: str, **extra) -> dict:
    """The identity newer code gives a run of ``objective`` (its own settings only, as prepare_run records them)."""
    given = ObjectiveSettings(lam=0.25, extra={**ObjectiveSettings().extra, **extra})
    cfg = TrainConfig(objective=objective, settings=given, dtype="float32")
    cfg = replace(cfg, settings=OBJECTIVES.get(objective).own(cfg.settings))
    return run_identity(cfg, SimpleNamespace(base="tiny-base"), resolve_profile("cpu", {}), "0" * 64)


def older_layout(new: dict, scope: str = "all", threshold: float = 0.6) -> dict:
    """``new`` as older code wrote it: the λ scope and the mass threshold right after λ, whatever the objective."""
    out = {}
    for key, value in new.items():
        out[key] = value
        if key == "lambda":
            out.update(lambda_scope=scope, mass_threshold=threshold)
    return out


def folder(root: Path, run: dict, finished: bool) -> Path:
    root.mkdir(parents=True)
    (root / "run.json").write_text(json.dumps(run, indent=1))
    if finished:
        (root / "harness_train.json").write_text(json.dumps({**run, "steps": 2}))
    else:
        (root / "checkpoints" / "checkpoint-2").mkdir(parents=True)
        (root / "checkpoints" / "checkpoint-2" / "trainer_state.json").write_text("{}")
    return root


def test_newer_records_hold_the_concept_settings_for_the_concept_objective_only():
    assert (identity("concept")["lambda"], identity("concept")["lambda_scope"], identity("concept")["mass_threshold"]) \
        == (0.25, "all", 0.6)
    assert identity("ntp")["lambda"] == 0.25 and not {"lambda_scope", "mass_threshold"} & set(identity("ntp"))
    caft = identity("caft")
    assert caft["lambda"] == 0.0 and not {"lambda_scope", "mass_threshold"} & set(caft)


@pytest.mark.parametrize("objective", ["ntp", "caft", "weighted-ce"])
@pytest.mark.parametrize("finished,state", [(True, "finished"), (False, "resume")])
def test_an_older_folder_of_another_objective_is_still_its_run(objective, finished, state, tmp_path):
    new = identity(objective)
    out = folder(tmp_path / "run", older_layout(new), finished)
    assert RunFolder(out, new).state(resume=True) == state
    # ntp was given the scope and threshold of its flags: any of them, the same run
    out = folder(tmp_path / "given", older_layout(new, scope="content", threshold=0.9), finished)
    assert RunFolder(out, new).state(resume=True) == state


def test_an_older_folder_with_another_setting_is_still_another_run(tmp_path):
    new = identity("ntp")
    out = folder(tmp_path / "run", {**older_layout(new), "seed": 3}, finished=True)
    with pytest.raises(UserError, match=r"holds another run \(seed differ\)"):
        RunFolder(out, new).state(resume=True)


def test_a_concept_folder_of_another_scope_or_threshold_is_another_run(tmp_path):
    new = identity("concept")
    assert RunFolder(folder(tmp_path / "same", new, finished=True), new).state(resume=True) == "finished"
    for name, scope, threshold, key in (("scope", "content", 0.6, "lambda_scope"),
                                        ("thr", "all", 0.9, "mass_threshold")):
        held = {**new, "lambda_scope": scope, "mass_threshold": threshold}
        with pytest.raises(UserError, match=rf"holds another run \({key} differ\)"):
            RunFolder(folder(tmp_path / name, held, finished=True), new).state(resume=True)
    content = identity("concept", lambda_scope="content")  # a scope given is part of the concept run's identity
    assert content["lambda_scope"] == "content"
    with pytest.raises(UserError, match=r"holds another run \(lambda_scope differ\)"):
        RunFolder(folder(tmp_path / "given", new, finished=False), content).state(resume=True)


@pytest.mark.parametrize("objective,lam,scope,noise,name", [
    ("ntp", 0.0, None, False, "smollm2-135m-ntp-lam0-all-wiki-wordnet-cpu-seed0"),
    ("concept", 0.0, None, False, "smollm2-135m-ntp-lam0-all-wiki-wordnet-cpu-seed0"),
    ("ntp", 0.25, "content", False, "smollm2-135m-ntp-lam0.25-content-wiki-wordnet-cpu-seed0"),
    ("concept", 0.5, "content", False, "smollm2-135m-concept-lam0.5-content-wiki-wordnet-cpu-seed0"),
    ("concept", 0.5, None, True, "smollm2-135m-noise-lam0.5-all-wiki-wordnet-cpu-seed0"),
    ("weighted-ce", 0.3, "content", False, "smollm2-135m-weighted-ce-multiplier5-wiki-wordnet-cpu-seed0"),
])
def test_run_folder_names_are_the_older_ones(objective, lam, scope, noise, name):
    """The names older code gave these runs, so a sweep finds their folders: λ and the scope given (ntp's too, as
    its names always carried it), or the objective's own settings."""
    from workflows.train_and_eval import TrainAndEval, default_out

    extra = {**ObjectiveSettings().extra, **({"lambda_scope": scope} if scope else {})}
    cfg = TrainAndEval(train=TrainConfig(objective=objective, settings=ObjectiveSettings(lam=lam, extra=extra)),
                       randomize=noise)
    assert default_out(cfg, "wordnet", "wiki").name == name
