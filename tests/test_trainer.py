"""The LoRA trainer on a tiny random Llama (real SmolLM2 tokenizer): losses of a 2-step run against an
independent computation, SIGKILL + --resume equals an uninterrupted run, two processes equal one, the adapter
loads in ``harness eval`` (bad inputs, warnings and loading elsewhere: test_trainer_inputs.py)."""
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
