"""The LoRA trainer on a tiny random Llama (real SmolLM2 tokenizer): losses of a 2-step run against an
independent computation, SIGKILL + --resume equals an uninterrupted run, the adapter loads in peft, lm-eval
and ``harness eval``, and bad inputs end in one line, exit status 2, nothing overwritten."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from harness.cli import main as cli_main
from trainer_fixtures import write_concept_file, write_tiny_model
from trainers.objectives import ObjectiveSettings
from trainers.recipe import TrainConfig, train
from trainers.run_folder import load_train_log


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, smollm2_tokenizer) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model", smollm2_tokenizer)


@pytest.fixture(scope="module")
def concepts4(tmp_path_factory, smollm2_tokenizer) -> Path:
    return write_concept_file(tmp_path_factory.mktemp("concepts") / "c4.jsonl", smollm2_tokenizer, n_seq=4)


def config(model: Path, concepts: Path, out: Path, lam: float = 0.0, **kw) -> TrainConfig:
    overrides = {"max_steps": 2, "batch_size": 4, "save_steps": 1, "lora_dropout": 0.0, "warmup_ratio": 0.0,
                 **kw.pop("overrides", {})}
    return TrainConfig(model=str(model), concepts=concepts, out=out, settings=ObjectiveSettings(lam=lam),
                       device="cpu", dtype="float32", progress=False, overrides=overrides, **kw)


def adapter_tensors(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def independent_losses(model, concept_path: Path, lam: float, threshold: float = 0.6) -> dict[str, float]:
    """Full-batch loss, one sequence at a time, explicit softmax and sums in float64 (no trainers code)."""
    ntp_terms, concept_terms = [], []
    lines = concept_path.read_text().splitlines()[1:]
    with torch.no_grad():
        for line in lines:
            rec = json.loads(line)
            ids = rec["input_ids"]
            z = model(input_ids=torch.tensor([ids])).logits[0].double()
            p = torch.exp(z - z.max(-1, keepdim=True).values)
            p = p / p.sum(-1, keepdim=True)
            ntp_terms += [-torch.log(p[t - 1, ids[t]]).item() for t in range(1, len(ids))]
            for t in rec["targets"]:
                mass = sum(p[t["position"] - 1, s].item() for s in t["set_ids"])
                concept_terms.append(-float(torch.log(torch.tensor(mass))) if mass < threshold else 0.0)
    ntp = sum(ntp_terms) / len(ntp_terms)
    concept = sum(concept_terms) / len(concept_terms)
    return {"loss": (1 - lam) * ntp + lam * concept, "ntp_loss": ntp, "concept_loss": concept}


def load_with_adapter(base: Path, adapter: Path | None):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, str(adapter))
    return model.eval()


def test_two_steps_match_independent_losses(tiny_folder, concepts4, tmp_path):
    out = tmp_path / "run"
    result = train(config(tiny_folder, concepts4, out, lam=0.25))
    log = [r for r in load_train_log(out) if "loss" in r]
    assert [r["step"] for r in log] == [1, 2]
    # step 1 sees the base model (LoRA B starts at 0), step 2 the adapter saved after step 1
    for record, adapter in ((log[0], None), (log[1], out / "checkpoints" / "checkpoint-1")):
        want = independent_losses(load_with_adapter(tiny_folder, adapter), concepts4, lam=0.25)
        for key in ("loss", "ntp_loss", "concept_loss"):
            assert record[key] == pytest.approx(want[key], rel=1e-5), (record["step"], key)
    assert log[1]["loss"] != log[0]["loss"]  # the first step changed the model
    rec = json.loads((out / "harness_train.json").read_text())
    assert rec == result.record
    assert (rec["method"], rec["objective"], rec["lambda"], rec["lambda_scope"], rec["mass_threshold"]) == \
        ("concept", "concept", 0.25, "all", 0.6)
    assert rec["concept_file_sha256"] == __import__("hashlib").sha256(concepts4.read_bytes()).hexdigest()
    assert rec["hyperparameters"]["lora_r"] == 8 and rec["steps"] == 2 and rec["seed"] == 0
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_folder)


def test_final_adapter_is_the_trained_model(tiny_folder, concepts4, tmp_path):
    """The adapter loads with PeftModel and with lm-eval's HF model (peft=), giving the same logits."""
    out = tmp_path / "run"
    train(config(tiny_folder, concepts4, out, lam=0.5, overrides={"max_steps": 1}))
    ids = torch.tensor([json.loads(concepts4.read_text().splitlines()[1])["input_ids"]])
    peft_logits = load_with_adapter(tiny_folder, out)(input_ids=ids).logits
    base_logits = load_with_adapter(tiny_folder, None)(input_ids=ids).logits
    assert not torch.allclose(peft_logits, base_logits)  # one step at lr 3e-4 moved it
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=str(tiny_folder), peft=str(out), device="cpu", dtype="float32", batch_size=1)
    with torch.no_grad():
        hf_logits = lm.model(input_ids=ids).logits
    torch.testing.assert_close(hf_logits, peft_logits)


def test_harness_eval_reads_the_adapter(tiny_folder, concepts4, tmp_path, capsys):
    out = tmp_path / "run"
    train(config(tiny_folder, concepts4, out, lam=0.0, overrides={"max_steps": 1}))
    rc = cli_main(["eval", "--model", str(out), "--tasks", "wordsim353", "--limit", "8",
                   "--results-dir", str(tmp_path / "results")])
    assert rc == 0, capsys.readouterr().err
    (result_file,) = (tmp_path / "results").glob("*/wordsim353.json")
    model = json.loads(result_file.read_text())["model"]
    assert model["kind"] == "adapter" and model["training"]["method"] == "ntp"


def test_sigkill_then_resume_equals_an_uninterrupted_run(tiny_folder, smollm2_tokenizer, tmp_path):
    concepts = write_concept_file(tmp_path / "c8.jsonl", smollm2_tokenizer, n_seq=8)
    # 8 sequences, batch 2: 4 steps per epoch; 6 steps cross an epoch; dropout on, so RNG state matters too
    kw = {"overrides": {"max_steps": 6, "batch_size": 2, "save_steps": 2, "lora_dropout": 0.1}}
    whole = train(config(tiny_folder, concepts, tmp_path / "whole", lam=0.25, **kw))

    killed = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from transformers import TrainerCallback
        from trainers.objectives import ObjectiveSettings
        from trainers.recipe import TrainConfig, train

        class KillAfterSave(TrainerCallback):
            def on_save(self, args, state, control, **kwargs):
                if state.global_step == 4:
                    os.kill(os.getpid(), signal.SIGKILL)

        overrides = {{"max_steps": 6, "batch_size": 2, "save_steps": 2, "lora_dropout": 0.1, "warmup_ratio": 0.0}}
        train(TrainConfig(model={str(tiny_folder)!r}, concepts=Path({str(concepts)!r}), out=Path({str(killed)!r}),
                          settings=ObjectiveSettings(lam=0.25), device="cpu", dtype="float32", progress=False,
                          overrides=overrides),
              callbacks=[KillAfterSave()])
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (killed / "checkpoints" / "checkpoint-4").is_dir() and not (killed / "adapter_model.safetensors").exists()
    (killed / "checkpoints" / "checkpoint-5").mkdir()  # as if killed while writing a later checkpoint

    assert cli_main(["train", "--model", str(tiny_folder), "--concepts", str(concepts), "--lambda", "0.25",
                     "--out", str(killed), "--max-steps", "6"]) == 2  # interrupted: needs --resume

    resumed = train(config(tiny_folder, concepts, killed, lam=0.25, resume=True, **kw))
    assert resumed.record["resumed_from"] == "checkpoint-4"
    a, b = adapter_tensors(whole.adapter), adapter_tensors(resumed.adapter)
    assert a.keys() == b.keys() and len(a) > 0
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-6)
    assert [r["step"] for r in load_train_log(killed)] == [1, 2, 3, 4, 5, 6]
    assert [r["loss"] for r in load_train_log(killed)] == pytest.approx([r["loss"] for r in load_train_log(whole.adapter)],
                                                                       abs=1e-6)


def test_two_processes_match_one(tiny_folder, concepts4, tmp_path):
    """torchrun (gloo, CPU) with 2 processes × batch 2 against 1 process × batch 4: same global batch (the whole
    4-sequence set, equal lengths), so the losses and the adapter must agree."""
    single = train(config(tiny_folder, concepts4, tmp_path / "single", lam=0.5))
    ddp = tmp_path / "ddp"
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", "29517", "-m", "harness.cli", "train",
                           "--model", str(tiny_folder), "--concepts", str(concepts4), "--lambda", "0.5",
                           "--out", str(ddp), "--max-steps", "2", "--batch-size", "2", "--save-steps", "1",
                           "--lora-dropout", "0", "--warmup-ratio", "0", "--device", "cpu", "--dtype", "float32",
                           "--no-progress"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((ddp / "harness_train.json").read_text())["world_size"] == 2
    # the trained texts' digests: written once, by the main process, as one process writes them
    assert (ddp / "training_texts.json").read_bytes() == (single.adapter / "training_texts.json").read_bytes()
    assert sorted(p.name for p in ddp.iterdir() if p.name.startswith(".") and p.name != ".run.lock") == []
    one = [r["loss"] for r in load_train_log(single.adapter)]
    two = [r["loss"] for r in load_train_log(ddp)]
    assert two == pytest.approx(one, rel=1e-5)
    a, b = adapter_tensors(single.adapter), adapter_tensors(ddp)
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-6)


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
