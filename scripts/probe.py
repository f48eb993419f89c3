"""A behaviour probe for moves that must change no number (the Structure issue): run it before and after, diff.

``python scripts/probe.py run OUT`` runs, with an empty cache of its own (so nothing computed before the move is
reused after it), on the embedded default model:

- ``harness eval --model smollm2-135m --tasks all --limit 40``;
- ``harness concepts build`` once per selector (wordnet, wordnet with hypernyms, embedding contextual and static,
  the llm judge, gold on CoInCo dev) on a few train sequences, and ``harness concepts randomize`` (the noise control);
- a 2-step ``harness train`` per objective (and the concept objective on the noise file).

It writes ``OUT/digest.json``: every result's metrics, the sha256 of every concept file and of every file an adapter
folder holds besides its records (weights, heads); ``digest OUT`` recomputes it. ``python scripts/probe.py diff A B`` compares two digests and
exits 1 on any difference. Records that name times, paths or commits are left out of the digest on purpose: they
change with every run, the numbers must not.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SELECTORS = {
    "wordnet": ["--selector", "wordnet"],
    "wordnet-hypernyms": ["--selector", "wordnet", "--hypernyms"],
    "embedding-contextual": ["--selector", "embedding", "--embedding-mode", "contextual"],
    "embedding-static": ["--selector", "embedding", "--embedding-mode", "static"],
    "llm": ["--selector", "llm", "--limit", "2"],
    "gold": ["--selector", "gold", "--corpus", "coinco-dev", "--heldout-size", "100"],
}
OBJECTIVES = {
    "ntp": ["--objective", "ntp", "--lambda", "0"],
    "concept": ["--objective", "concept", "--lambda", "0.25"],
    "concept-noise": ["--objective", "concept", "--lambda", "0.25"],
    "caft": ["--objective", "caft", "--lambda", "0", "--caft-heads-max-steps", "2"],
    "caft-joint": ["--objective", "caft-joint", "--lambda", "0"],
    "synonym-augment": ["--objective", "synonym-augment", "--lambda", "0"],
    "alternatives": ["--objective", "alternatives", "--lambda", "0"],
    "weighted-ce": ["--objective", "weighted-ce", "--lambda", "0"],
}
RECORDS = {"harness_train.json", "run.json", "train_log.jsonl", "trainer_state.json", "README.md"}


def harness(*args: str, env: dict) -> None:
    command = [sys.executable, "-m", "harness.cli", *args]
    print("$ harness " + " ".join(args), flush=True)
    subprocess.run(command, check=True, env=env)


def run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)  # a step whose output exists is not run again (resume after a failure)
    env = dict(os.environ, HARNESS_CACHE=tempfile.mkdtemp(prefix="probe-cache-"), HF_HUB_OFFLINE="1")
    if not (out / "results").exists():
        harness("eval", "--model", "smollm2-135m", "--tasks", "all", "--limit", "40", "--results-dir",
                str(out / "results"), env=env)
    concepts = out / "concepts"
    concepts.mkdir(exist_ok=True)
    for name, flags in SELECTORS.items():
        limit = [] if "--limit" in flags else ["--limit", "16"]
        if not (concepts / f"{name}.jsonl").exists():
            harness("concepts", "build", "--out", str(concepts / f"{name}.jsonl"), *flags, *limit, env=env)
    if not (concepts / "noise.jsonl").exists():
        harness("concepts", "randomize", str(concepts / "wordnet.jsonl"), str(concepts / "noise.jsonl"), env=env)
    for name, flags in OBJECTIVES.items():
        source = concepts / ("noise.jsonl" if name == "concept-noise" else "wordnet.jsonl")
        if not (out / "train" / name / "adapter_model.safetensors").exists():
            harness("train", "--concepts", str(source), "--out", str(out / "train" / name), *flags, "--max-steps", "2",
                    "--no-progress", env=env)
    (out / "digest.json").write_text(json.dumps(digest(out), indent=1, sort_keys=True) + "\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest(out: Path) -> dict:
    results = {}
    for path in sorted((out / "results").rglob("*.json")):
        if "history" in path.parts:
            continue
        record = json.loads(path.read_text())
        if isinstance(record, dict) and "metrics" in record:
            results[str(path.relative_to(out))] = {"metrics": record["metrics"], "undefined": record.get("undefined")}
    concepts = {p.name: concept_file_digest(p) for p in sorted((out / "concepts").glob("*.jsonl"))}
    adapters = {}
    for folder in sorted((out / "train").iterdir()):
        adapters[folder.name] = {str(p.relative_to(folder)): adapter_file_digest(p) for p in sorted(folder.rglob("*"))
                                 if p.is_file() and p.name not in RECORDS and "checkpoint" not in str(p)}
    return {"results": results, "concepts": concepts, "adapters": adapters}


def concept_file_digest(path: Path) -> str:
    """sha256 of the file's bytes, the header's ``git_commit`` (the code's commit, which a move changes) blanked, and
    of a noise file's source the path and sha256 (the source's own header names its commit)."""
    head, _, rest = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    header["git_commit"] = None
    if isinstance(header.get("randomized"), dict):
        header["randomized"].update(source=None, source_sha256=None)
    return hashlib.sha256(json.dumps(header).encode() + b"\n" + rest).hexdigest()


def adapter_file_digest(path: Path) -> str:
    """sha256 of the file; of ``adapter_config.json``, its settings with ``target_modules`` sorted: peft keeps them
    as a set, written in an order that changes with Python's string-hash seed from one process to the next."""
    if path.name != "adapter_config.json":
        return sha256(path)
    config = json.loads(path.read_text())
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def diff(a: Path, b: Path) -> int:
    left, right = (json.loads(Path(p, "digest.json").read_text()) for p in (a, b))
    differences = 0
    for section in ("results", "concepts", "adapters"):
        for key in sorted(set(left[section]) | set(right[section])):
            if left[section].get(key) != right[section].get(key):
                differences += 1
                print(f"{section}: {key} differs")
    counts = {s: len(left[s]) for s in ("results", "concepts", "adapters")}
    print(f"{differences} difference(s); compared {counts}")
    return 1 if differences else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        run(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        sys.exit(diff(Path(sys.argv[2]), Path(sys.argv[3])))
    elif len(sys.argv) == 3 and sys.argv[1] == "digest":  # recompute OUT/digest.json from what a run left
        Path(sys.argv[2], "digest.json").write_text(json.dumps(digest(Path(sys.argv[2])), indent=1, sort_keys=True) + "\n")
    else:
        sys.exit("usage: probe.py run OUT | probe.py digest OUT | probe.py diff A B")
