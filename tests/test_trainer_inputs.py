"""The LoRA trainer's bad inputs (one line, exit status 2, nothing overwritten), its disk estimate, the paper
profile's early stop, and an adapter that trains and loads without a warning, in peft, the MTEB encoder and
lm-eval (the training itself: test_trainer.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from harness.cli import main as cli_main
from test_trainer import adapter_tensors, concepts4, config, load_with_adapter, tiny_folder  # noqa: F401 - fixtures
from trainer_fixtures import write_concept_file
from trainers.objectives import ObjectiveSettings
from trainers.recipe import TrainConfig, train
from trainers.run_folder import load_train_log


# ---------------------------------------------------------------- bad inputs: one line, exit 2, nothing overwritten


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    try:
        rc = cli_main(args)
    except SystemExit as exc:  # a bad flag value is refused by the parser
        rc = exc.code
    err = capsys.readouterr().err.strip()
    return rc, err


def train_args(model: Path, concepts: Path, out: Path, lam: str = "0.25") -> list[str]:
    return ["train", "--model", str(model), "--concepts", str(concepts), "--lambda", lam, "--out", str(out),
            "--max-steps", "1", "--batch-size", "4", "--no-progress", "--device", "cpu"]


@pytest.fixture()
def finished(tiny_folder, concepts4, tmp_path, capsys) -> tuple[Path, bytes]:
    out = tmp_path / "done"
    assert run_cli(train_args(tiny_folder, concepts4, out), capsys)[0] == 0
    return out, (out / "adapter_model.safetensors").read_bytes()


@pytest.mark.parametrize("lam", ["-0.1", "1.5"])
def test_lambda_outside_unit_interval(tiny_folder, concepts4, tmp_path, capsys, lam):
    rc, err = run_cli(train_args(tiny_folder, concepts4, tmp_path / "x", lam), capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "argument --lambda: must be at" in err and "(in [0, 1])" in err
    assert not (tmp_path / "x").exists()


def test_concept_file_for_another_tokenizer(tiny_folder, smollm2_tokenizer, finished, tmp_path, capsys):
    other = write_concept_file(tmp_path / "other.jsonl", smollm2_tokenizer,
                               header_extra={"tokenizer": {"name": "gpt2", "fingerprint": "0" * 64}})
    out, before = finished
    rc, err = run_cli(train_args(tiny_folder, other, out), capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "tokenizer" in err
    assert (out / "adapter_model.safetensors").read_bytes() == before


def test_output_folder_with_another_run(tiny_folder, concepts4, finished, capsys):
    out, before = finished
    rc, err = run_cli(train_args(tiny_folder, concepts4, out, lam="0.5"), capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "holds another run (lambda differ)" in err
    assert (out / "adapter_model.safetensors").read_bytes() == before


def test_output_folder_with_something_else(tiny_folder, concepts4, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    rc, err = run_cli(train_args(tiny_folder, concepts4, out), capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and (out / "notes.txt").read_text() == "keep me"


def test_same_finished_run_is_kept(tiny_folder, concepts4, finished, capsys):
    out, before = finished
    rc, _ = run_cli(train_args(tiny_folder, concepts4, out), capsys)
    assert rc == 0 and (out / "adapter_model.safetensors").read_bytes() == before


def test_no_disk_space(tiny_folder, concepts4, tmp_path, capsys, monkeypatch):
    """The check asks the real filesystem; here the filesystem reports almost no free space."""
    from collections import namedtuple

    real = shutil.disk_usage(tmp_path)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(real.total, real.total - 1024, 1024))
    out = tmp_path / "nospace"
    rc, err = run_cli(train_args(tiny_folder, concepts4, out), capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "not enough disk space" in err
    assert not out.exists()


def test_disk_estimate_against_a_real_checkpoint(tiny_folder, concepts4, finished):
    """The estimate covers what a checkpoint really takes (measured on the folder the run wrote)."""
    from trainers.profiles import resolve_profile
    from trainers.recipe import count_lora_parameters, estimate_disk_bytes

    out, _ = finished
    ckpt = next((out / "checkpoints").iterdir())
    used = sum(p.stat().st_size for p in ckpt.rglob("*") if p.is_file())
    n_trainable = count_lora_parameters(str(tiny_folder), resolve_profile("cpu"))
    assert n_trainable == sum(t.numel() for t in adapter_tensors(out).values())
    assert estimate_disk_bytes(n_trainable) >= 3 * used


def test_paper_profile_evaluates_and_early_stops(tiny_folder, smollm2_tokenizer, tmp_path):
    """The paper profile's path: a 10% validation split, an evaluation per epoch, the best checkpoint kept."""
    concepts = write_concept_file(tmp_path / "c10.jsonl", smollm2_tokenizer, n_seq=10)
    result = train(TrainConfig(model=str(tiny_folder), concepts=concepts, out=tmp_path / "paper",
                               settings=ObjectiveSettings(lam=0.25),
                               profile="paper", device="cpu", dtype="float32", progress=False,
                               overrides={"epochs": 2, "lr": 1e-3}))
    rec = result.record
    assert (rec["train_sequences"], rec["val_sequences"]) == (9, 1)
    assert (rec["hyperparameters"]["lr"], rec["hyperparameters"]["batch_size"]) == (1e-3, 2)
    evals = [r for r in load_train_log(result.adapter) if "eval_loss" in r]
    assert [r["epoch"] for r in evals] == [1.0, 2.0]
    assert rec["best_eval_loss"] == pytest.approx(min(r["eval_loss"] for r in evals))


def test_training_and_loading_the_adapter_warn_nothing(tiny_folder, concepts4, tmp_path):
    """No developer warning of the libraries reaches the user on a CPU (device auto, as the main job runs): no
    pin_memory warning from the data loader, no FutureWarning about transformers' deprecated
    is_gradient_checkpointing (read by peft)."""
    import dataclasses
    import warnings

    from harness.lm.load import load_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(dataclasses.replace(config(tiny_folder, concepts4, tmp_path / "run", overrides={"max_steps": 1}),
                                  device="auto"))
        load_model(str(tmp_path / "run"), device="cpu", dtype="float32")
    shown = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, DeprecationWarning)]
    assert shown == []


def test_peft_reads_the_checkpointing_alias_without_a_warning_once_the_harness_wrapped_a_model(tmp_path):
    """peft reads transformers' deprecated is_gradient_checkpointing whenever it wraps a model; after the harness
    has wrapped one, no such read warns (ours, or another library's loading our adapter with peft directly,
    as lm-eval's HFLM(peft=...) does), and the alias still says whether checkpointing is on."""
    import warnings

    from peft import LoraConfig, PeftModel

    from harness.lm.hf_load import wrap_lora
    from harness.testing import tiny_llama_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrap_lora(tiny_llama_model(64), LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(tmp_path / "a")
        base = tiny_llama_model(64)
        PeftModel.from_pretrained(base, str(tmp_path / "a"))
        off = base.is_gradient_checkpointing
        base.activation_checkpointing_enable()
        on = base.is_gradient_checkpointing
    assert [str(w.message) for w in caught if issubclass(w.category, FutureWarning)] == []
    assert (off, on) == (False, True)


def test_saving_the_adapter_of_the_embedded_default_names_its_hub_id_and_warns_nothing(tmp_path, smollm2_tokenizer):
    """The final adapter of the embedded default names its base by hub id (what peft and lm-eval resolve), not
    the harness alias; saving it offline warns nothing, and harness reads it back as the embedded default."""
    import warnings

    from harness.testing import tiny_llama_model
    from trainers.profiles import resolve_profile
    from trainers.recipe import save_adapter
    from trainers.trainer import add_lora

    model = add_lora(tiny_llama_model(len(smollm2_tokenizer)), resolve_profile("cpu"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_adapter(model, tmp_path, {"base": "smollm2-135m"}, texts="{}\n")
    assert [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)] == []
    assert json.loads((tmp_path / "adapter_config.json").read_text())["base_model_name_or_path"] == \
        "HuggingFaceTB/SmolLM2-135M-Instruct"
    from harness.models import describe_spec

    info = describe_spec(str(tmp_path))
    assert (info.base, info.base_id) == ("smollm2-135m", describe_spec("smollm2-135m").id)


def test_training_a_loaded_base_in_place_gives_the_same_adapter_and_the_base_back(tiny_folder, concepts4,
                                                                                   tmp_path):
    """``train(..., model=module)`` (what train-and-eval does): the adapter of loading the base itself, and the
    module afterwards is the base as loaded: same submodules, parameters, no hooks or checkpointing left."""
    from harness.lm.load import load_model

    module = load_model(str(tiny_folder), device="cpu", dtype="float32").module
    before = {k: v.clone() for k, v in module.state_dict().items()}
    kinds = [(name, type(m)) for name, m in module.named_modules()]

    train(config(tiny_folder, concepts4, tmp_path / "own", lam=0.25))
    train(config(tiny_folder, concepts4, tmp_path / "given", lam=0.25), model=module)

    own, given = adapter_tensors(tmp_path / "own"), adapter_tensors(tmp_path / "given")
    assert own.keys() == given.keys() and all(torch.equal(own[k], given[k]) for k in own)
    after = module.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)
    assert [(name, type(m)) for name, m in module.named_modules()] == kinds
    assert not module.training and not module.is_activation_checkpointing
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in module.modules())
    assert all(not p.requires_grad for p in module.parameters())
    ids = torch.tensor([json.loads(concepts4.read_text().splitlines()[1])["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(module(input_ids=ids).logits, load_with_adapter(tiny_folder, None)(input_ids=ids).logits,
                                   rtol=0, atol=0)


def test_the_embedded_defaults_hub_id_names_the_embedded_copy_offline(monkeypatch, tmp_path):
    """Offline, with no copy of the hub id in the hub cache, ``HuggingFaceTB/SmolLM2-135M-Instruct`` is the
    embedded default (same results id); online it is the hub model itself."""
    from harness.models import describe_spec

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert describe_spec("HuggingFaceTB/SmolLM2-135M-Instruct").id == describe_spec("smollm2-135m").id
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    online = describe_spec("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert (online.base, online.id) != ("smollm2-135m", describe_spec("smollm2-135m").id)


def test_a_trained_adapter_loads_in_the_mteb_encoder_and_in_lm_eval_by_the_hub_id(tiny_folder, concepts4, tmp_path):
    """An adapter from ``harness train`` embeds through the MTEB encoder with the adapter on; its config naming
    the embedded default's hub id (as the trainer writes for it) still loads in lm-eval's hf model offline."""
    pytest.importorskip("mteb")
    import numpy as np

    from harness.interop.mteb_encoder import HarnessEncoder

    out = tmp_path / "run"
    train(config(tiny_folder, concepts4, out, lam=0.5, overrides={"max_steps": 1}))
    batches = [{"text": ["A man is playing a harp.", "A girl is styling her hair."]}]
    adapted = HarnessEncoder.load(str(out), device="cpu", dtype="float32").encode(batches)
    base = HarnessEncoder.load(str(tiny_folder), device="cpu", dtype="float32").encode(batches)
    assert adapted.shape == base.shape and not np.allclose(adapted, base)

    cfg = json.loads((out / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "HuggingFaceTB/SmolLM2-135M-Instruct"
    (out / "adapter_config.json").write_text(json.dumps(cfg))
    from lm_eval.models.huggingface import HFLM

    ids = torch.tensor([json.loads(concepts4.read_text().splitlines()[1])["input_ids"]])
    lm = HFLM(pretrained=str(tiny_folder), peft=str(out), device="cpu", dtype="float32", batch_size=1)
    with torch.no_grad():
        torch.testing.assert_close(lm.model(input_ids=ids).logits, load_with_adapter(tiny_folder, out)(input_ids=ids).logits)
