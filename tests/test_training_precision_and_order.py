"""``--mixed-precision bf16`` (autocast over float32 weights) and ``--batch-order by-length`` (batches of
similar lengths), on a tiny random Llama with the real SmolLM2 tokenizer: what the forward pass sees, the
first step's loss against an independent float64 computation, and the padding of an epoch in each order."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from test_trainer import config, independent_losses, tiny_folder  # noqa: F401 - the module fixture
from trainers.recipe import train
from trainers.run_folder import load_train_log

LENGTHS = [random.Random(2 + i).randrange(6, 40) for i in range(64)]


@pytest.fixture(scope="module")
def varied(tmp_path_factory, smollm2_tokenizer) -> Path:
    """64 sequences of the lengths above, one concept target each."""
    from concepts.concept_file import ConceptRecord, ConceptTarget, write_concept_file
    from concepts.concept_header import tokenizer_info

    rng = random.Random(1)
    records = []
    for i, n in enumerate(LENGTHS):
        ids = [rng.randrange(100, 20000) for _ in range(n)]
        syn = [t for t in rng.sample(range(100, 20000), 2) if t != ids[3]]
        records.append(ConceptRecord(index=i, text=f"sequence {i}", input_ids=ids, targets=[
            ConceptTarget(position=3, token_id=ids[3], word="w", pos="NOUN", set_ids=[ids[3]] + syn,
                          set_words=["w"] + [f"s{t}" for t in syn])]))
    header = {"format_version": 1, "tokenizer": tokenizer_info(smollm2_tokenizer, "tiny"), "corpus": "random",
              "split": "train", "selector": "random"}
    path = tmp_path_factory.mktemp("varied") / "varied.jsonl"
    write_concept_file(path, header, records)
    return path


def _load(folder: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)


def _record_inputs(model) -> list[torch.Tensor]:
    """The outputs of the first layer's (not LoRA-wrapped) gate projection in every training forward."""
    seen: list[torch.Tensor] = []
    model.model.layers[0].mlp.gate_proj.register_forward_hook(lambda mod, args, out: seen.append(out.detach()))
    return seen


def test_bf16_autocasts_the_forward_keeps_float32_weights_and_matches_the_float32_loss(tiny_folder, varied,
                                                                                       tmp_path):
    model = _load(tiny_folder)
    expected = independent_losses(_load(tiny_folder), varied, lam=0.5)  # all 64 sequences: one full batch
    seen = _record_inputs(model)
    out = tmp_path / "bf16"
    cfg = config(tiny_folder, varied, out, lam=0.5, overrides={"mixed_precision": "bf16", "max_steps": 1,
                                                                "batch_size": 64}, activation_checkpointing=False)
    train(replace(cfg, device="auto"), model=model)  # auto: the CPU here, as a sweep's default device resolves
    assert seen and {t.dtype for t in seen} == {torch.bfloat16}  # its matmul ran in bf16
    from safetensors.torch import load_file

    assert {t.dtype for t in load_file(str(out / "adapter_model.safetensors")).values()} == {torch.float32}
    first = load_train_log(out)[0]
    # bf16 keeps 8 bits of mantissa: the loss agrees to within a few parts in a thousand
    assert first["loss"] == pytest.approx(expected["loss"], rel=2e-2)


def _padding(tiny_folder, varied, out: Path, order: str) -> int:
    """Padding tokens of one epoch in batches of 2 (every sequence once)."""
    model = _load(tiny_folder)
    seen = _record_inputs(model)
    train(config(tiny_folder, varied, out, overrides={"batch_order": order, "max_steps": 0, "epochs": 1,
                                                      "batch_size": 2, "save_steps": 0}, activation_checkpointing=False),
          model=model)
    assert len(seen) == len(LENGTHS) // 2
    return sum(t.shape[0] * t.shape[1] for t in seen) - sum(LENGTHS)


def test_by_length_batches_pad_far_less_than_shuffled_ones(tiny_folder, varied, tmp_path):
    by_length = _padding(tiny_folder, varied, tmp_path / "by-length", "by-length")
    shuffled = _padding(tiny_folder, varied, tmp_path / "shuffled", "shuffled")
    # random pairs of lengths uniform on 6..39 differ by ~11 tokens on average; neighbours in a sorted group of 16
    # (transformers' megabatch for 64 sequences in batches of 2) by ~2
    assert shuffled > 200 and by_length < shuffled / 3


def test_the_settings_are_recorded_and_the_flags_refuse_other_values(tiny_folder, varied, tmp_path, capsys):
    from harness.cli import main

    out = tmp_path / "rec"
    result = train(config(tiny_folder, varied, out, overrides={"mixed_precision": "bf16", "batch_order": "by-length",
                                                               "max_steps": 1}))
    assert result.record["hyperparameters"]["mixed_precision"] == "bf16"
    assert result.record["hyperparameters"]["batch_order"] == "by-length"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--concepts", str(varied), "--out", str(tmp_path / "x"), "--model", str(tiny_folder),
              "--mixed-precision", "fp8"])
    assert exit_info.value.code == 2 and not (tmp_path / "x").exists()
