"""CAFT's stage 1: the auxiliary heads trained alone, the base frozen and without LoRA, once per base model.

The heads (:mod:`trainers.caft_heads`) start as copies of the base's second-to-last decoder layer and minimise
``L_heads = Σ_i decay^i · CE_i`` (the public code's head pre-training: its coefficient 1, no NTP term) on the
run's own training sequences (the train part it fine-tunes on; validation and held-out text stay unseen), with
AdamW (no weight decay), a linear warm-up over the run's warm-up share of the steps then a cosine decay, as
the public code's ``--heads-pretraining`` does (1 epoch at lr 1e-4 by default; its 50 warm-up steps are a share
here, so short runs warm up too). The run's micro-batch size and accumulation steps make a step. The heads
train as float32 copies (an update of 1e-4 on a bfloat16 weight is mostly rounded away) and are kept in the
base's dtype.

The result is cached under ``<cache>/caft_heads``, keyed by everything that decides it (:func:`stage1_identity`:
a fingerprint of the base's weights, its dtype, the head settings, the stage-1 settings, the sha256 of the
training token ids, the seed), written beside its final name and renamed in under a file lock, so concurrent
runs train it once and never read half of it. Stage 1 draws from its own seeded generators and leaves the
global random state as it found it, so a run's LoRA initialisation and data order do not depend on whether the
heads came from the cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from harness.atomic import atomic_path
from trainers.caft_heads import ARCHITECTURE, head_layers, head_losses, weighted_sum

CACHE_FOLDER = "caft_heads"
SAMPLED = 4096  # elements of each weight tensor the fingerprint reads


def base_fingerprint(model: Any) -> str:
    """sha256 over every parameter's name, shape, dtype and up to :data:`SAMPLED` evenly strided elements: the
    base's content in a few milliseconds (another checkpoint changes nearly every element; an edit confined to
    elements the stride skips would go unnoticed)."""
    import torch

    h = hashlib.sha256()
    for name, p in model.named_parameters():
        flat = p.detach().reshape(-1)
        step = max(1, flat.numel() // SAMPLED)
        h.update(f"{name}|{tuple(p.shape)}|{p.dtype}|".encode())
        h.update(flat[::step][:SAMPLED].to(device="cpu", dtype=torch.float32).numpy().tobytes())
    return h.hexdigest()


def stage1_identity(model: Any, settings: Any, context: Any) -> dict[str, Any]:
    """Everything that decides the stage-1 heads (the cache key is a hash of it)."""
    from harness.models import dtype_name

    ids = hashlib.sha256(json.dumps([e.input_ids for e in context.train_set]).encode()).hexdigest()
    return {"architecture": ARCHITECTURE, "base_class": type(model).__name__, "base_fingerprint":
            base_fingerprint(model), "dtype": dtype_name(model.dtype), "heads": settings.caft_heads,
            "decay": settings.caft_decay, "epochs": settings.caft_heads_epochs, "lr": settings.caft_heads_lr,
            "max_steps": settings.caft_heads_max_steps, "batch_size": context.batch_size,
            "grad_accum": context.grad_accum, "warmup_ratio": context.warmup_ratio, "optimizer": "adamw",
            "lr_schedule": "cosine", "train_token_ids_sha256": ids, "seed": context.seed}


def cache_path(model_name: str, key: str) -> Path:
    from harness.paths import cache_dir, slug

    return cache_dir(CACHE_FOLDER) / f"{slug(model_name)}-{key}.safetensors"


def cached_heads(model: Any, settings: Any, context: Any) -> tuple[Any, dict[str, Any]]:
    """(the frozen heads in ``model``'s dtype, on its device; the record ``harness_train.json`` keeps of them:
    cache key and file, the stage-1 settings and how its training went), trained on first use."""
    from filelock import FileLock
    from safetensors.torch import load_file, safe_open

    identity = stage1_identity(model, settings, context)
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_path(context.model_name, key)
    layers = head_layers(model, settings.caft_heads)
    if not path.is_file():
        with FileLock(str(path) + ".lock"):
            if not path.is_file():
                _write(path, *train_heads(model, layers, settings, context), identity)
    with safe_open(str(path), framework="pt") as f:
        summary = json.loads(f.metadata()["summary"])
    device = next(layers.parameters()).device
    layers.load_state_dict({k: v.to(device) for k, v in load_file(str(path)).items()})
    record = {"cache_key": key, "cache_file": str(path),
              **{k: v for k, v in identity.items() if k != "base_fingerprint"}, "stage1": summary}
    return layers, record


def _write(path: Path, tensors: dict, summary: dict, identity: dict) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"summary": json.dumps(summary), "identity": json.dumps(identity)})


def train_device(name: str) -> Any:
    """The device the run trains on (a distributed run's process: its ``LOCAL_RANK`` GPU)."""
    import torch

    from harness.lm.hf_load import pick_device

    device = pick_device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def train_heads(model: Any, layers: Any, settings: Any, context: Any) -> tuple[dict, dict]:
    """Stage 1 (module docstring): (the trained weights in ``model``'s dtype on the CPU, a summary). ``model``
    is moved to the run's device (where the trainer puts it anyway) and left with its weights as they were."""
    import copy

    import torch

    device = train_device(context.device)
    model.to(device)
    trainable = {p: p.requires_grad for p in model.parameters()}
    was_training = model.training
    model.eval().requires_grad_(False)
    master = copy.deepcopy(layers).to(device=device, dtype=torch.float32).requires_grad_(True).train()
    start = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(context.seed)
            losses = _optimise(model, master, settings, context, device)
    finally:
        for p, flag in trainable.items():
            p.requires_grad_(flag)
        model.train(was_training)
    tensors = {k: (v.to(model.dtype) if v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in master.state_dict().items()}
    summary = {"steps": len(losses), "first_loss": losses[0] if losses else None,
               "last_loss": losses[-1] if losses else None, "train_sequences": len(context.train_set),
               "device": str(device), "seconds": round(time.perf_counter() - start, 3)}
    return tensors, summary


def _optimise(model: Any, master: Any, settings: Any, context: Any, device: Any) -> list[float]:
    """The stage-1 loop; the loss L_heads of each optimizer step (mean over its micro-batches)."""
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import get_cosine_schedule_with_warmup

    from harness.lm.hf_train import decoder_layers, output_embedding
    from trainers.caft_heads import LayerInput
    from trainers.data import ConceptCollator

    loader = DataLoader([e.as_feature() for e in context.train_set], batch_size=context.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(context.seed),
                        collate_fn=ConceptCollator(pad_id=context.pad_id))
    per_epoch = math.ceil(len(loader) / context.grad_accum)
    total = max(1, math.ceil(settings.caft_heads_epochs * per_epoch))
    if settings.caft_heads_max_steps > 0:
        total = min(total, settings.caft_heads_max_steps)
    optimizer = torch.optim.AdamW(master.parameters(), lr=settings.caft_heads_lr, weight_decay=0.0)
    lr = get_cosine_schedule_with_warmup(optimizer, math.ceil(context.warmup_ratio * total), total)
    recorder = LayerInput(model, decoder_layers(model)[-1])
    embedding = output_embedding(model)
    losses: list[float] = []
    bar = tqdm(total=total, desc="caft heads", unit="step", disable=not context.progress or None)
    try:
        while len(losses) < total:
            batches = list(loader)  # one epoch, in this epoch's order
            for first in range(0, len(batches), context.grad_accum):
                group = batches[first:first + context.grad_accum]
                step_loss = 0.0
                for batch in group:
                    with torch.no_grad():
                        model(input_ids=batch["input_ids"].to(device),
                              attention_mask=batch["attention_mask"].to(device), use_cache=False)
                    loss = weighted_sum(head_losses(master, recorder.take(), batch["labels"].to(device), embedding),
                                        settings.caft_decay)
                    (loss / len(group)).backward()
                    step_loss += float(loss.detach()) / len(group)
                optimizer.step()
                lr.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(step_loss)
                bar.update(1)
                if len(losses) >= total:
                    break
    finally:
        recorder.remove()
        bar.close()
    return losses
