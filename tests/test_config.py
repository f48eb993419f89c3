"""Configs declared once (harness.config): the commands' flags, their defaults, the values the code gets
and the records written all come from the dataclass fields, and an objective's own settings are one
change in its own module."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.cli import build_parser
from harness.config import from_args, recorded
from harness.errors import UserError
from trainers.objectives import OBJECTIVES, ObjectiveSettings
from trainers.recipe import TrainConfig


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def flags(command: str) -> set[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")  # noqa: SLF001
    return {s for a in sub.choices[command]._actions for s in a.option_strings}  # noqa: SLF001


def test_train_flags_give_the_typed_config_and_its_record():
    args = parse("train", "--concepts", "c.jsonl", "--out", "o", "--lambda", "0.5", "--mass-threshold", "0.7",
                 "--lr", "1e-3", "--no-progress")
    cfg = from_args(TrainConfig, args)
    assert cfg.settings == ObjectiveSettings(lam=0.5, extra={**ObjectiveSettings().extra, "lambda_scope": "all",
                                                             "mass_threshold": 0.7})
    concept = OBJECTIVES.get("concept").own(cfg.settings)  # what a concept run records: no other objective's
    assert cfg.overrides == {"lr": 1e-3}  # the others: the profile's
    assert (str(cfg.concepts), str(cfg.out), cfg.model, cfg.progress) == ("c.jsonl", "o", "smollm2-135m", False)
    assert recorded(concept) == {"lambda": 0.5, "lambda_scope": "all", "mass_threshold": 0.7}
    with pytest.raises(SystemExit):  # --lambda is required for train
        build_parser().parse_args(["train", "--concepts", "c", "--out", "o"])


def test_train_and_eval_defaults_are_the_declared_ones():
    from harness.commands.common import eval_options
    from workflows.train_and_eval import TrainAndEval

    args = parse("train-and-eval")
    cfg = from_args(TrainAndEval, args, exclude=("resume",), options=eval_options(args))
    declared = TrainAndEval()
    assert cfg.train == declared.train and cfg.train.settings.lam == 0.25  # the nested default, not 0
    assert (cfg.train_corpus, cfg.selector, cfg.randomize, cfg.leaderboard) == (None, None, False, True)
    assert cfg.options.task_options["corpus"] is None and cfg.options.task_options["heldout_size"] == 1000
    assert "--resume" not in flags("train-and-eval")  # it always resumes its own run


def test_the_sweep_sets_the_grid_fields_itself():
    have = flags("sweep")
    assert {"--lambdas", "--noise", "--leaderboard", "--runs-dir", "--lambda-scope", "--lr", "--corpus"} <= have
    assert not {"--lambda", "--out", "--no-leaderboard", "--resume"} & have


def test_a_bad_setting_is_refused_where_it_is_parsed_and_where_a_config_is_made(capsys):
    with pytest.raises(SystemExit) as exc:
        parse("train", "--concepts", "c", "--out", "o", "--lambda", "1.5")
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert "argument --lambda: must be at most 1 (in [0, 1]), got 1.5" in err
    with pytest.raises(UserError, match="--lambda must be at most 1"):  # the same declaration, from Python
        ObjectiveSettings(lam=1.5)
    with pytest.raises(UserError, match="--mass-threshold must be greater than 0"):
        ObjectiveSettings(extra={"mass_threshold": 0.0})


WEIGHTED = '''
from dataclasses import dataclass

from harness.config import option
from trainers.objectives import combine, ntp_terms, register_objective


@dataclass(frozen=True)
class WeightedSettings:
    multiplier: float = option(2.0, help="weight of content-word tokens in the cross-entropy")


@register_objective("weighted", "cross-entropy with content words weighted", settings=WeightedSettings)
def weighted(logits, labels, concepts, settings):
    return combine(ntp_terms(logits, labels), None, None, settings)
'''


def test_an_objective_declares_its_own_settings(tmp_path):
    """A new objective with a setting of its own: the flag appears, the value reaches it typed, and the
    training record carries it; nothing outside the objective's module changes."""
    (tmp_path / "weighted.py").write_text(WEIGHTED)
    code = """
import json, sys
import weighted
from harness.cli import build_parser
from harness.config import from_args, recorded
from trainers.recipe import TrainConfig

args = build_parser().parse_args(["train", "--concepts", "c", "--out", "o", "--lambda", "0.25",
                                  "--objective", "weighted", "--multiplier", "3"])
cfg = from_args(TrainConfig, args)
default = from_args(TrainConfig, build_parser().parse_args(["train", "--concepts", "c", "--out", "o", "--lambda", "0"]))
from trainers.objectives import OBJECTIVES
print(json.dumps({"mine": cfg.settings.of(weighted.WeightedSettings).multiplier,
                  "record": recorded(OBJECTIVES.get("weighted").own(cfg.settings)),
                  "default": default.settings.of(weighted.WeightedSettings).multiplier}))
"""
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got == {"mine": 3.0, "default": 2.0,
                   "record": {"lambda": 0.0, "multiplier": 3.0}}  # λ is not its setting, nor the concept objective's
