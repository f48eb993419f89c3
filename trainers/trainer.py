"""A ``transformers.Trainer`` whose loss is a named objective, plus peft LoRA.

Checkpoints, resume, logging integrations (``report_to``) and multi-process training
(``accelerate launch`` / ``torchrun``) all come from ``transformers.Trainer``; this module adds:

- :func:`add_lora`: wrap a causal LM in a peft LoRA model (q, k, v, o projections by default);
- :class:`ObjectiveTrainer`: one forward pass with the model's own logits (no labels passed,
  so the model computes no loss of its own), then ``objective(logits, labels, concepts, settings)``;
  its loss is a per-micro-batch mean, so ``loss_is_scaled_for_ga = False`` lets the Trainer divide
  by the accumulation steps (see :mod:`trainers.objectives`);
- objectives with heads of their own (``caft``, ``caft-joint``): attached to the model by the objective's side
  (:mod:`trainers.objective_heads`); the trainer asks them for their term in each forward pass and saves heads
  that train in every checkpoint (``caft-joint``);
- :class:`StepLog`: one JSON line per optimizer step (loss, NTP loss, concept loss, share of
  targets zeroed by the mass threshold, learning rate; means over the step's micro-batches and
  processes) and a tqdm bar with loss and ETA.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from transformers import Trainer, TrainerCallback

from trainers.data import pop_concept_batch
from trainers.objective_heads import CALL_KEYWORD, HeadsCall, heads_of, save_heads, trained
from trainers.objectives import LossOutput, Objective, ObjectiveSettings
from trainers.profiles import Hyper

def add_lora(model, hyper: Hyper):
    """LoRA on ``hyper.target_modules``. Until :func:`trainers.recipe.save_adapter` names the base by its
    spec, the adapter config names the folder the weights came from, where peft finds the base's config
    when it saves a checkpoint."""
    from peft import LoraConfig

    from harness.lm.hf_load import wrap_lora

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in hyper.target_modules if m not in present]
    if missing:
        from harness.errors import UserError

        raise UserError(f"the model has no module named {', '.join(missing)} for LoRA (--target-modules)")
    config = LoraConfig(r=hyper.lora_r, lora_alpha=hyper.lora_alpha, lora_dropout=hyper.lora_dropout,
                        target_modules=list(hyper.target_modules), bias="none", task_type="CAUSAL_LM")
    return wrap_lora(model, config)


class ObjectiveTrainer(Trainer):
    """``transformers.Trainer`` with ``compute_loss`` = a registered objective, plus the objective's heads
    (:attr:`Objective.heads`) when the model carries them (:class:`trainers.objective_heads.AttachedHeads`): each
    forward pass then asks them for their term (told the batch's labels and the share of steps done), which is
    added to the loss, and every checkpoint holds heads that train (:data:`trainers.objective_heads.HEADS_FILE`) beside the adapter."""

    loss_is_scaled_for_ga = False  # objectives return per-micro-batch means

    def __init__(self, *args, objective: Objective, settings: ObjectiveSettings, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.objective = objective
        self.settings = settings
        self.heads = heads_of(self.model)
        self.pending_logs: list[dict[str, float]] = []

    def compute_loss(self, model, inputs, return_outputs: bool = False, num_items_in_batch=None):
        concepts = pop_concept_batch(inputs)
        labels = inputs.pop("labels")
        from harness.lm.hf_train import training_forward

        steps = self.state.max_steps
        call = HeadsCall(labels, self.state.global_step / steps if steps else None) if self.heads is not None else None
        logits, extra = training_forward(model, inputs["input_ids"], inputs["attention_mask"],
                                         **({CALL_KEYWORD: call} if call is not None else {}))
        out = self.objective(logits, labels, concepts if self.objective.uses_concepts else None, self.settings)
        if call is not None:  # the heads' term, from the output (what DistributedDataParallel saw)
            out = LossOutput(loss=out.loss + extra, logs={**out.logs, **call.output.logs})
        if model.training:
            self.pending_logs.append({"loss": float(out.loss.detach()), **out.logs})
        return (out.loss, {"logits": logits}) if return_outputs else out.loss

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        super().save_model(output_dir, _internal_call)
        if trained(self.heads) and self.args.should_save:
            save_heads(self.heads, Path(output_dir or self.args.output_dir))

    def take_step_logs(self) -> dict[str, float]:
        """Mean of the logs of this step's micro-batches, averaged over processes."""
        logs, self.pending_logs = self.pending_logs, []
        if not logs:
            return {}
        keys = sorted(set.intersection(*(set(d) for d in logs)))
        means = {k: sum(d[k] for d in logs) / len(logs) for k in keys}
        if self.args.world_size > 1:
            import torch
            import torch.distributed as dist

            t = torch.tensor([means[k] for k in keys], dtype=torch.float64, device=self.args.device)
            dist.all_reduce(t)
            means = dict(zip(keys, (t / self.args.world_size).tolist()))
        return means


class StepLog(TrainerCallback):
    """Writes ``log_path`` (JSON lines, appended) and shows a progress bar, on the main process."""

    SHOWN = ("loss", "ntp_loss", "concept_loss", "zeroed_share")

    def __init__(self, trainer: ObjectiveTrainer, log_path: Path, progress: bool = True) -> None:
        self.trainer = trainer
        self.log_path = Path(log_path)
        self.progress = progress
        self.bar = None
        self.lr = 0.0
        self.start = time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train", unit="step", disable=None)

    def on_step_begin(self, args, state, control, **kwargs):
        self.lr = self.trainer._get_learning_rate()  # the rate this step uses (the scheduler steps after it)

    def on_step_end(self, args, state, control, **kwargs):
        logs = self.trainer.take_step_logs()  # every process takes part in the reduction
        if not state.is_world_process_zero:
            return
        record = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4),
                  "lr": self.lr, **logs,
                  "elapsed_s": round(time.perf_counter() - self.start, 3)}
        self._append(record)
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)
            self.bar.set_postfix({k.replace("_loss", ""): f"{logs[k]:.3f}" for k in self.SHOWN if k in logs})

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        if state.is_world_process_zero and logs and "eval_loss" in logs:
            self._append({"step": state.global_step, "epoch": round(state.epoch or 0.0, 4),
                          **{k: v for k, v in logs.items() if k.startswith("eval_")}})

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _append(self, record: dict[str, Any]) -> None:
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def trim_log(log_path: Path, last_step: int) -> None:
    """Drop the lines of steps after ``last_step`` (re-run after a resume), atomically."""
    from harness.atomic import atomic_write_text

    path = Path(log_path)
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= last_step:
                kept.append(line)
        except json.JSONDecodeError:
            break  # a partial last line from a killed run
    atomic_write_text(path, "".join(k + "\n" for k in kept))


def build_trainer(run, callbacks=()) -> ObjectiveTrainer:
    """The trainer of the :class:`~trainers.training_run.TrainingRun` ``run`` (its model loaded and wrapped):
    checkpoints in its folder, the per-step log (:class:`StepLog`) instead of transformers' printing, early
    stopping when the profile asks for it, and ``callbacks``."""
    from transformers import EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from trainers.data import ConceptCollator

    config, hyper = run.config, run.hyper
    args = training_arguments(hyper, run.folder.checkpoints, config.seed, config.device, config.report_to,
                              config.activation_checkpointing)
    trainer = ObjectiveTrainer(model=run.model, args=args, train_dataset=[e.as_feature() for e in run.train_set],
                               eval_dataset=[e.as_feature() for e in run.val_set] or None,
                               data_collator=ConceptCollator(pad_id=run.tokenizer.pad_token_id),
                               objective=run.objective, settings=run.settings)
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(StepLog(trainer, run.folder.log, progress=config.progress))
    if args.load_best_model_at_end:
        trainer.add_callback(EarlyStoppingCallback(early_stopping_patience=hyper.early_stopping_patience))
    for cb in callbacks:
        trainer.add_callback(cb)
    return trainer


def training_arguments(hyper: Hyper, checkpoint_dir: Path, seed: int, device: str, report_to: str,
                       activation_checkpointing: bool = True):
    """``activation_checkpointing``: each decoder layer keeps only its input and recomputes the rest in the
    backward pass (one more forward of the body per step; the layer activations of a step are the memory peak:
    ~1.5 GB for 8 × 128 tokens of SmolLM2-135M). Dropout masks are recomputed from the saved RNG state, so the
    gradients, hence the adapter, are the same."""
    from transformers import TrainingArguments

    from harness.lm.hf_load import pick_device

    on_cpu = pick_device(device).type == "cpu"  # "auto" on a machine without a GPU too (bf16 autocast needs it said)
    evaluate = hyper.val_fraction > 0 and hyper.eval_strategy != "no"
    save_strategy = "steps" if hyper.save_steps > 0 else "epoch"
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        per_device_train_batch_size=hyper.batch_size,
        per_device_eval_batch_size=hyper.batch_size,
        gradient_accumulation_steps=hyper.grad_accum,
        learning_rate=hyper.lr,
        num_train_epochs=hyper.epochs,
        max_steps=hyper.max_steps if hyper.max_steps > 0 else -1,
        lr_scheduler_type=hyper.scheduler,
        warmup_steps=hyper.warmup_ratio,
        weight_decay=hyper.weight_decay,
        logging_strategy="no",
        eval_strategy=hyper.eval_strategy if evaluate else "no",
        save_strategy=save_strategy if not (evaluate and hyper.early_stopping_patience) else hyper.eval_strategy,
        save_steps=hyper.save_steps if hyper.save_steps > 0 else 500,
        eval_steps=hyper.save_steps if hyper.save_steps > 0 else None,
        save_total_limit=2,
        load_best_model_at_end=bool(evaluate and hyper.early_stopping_patience),
        metric_for_best_model="eval_loss" if evaluate else None,
        greater_is_better=False,
        seed=seed,
        data_seed=seed,
        report_to=report_to.split(","),  # the flag's canonical text: trainers.reporting
        remove_unused_columns=False,
        prediction_loss_only=True,
        use_cpu=on_cpu,
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=not on_cpu,  # pinning is for copies to a GPU
        optim="adamw_torch",
        activation_checkpointing=activation_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        bf16=hyper.mixed_precision == "bf16",  # autocast; the weights and AdamW's state stay in their dtype
        train_sampling_strategy="group_by_length" if hyper.batch_order == "by-length" else "random",
    )
