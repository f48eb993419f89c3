"""The related-work objectives in the trainer (tiny random Llama, real SmolLM2 tokenizer): each trains and
records its own settings; CAFT's heads are saved beside the adapter and in every checkpoint and are not
needed to evaluate it; synonym augmentation is deterministic per seed; bad settings end in one line, exit 2."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from harness.cli import main as cli_main
from test_trainer import concepts4, tiny_folder  # noqa: F401 - fixtures
from trainers.beyond_tokens import AugmentSettings, augment
from trainers.data import TrainExample
from trainers.objectives import ObjectiveSettings
from trainers.recipe import TrainConfig, train
from trainers.objective_heads import HEADS_FILE

OWN = {"caft-joint": {"caft_joint_k": 3, "caft_joint_coef": 0.5, "caft_joint_decay": 0.9},
       "caft": {"caft_heads": 2, "caft_coef": 0.5, "caft_heads_epochs": 3.0, "caft_heads_max_steps": 2},
       "alternatives": {"alternatives_weight": 0.5},
       "weighted-ce": {"content_multiplier": 2.0}, "synonym-augment": {"augment_rate": 1.0}}


def config(model: Path, concepts: Path, out: Path, objective: str) -> TrainConfig:
    overrides = {"max_steps": 2, "batch_size": 4, "save_steps": 1, "lora_dropout": 0.0, "warmup_ratio": 0.0}
    return TrainConfig(model=str(model), concepts=concepts, out=out, objective=objective,
                       settings=ObjectiveSettings(lam=0.25, extra=OWN[objective]), device="cpu", dtype="float32",
                       progress=False, overrides=overrides)


@pytest.fixture(scope="module")
def trained(tiny_folder, concepts4, tmp_path_factory):
    """objective -> its 2-step run on the tiny model (trained once per module; caft's heads cached apart)."""
    root, runs = tmp_path_factory.mktemp("runs"), {}
    patch = pytest.MonkeyPatch()
    patch.setenv("HARNESS_CACHE", str(root / "cache"))

    def get(objective: str):
        if objective not in runs:
            runs[objective] = train(config(tiny_folder, concepts4, root / objective, objective))
        return runs[objective]

    yield get
    patch.undo()


@pytest.mark.parametrize("objective", sorted(OWN))
def test_each_objective_trains_and_records_its_own_settings(objective, trained):
    out = trained(objective).adapter
    record = trained(objective).record
    assert (record["method"], record["objective"], record["steps"]) == (objective, objective, 2)
    assert {k: record[k] for k in OWN[objective]} == OWN[objective]
    others = {k for o, own in OWN.items() if o != objective for k in own}
    assert not others & set(record)  # another objective's settings are not this run's
    assert json.loads((out / "harness_train.json").read_text())["method"] == objective
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert all(rec["loss"] > 0 for rec in log if "loss" in rec)
    has_heads = objective == "caft-joint"  # caft's heads are frozen: cached, not saved with the adapter
    assert (out / HEADS_FILE).is_file() == has_heads
    assert all((c / HEADS_FILE).is_file() == has_heads for c in (out / "checkpoints").glob("checkpoint-*"))
    if has_heads:
        assert any("caft_joint_head2_loss" in rec for rec in log)
    if objective == "caft":
        heads = record["objective_heads"]
        assert Path(heads["cache_file"]).is_file() and heads["cache_key"] in heads["cache_file"]
        assert heads["heads"] == 2 and heads["max_steps"] == 2 and heads["stage1"]["steps"] == 2
        assert heads["train_token_ids_sha256"] and record["train_sequences"] == heads["stage1"]["train_sequences"]
        steps = [rec for rec in log if "caft_head2_loss" in rec]
        assert len(steps) == 2 and steps[0]["caft_weight"] == pytest.approx(0.5)  # rsine: 1 at step 0
        assert steps[1]["caft_weight"] == pytest.approx(0.5 * math.sin(math.pi / 4))  # step 1 of 2
    else:
        assert "objective_heads" not in record


def test_caft_joint_adapter_loads_without_its_heads(tiny_folder, trained):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    out = trained("caft-joint").adapter
    heads = load_file(str(out / HEADS_FILE))
    assert sorted(heads) == ["blocks.0.linear.bias", "blocks.0.linear.weight", "blocks.1.linear.bias",
                             "blocks.1.linear.weight"]  # k = 3: two auxiliary heads
    assert any(t.abs().sum() > 0 for t in heads.values())  # trained away from their zero init
    adapter = load_file(str(out / "adapter_model.safetensors"))
    assert adapter and not any("objective_heads" in k for k in adapter)
    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_folder), str(out))


def words_example(tokenizer) -> TrainExample:
    ids = tokenizer.encode("The car drove fast along the big road", add_special_tokens=False)
    position = {tokenizer.decode([t]).strip(): i for i, t in enumerate(ids)}
    sets = [("car", ["car", "automobile", "auto"]), ("fast", ["fast", "quickly"]), ("big", ["big"])]
    return TrainExample(input_ids=ids, positions=[position[w] for w, _ in sets],
                        sets=[[ids[position[w]]] + [tokenizer.encode(" " + s)[0] for s in words[1:]]
                              for w, words in sets],
                        words=[words for _, words in sets])


def test_synonym_augmentation_replaces_words_by_set_members_deterministically(smollm2_tokenizer):
    ex = words_example(smollm2_tokenizer)
    full = augment([ex], smollm2_tokenizer, AugmentSettings(augment_rate=1.0), seed=0)[0]
    text = smollm2_tokenizer.decode(full.input_ids)
    assert text.startswith("The ") and " drove " in text and " big road" in text  # "big" has no alternative
    assert " car " not in text and " fast " not in text
    assert any(f" {w} drove" in text for w in ("automobile", "auto")) and " quickly along" in text
    assert full.positions == [] and len(full.input_ids) <= len(ex.input_ids)
    half = [augment([ex] * 20, smollm2_tokenizer, AugmentSettings(augment_rate=0.5), seed=s) for s in (1, 1, 2)]
    assert half[0] == half[1] and half[0] != half[2]  # the same seed gives the same text
    changed = sum(h.input_ids != ex.input_ids for h in half[0])
    assert 0 < changed < 20


def test_augmentation_with_no_alternative_is_a_user_error(smollm2_tokenizer):
    from harness.errors import UserError

    ex = words_example(smollm2_tokenizer)
    alone = TrainExample(ex.input_ids, ex.positions[2:], ex.sets[2:], ex.words[2:])
    with pytest.raises(UserError, match="no content word"):
        augment([alone], smollm2_tokenizer, AugmentSettings(), seed=0)


def one_line_error(capsys, *argv: str) -> str:
    code = cli_main(list(argv))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("flags,needle", [
    (("--objective", "caft-joint", "--caft-joint-k", "1"), "--caft-joint-k must be at least 2"),
    (("--objective", "caft-joint", "--caft-joint-decay", "0"), "--caft-joint-decay must lie in (0, 1]"),
    (("--objective", "caft", "--caft-decay", "1.5"), "--caft-decay must lie in (0, 1]"),
    (("--objective", "caft", "--caft-heads", "0"), "--caft-heads must be at least 1"),
    (("--objective", "weighted-ce", "--content-multiplier", "0"), "--content-multiplier must be greater than 0"),
    (("--objective", "weighted-ce", "--content-multiplier", "-2"), "--content-multiplier must be greater than 0"),
    (("--objective", "synonym-augment", "--augment-rate", "0"), "--augment-rate must lie in (0, 1]"),
    (("--objective", "cafe"), "unknown objective 'cafe'; did you mean caft?"),
])
@pytest.mark.parametrize("command", ["train", "train-and-eval", "sweep"])
def test_bad_settings_end_in_one_line(command, flags, needle, capsys, tmp_path):
    given = {"train": ("--concepts", str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "o"), "--lambda", "0"),
             "train-and-eval": ("--results-dir", str(tmp_path / "r")),
             "sweep": ("--runs-dir", str(tmp_path / "runs"), "--dry-run")}[command]
    assert needle in one_line_error(capsys, command, *given, *flags)
    assert not any(tmp_path.iterdir())  # nothing written


def test_augmentation_with_an_empty_concept_file_is_a_user_error(tiny_folder, smollm2_tokenizer, capsys, tmp_path):
    from concepts.concept_file import ConceptRecord
    from concepts.concept_file import write_concept_file as write
    from concepts.concept_header import tokenizer_info

    ids = smollm2_tokenizer.encode("a sequence whose words carry no concept set", add_special_tokens=False)
    empty = tmp_path / "empty.jsonl"
    write(empty, {"format_version": 1, "tokenizer": tokenizer_info(smollm2_tokenizer, "tiny"), "corpus": "random",
                  "split": "train", "selector": "random"}, [ConceptRecord(index=0, text="x", input_ids=ids)])
    for objective in ("synonym-augment", "alternatives", "weighted-ce"):
        err = one_line_error(capsys, "train", "--model", str(tiny_folder), "--concepts", str(empty), "--out",
                             str(tmp_path / objective), "--lambda", "0", "--objective", objective)
        assert "holds no concept targets" in err and not (tmp_path / objective).exists()


class Interrupt(Exception):
    pass


def test_a_resumed_caft_joint_run_continues_its_heads(tiny_folder, concepts4, tmp_path):
    """Interrupted after the step-2 checkpoint of 3 steps, resumed: adapter and heads equal an uninterrupted run's
    (the heads come back from the checkpoint, their optimizer state with the Trainer's)."""
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    class StopAtStep3(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise Interrupt

    def cfg(out: Path, resume: bool = False) -> TrainConfig:
        base = config(tiny_folder, concepts4, out, "caft-joint")
        return replace(base, resume=resume, overrides={**base.overrides, "max_steps": 3, "batch_size": 2})

    whole = train(cfg(tmp_path / "whole")).adapter
    with pytest.raises(Interrupt):
        train(cfg(tmp_path / "cut"), callbacks=[StopAtStep3()])
    resumed = train(cfg(tmp_path / "cut", resume=True))
    assert resumed.record["resumed_from"] == "checkpoint-2"
    for name in (HEADS_FILE, "adapter_model.safetensors"):
        a, b = load_file(str(whole / name)), load_file(str(resumed.adapter / name))
        assert a.keys() == b.keys() and len(a) > 0
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-6)


def test_a_sweep_point_and_train_and_eval_make_the_same_run_of_an_objective_without_lambda(tmp_path):
    """λ is not caft's setting: a sweep's caft point (λ = 0) and ``train-and-eval --objective caft`` (λ = 0.25 by
    default, or any --lambda) record the same settings, so they name and reuse one run folder."""
    from harness.config import recorded
    from trainers.objectives import OBJECTIVES
    from workflows.sweep import grid, point_config
    from workflows.train_and_eval import TrainAndEval, default_out

    caft = OBJECTIVES.get("caft")
    alone = TrainAndEval(train=TrainConfig(objective="caft", settings=ObjectiveSettings(lam=0.7)))
    (point,) = grid([0.0, 0.5], noise=True, objectives=["caft"])
    swept = point_config(TrainAndEval(), point, tmp_path)
    assert recorded(caft.own(swept.train.settings)) == recorded(caft.own(alone.train.settings))
    assert swept.train.out.name == default_out(alone, "wordnet", "wiki").name


def test_an_unknown_launcher_ends_in_one_line(capsys, tmp_path):
    err = one_line_error(capsys, "sweep", "--launcher", "slurm", "--runs-dir", str(tmp_path / "runs"), "--dry-run")
    assert "--launcher must be one of local, submitit, got 'slurm'" in err and not any(tmp_path.iterdir())


def test_caft_joint_under_torchrun_matches_one_process(tiny_folder, concepts4, trained, tmp_path):
    """2 processes × batch 2 (gloo, CPU) against 1 × batch 4, same global batch: the heads, used outside the
    model's own forward pass, are averaged across processes like the LoRA weights."""
    import os
    import shutil
    import subprocess
    import sys

    from safetensors.torch import load_file

    single = trained("caft-joint").adapter
    ddp = tmp_path / "ddp"
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    own = [f"--{k.replace('_', '-')}={v}" for k, v in OWN["caft-joint"].items()]
    proc = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", "29519", "-m", "harness.cli", "train",
                           "--model", str(tiny_folder), "--concepts", str(concepts4), "--lambda", "0.25",
                           "--objective", "caft-joint", *own, "--out", str(ddp), "--max-steps", "2", "--batch-size", "2",
                           "--save-steps", "1", "--lora-dropout", "0", "--warmup-ratio", "0", "--device", "cpu",
                           "--dtype", "float32", "--no-progress"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in (HEADS_FILE, "adapter_model.safetensors"):
        a, b = load_file(str(single / name)), load_file(str(ddp / name))
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-6)
