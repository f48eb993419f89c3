"""``train(config)``: concept file + base model -> LoRA adapter folder, top to bottom.

Order of work, so that user errors cost nothing and overwrite nothing:

1. check the settings (λ ∈ [0, 1], scope, threshold, hyperparameters) and the objective name;
2. resolve the base model (no adapters) and load its tokenizer; read the concept file and check it
   was built for that tokenizer and from the train part of its split, if it names one;
3. check the output folder: empty or new; or holding this same run (``run.json``): finished ->
   returned as it is, interrupted -> needs ``resume``; anything else is a user error;
4. check free disk space against an estimate of checkpoints + adapter;
5. load the model, build the objective's heads on it if it has any (``caft``: stage 1, or its cache), add
   LoRA, attach the heads (:mod:`trainers.objective_heads`), train with :class:`trainers.trainer.ObjectiveTrainer`
   (checkpoints in ``OUT/checkpoints``, per-step log in ``OUT/train_log.jsonl``);
6. save the adapter and the digests of the texts it was trained and validated on (``training_texts.json``,
   :mod:`harness.seen_texts`) into a staging folder, then move its files into ``OUT`` with
   ``harness_train.json`` last: a folder holding ``harness_train.json`` holds a whole adapter.

The output folder is itself the adapter folder: ``harness eval --model OUT`` and
``PeftModel.from_pretrained(base, OUT)`` read it. The run itself is one object, built once by step 1–2
(:class:`trainers.training_run.TrainingRun`: its config, objective, data and folder; the model joins it in step 5),
and every later step takes it.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from harness.lm.load import model_folder
from trainers.run_folder import check_disk_space, count_lora_parameters, estimate_disk_bytes, is_main_process
from trainers.run_record import save_adapter, train_record
from trainers.train_config import TrainConfig, TrainResult
from trainers.training_run import TrainingRun, prepare_run


def train(config: TrainConfig, callbacks: Sequence[Any] = (), model: Any = None) -> TrainResult:
    """Train one LoRA adapter into ``config.out`` (see the module docstring for the order of work).

    ``model``: the base model's module, already loaded with the training dtype (``train-and-eval``'s), trained
    in place instead of loading the model again, and given back as it was (:func:`harness.lm.hf_load.unwrap_lora`)."""
    from harness.runner import seed_everything

    run = prepare_run(config)  # 1-2: every user error of the settings and the data, nothing written
    with run.folder.claim():  # locked; a failure leaves nothing that blocks a retry
        state = run.folder.state(run.config.resume)  # 3
        if state == "finished":
            return TrainResult(adapter=run.folder.out, record=run.folder.record(), reused=True)
        check_disk_space(run.folder.out, estimate_disk_bytes(count_lora_parameters(model_folder(run.info), run.hyper)))
        seed_everything(run.config.seed)
        load_and_wrap(run, model, state)  # 5: base, the objective's heads attached, LoRA
        n_trainable = sum(p.numel() for p in run.model.parameters() if p.requires_grad)
        if is_main_process():  # other processes of a distributed run only read the folder
            run.folder.open(run.resume_from)
        trainer, output, wall = fit(run, callbacks)
        record = train_record(run, trainer, output, wall, n_trainable)
        if trainer.is_world_process_zero():  # 6
            save_adapter(trainer.model, run.folder.out, record, run.seen[0])
        trainer.accelerator.wait_for_everyone()
        from harness.lm.hf_load import unwrap_lora

        unwrap_lora(run.model)  # the base module, as it came (a given one serves as the base again)
        return TrainResult(adapter=run.folder.out, record=record)


def load_and_wrap(run: TrainingRun, base: Any, state: str) -> None:
    """``run.model``: the base (loaded unless given) with LoRA added and the objective's heads (built on the base
    before LoRA, so no LoRA layer is copied into them) attached; ``run.resume_from``: its checkpoint, if any."""
    from harness.lm.load import load_model
    from trainers.objective_heads import AttachedHeads, build_heads
    from trainers.trainer import add_lora

    if base is None:
        base = load_model(run.config.model, device="cpu", dtype=run.config.dtype, info=run.info).module
    heads = build_heads(run.objective, run.settings, base, run.heads_context())
    run.model = add_lora(base, run.hyper)
    run.resume_from = run.folder.resume_point(state, run.config.resume)
    run.heads = AttachedHeads(run.model, heads, run.resume_from) if heads is not None else None


def fit(run: TrainingRun, callbacks: Sequence[Any]) -> tuple[Any, Any, float]:
    """Train ``run.model`` (checkpoints in the run folder, resumed from ``run.resume_from``): (the trainer, its
    ``train()`` output, the seconds it took); the heads let go of the model afterwards, whatever happens."""
    from trainers.trainer import build_trainer

    trainer = build_trainer(run, callbacks)
    start = time.perf_counter()
    run.model.train()
    try:
        output = trainer.train(resume_from_checkpoint=str(run.resume_from) if run.resume_from else None)
    finally:
        if run.heads is not None:
            run.heads.remove()
    return trainer, output, time.perf_counter() - start
