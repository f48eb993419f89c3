"""Cost of a training step with the concept objective against a pure NTP step, on the same batch.

Real model (the embedded smollm2-135m, float32, CPU), LoRA r=8 on q,k,v,o, batch 8 × 128 tokens,
28% of positions carrying a concept set of 1-11 tokens (the paper's share of content words).
A step = forward + objective + backward + AdamW step. Variants are interleaved round by round
(so load changes on a shared machine hit all of them alike) and the medians compared:

- ``ntp``: the ``ntp`` objective (one logsumexp, a gather of the target logits);
- ``concept``: the ``concept`` objective at λ = 0.25 (the same logsumexp, plus a gather of the set logits);
- ``hf``: the model's own loss (``labels=`` passed to the forward), for reference.

Run: ``python bench/train_step.py [--rounds 5] [--batch 8] [--length 128]``. Target: concept / ntp ≤ 1.05.

``--memory`` measures instead the memory of the head's loss: the peak resident set of a process that makes
``[B, T, V]`` float32 logits (a leaf, as the model's output is to the loss), computes the ``concept`` objective
and its backward pass, above the resident set once the logits exist. Two variants, each in its own
process: ``harness`` (:mod:`trainers.logit_ops`) and ``autograd`` (the same formulas as plain torch ops:
slice, ``logsumexp``, ``gather``, advanced indexing).
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--content-share", type=float, default=0.28)
    ap.add_argument("--memory", action="store_true", help="peak memory of the loss and its backward pass instead")
    args = ap.parse_args()
    if args.memory:
        return loss_memory(args.batch, args.length)

    import torch

    from harness.lm.load import load_model
    from trainers.objectives import OBJECTIVES, ConceptBatch, ObjectiveSettings
    from trainers.profiles import resolve_profile
    from trainers.trainer import add_lora

    torch.manual_seed(0)
    lm = load_model(args.model, device="cpu", dtype="float32")
    model = add_lora(lm.module, resolve_profile("cpu"))
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    V = model.config.vocab_size
    B, T = args.batch, args.length
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(100, V, (B, T), generator=g)
    attention = torch.ones_like(input_ids)
    labels = input_ids.clone()
    n_per_row = int(args.content_share * (T - 1))
    rows, positions, sets = [], [], []
    for b in range(B):
        for p in torch.randperm(T - 1, generator=g)[:n_per_row].add(1).tolist():
            size = int(torch.randint(1, 12, (1,), generator=g))
            rows.append(b)
            positions.append(p)
            sets.append([int(input_ids[b, p])] + torch.randint(100, V, (size - 1,), generator=g).tolist())
    S = max(len(s) for s in sets)
    set_ids = torch.zeros(len(sets), S, dtype=torch.long)
    set_mask = torch.zeros(len(sets), S, dtype=torch.bool)
    for i, s in enumerate(sets):
        set_ids[i, :len(s)] = torch.tensor(s)
        set_mask[i, :len(s)] = True
    concepts = ConceptBatch(torch.tensor(rows), torch.tensor(positions), set_ids, set_mask)
    settings = ObjectiveSettings(lam=0.25)

    def step(variant: str) -> float:
        start = time.perf_counter()
        if variant == "hf":
            loss = model(input_ids=input_ids, attention_mask=attention, labels=labels, use_cache=False).loss
        else:
            logits = model(input_ids=input_ids, attention_mask=attention, use_cache=False).logits
            loss = OBJECTIVES.get(variant)(logits, labels, concepts, settings).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    variants = ["ntp", "concept", "hf"]
    for v in variants:
        step(v)  # warm-up
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(args.rounds):
        order = variants if r % 2 == 0 else variants[::-1]
        for v in order:
            times[v].append(step(v))
    med = {v: statistics.median(ts) for v, ts in times.items()}
    print(f"model {args.model} + LoRA r=8 (q,k,v,o), batch {B} x {T}, {len(sets)} concept targets, "
          f"{args.rounds} rounds, {torch.get_num_threads()} threads")
    for v in variants:
        print(f"  {v:8s} median {med[v]:.3f} s/step  (all: {', '.join(f'{t:.2f}' for t in times[v])})")
    ratio = med["concept"] / med["ntp"]
    print(f"concept / ntp step time = {ratio:.3f}  (target <= 1.05: {'met' if ratio <= 1.05 else 'NOT met'})")
    print(f"concept / hf-builtin-loss step time = {med['concept'] / med['hf']:.3f}")


def autograd_concept_loss(logits, labels, concepts, lam: float, threshold: float = 0.6):
    """The concept objective (λ-mix of the NTP mean and the thresholded concept NLL mean) in plain torch ops."""
    import torch

    pred, target = logits[:, :-1], labels[:, 1:]
    lse = torch.logsumexp(pred, -1)
    nll = lse - pred.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    row, pos = concepts.batch_index, concepts.position - 1
    set_logits = logits[row.unsqueeze(1), pos.unsqueeze(1), concepts.set_ids].masked_fill(~concepts.set_mask, -1e30)
    logp = torch.logsumexp(set_logits, -1) - lse[row, pos]
    concept = torch.where(logp.exp() < threshold, -logp, torch.zeros_like(logp))
    return (1 - lam) * nll.mean() + lam * concept.mean()


def _peak_rss_of(variant: str, batch: int, length: int, queue) -> None:
    import resource

    import torch

    from trainers.objectives import OBJECTIVES, ConceptBatch, ObjectiveSettings

    torch.manual_seed(0)
    vocab = 49_152  # SmolLM2's
    logits = torch.randn(batch, length, vocab, requires_grad=True)
    labels = torch.randint(0, vocab, (batch, length))
    n = int(0.28 * batch * (length - 1))
    concepts = ConceptBatch(torch.randint(0, batch, (n,)), torch.randint(1, length, (n,)),
                            torch.randint(0, vocab, (n, 11)), torch.ones(n, 11, dtype=torch.bool))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if variant == "harness":
        loss = OBJECTIVES.get("concept")(logits, labels, concepts, ObjectiveSettings(lam=0.25)).loss
    else:
        loss = autograd_concept_loss(logits, labels, concepts, lam=0.25)
    loss.backward()
    queue.put((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)


def loss_memory(batch: int, length: int) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    print(f"loss + backward of [{batch}, {length}, 49152] float32 logits ({batch * length * 49152 * 4 / 2**20:.0f} MB),"
          " peak resident set above the logits, one process each:")
    for variant in ("harness", "autograd"):
        queue = ctx.Queue()
        proc = ctx.Process(target=_peak_rss_of, args=(variant, batch, length, queue))
        proc.start()
        mb = queue.get()
        proc.join()
        print(f"  {variant:9s} {mb:7.0f} MB")


if __name__ == "__main__":
    main()
