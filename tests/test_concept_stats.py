"""``harness concepts stats``: figures of hand-written concept files computed by hand, the set mass against an
independent full-forward softmax on a tiny model, the model interface's set_log_probs, CLI errors and outputs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from harness.cli import main
from concepts.concept_file import load_concept_file
from concepts.concept_figures import compare_files, mass_stats, summarize_file

# (word, pos, synonyms as (id, word)) per target; ids are arbitrary (no tokenizer is involved without the mass)
A_TARGETS = [[("big", "NOUN", [(11, "a"), (12, "b")]), ("go", "VERB", []), ("red", "ADJ", [(14, "d")])],
             [("cat", "NOUN", []), ("big", "NOUN", [(11, "a"), (12, "b")])]]
B_TARGETS = [[("big", "NOUN", [(11, "a"), (13, "c")]), ("go", "VERB", []), ("red", "ADJ", []), ("sun", "NOUN", [])],
             [("cat", "NOUN", [(15, "e")]), ("big", "NOUN", [(12, "b"), (11, "a")])]]


def write_file(path: Path, targets, header_extra=None, input_ids=None) -> Path:
    """A concept file whose sequence i holds token 100 + j at position j + 1 for its j-th target."""
    lines = [{"type": "header", "format_version": 1, "selector": {"name": path.stem}, **(header_extra or {})}]
    for i, rec in enumerate(targets):
        ids = list(input_ids[i]) if input_ids else [1] + [100 + j for j in range(len(rec))]
        ts = [{"position": j + 1, "token_id": ids[j + 1], "word": w, "pos": pos,
               "set_ids": [ids[j + 1]] + [s for s, _ in syn], "set_words": [w] + [x for _, x in syn]}
              for j, (w, pos, syn) in enumerate(rec)]
        lines.append({"type": "sequence", "index": i, "text": f"text {i}", "input_ids": ids, "targets": ts})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_single_file_figures_by_hand(tmp_path):
    s = summarize_file(load_concept_file(write_file(tmp_path / "a.jsonl", A_TARGETS)), "a")
    # sizes |T*|: 3, 1, 2, 1, 3
    assert (s.sequences, s.targets, s.non_empty) == (2, 5, 3)
    assert s.non_empty_share == pytest.approx(3 / 5) and s.mean_size == pytest.approx(10 / 5)
    assert s.size_hist == {1: 2, 2: 1, 3: 2}
    pos = {p.pos: (p.targets, p.non_empty_share, p.mean_size) for p in s.pos}
    assert pos["NOUN"] == (3, pytest.approx(2 / 3), pytest.approx(7 / 3))
    assert pos["VERB"] == (1, 0.0, 1.0) and pos["ADJ"] == (1, 1.0, 2.0)
    assert s.top_sets[0] == ("big", ("a", "b"), 2) and s.top_sets[1] == ("red", ("d",), 1) and len(s.top_sets) == 2


def test_two_files_jaccard_by_hand(tmp_path):
    a = load_concept_file(write_file(tmp_path / "a.jsonl", A_TARGETS))
    b = load_concept_file(write_file(tmp_path / "b.jsonl", B_TARGETS))
    p = compare_files(a, b, "a", "b")
    # matched: big {a,b}/{a,c} = 1/3; go ∅/∅ = 1; red {d}/∅ = 0; cat ∅/{e} = 0; big {a,b}/{b,a} = 1
    assert (p.matched, p.only_a, p.only_b) == (5, 0, 1)
    assert p.jaccard_all == pytest.approx((1 / 3 + 1 + 0 + 0 + 1) / 5)
    assert p.jaccard_non_empty == pytest.approx((1 / 3 + 0 + 0 + 1) / 4)
    assert (p.both_empty, p.either_non_empty, p.identical, p.non_empty_a, p.non_empty_b) == (1, 4, 2, 3, 3)
    assert p.per_pos["NOUN"] == (3, pytest.approx(1 / 3 + 0 + 1), 3, pytest.approx(1 / 3 + 0 + 1))
    assert p.per_pos["VERB"] == (1, 1.0, 0, 0.0) and p.per_pos["ADJ"] == (1, 0.0, 1, 0.0)


def test_set_log_probs_against_a_full_forward(tiny_llama, monkeypatch):
    import numpy as np
    import torch

    import harness.lm.hf_causal as hf_causal

    monkeypatch.setattr(hf_causal, "LOGIT_CHUNK_BYTES", 4 * len(tiny_llama.tokenizer) * 3)  # 3 rows per head call
    rng = np.random.default_rng(0)
    seqs = [rng.integers(3, 5000, n).tolist() for n in (9, 4, 12, 2, 7)]
    positions = [[1, 5, 8], [3], [2, 2, 11, 6], [], [1, 6]]
    sets = [[rng.integers(0, 5000, int(rng.integers(1, 6))).tolist() for _ in pos] for pos in positions]
    sets[0][0] = [seqs[0][1], seqs[0][1]]  # a token listed twice counts once
    got = tiny_llama.set_log_probs(seqs, positions, sets, max_batch_tokens=16)
    for s, ids in enumerate(seqs):
        with torch.no_grad():
            probs = torch.softmax(tiny_llama.module(torch.tensor([ids])).logits[0].double(), -1)
        want = [math.log(sum(probs[p - 1, t].item() for t in set(st))) for p, st in zip(positions[s], sets[s])]
        assert got[s].dtype == np.float64 and got[s] == pytest.approx(want, abs=1e-5)


def tiny_concept_file(tmp_path, tokenizer, spec: str) -> tuple[Path, list[list[int]], list]:
    from concepts.concept_header import tokenizer_info

    texts = ["The old farmer walked slowly across the green field", "A large dog barked at the postman today"]
    ids = [tokenizer(t)["input_ids"] for t in texts]
    targets = [[("w", "NOUN", [(ids[0][4] + 7, "x"), (ids[0][2], "y")]), ("v", "VERB", [])],
               [("u", "ADJ", [(ids[1][1], "z")]), ("t", "NOUN", [(40, "q"), (41, "r"), (42, "s")])]]
    header = {"model": {"spec": spec}, "tokenizer": tokenizer_info(tokenizer)}
    path = write_file(tmp_path / "m.jsonl", targets, header, input_ids=ids)
    return path, ids, targets


def independent_masses(module, ids, targets) -> tuple[list[float], list[float]]:
    """p(T*) and p(original) from a plain softmax over each sequence's full-forward logits."""
    import torch

    mass, original = [], []
    for seq, rec in zip(ids, targets):
        with torch.no_grad():
            probs = torch.softmax(module(torch.tensor([seq])).logits[0].double(), -1)
        for j, (_, _, syn) in enumerate(rec):
            p = j + 1
            mass.append(sum(probs[p - 1, t].item() for t in {seq[p], *(s for s, _ in syn)}))
            original.append(probs[p - 1, seq[p]].item())
    return mass, original


def test_mass_share_against_an_independent_softmax(tiny_llama, tmp_path):
    path, ids, targets = tiny_concept_file(tmp_path, tiny_llama.tokenizer, "tiny")
    mass, original = independent_masses(tiny_llama.module, ids, targets)
    cf = load_concept_file(path, tokenizer=tiny_llama.tokenizer)
    threshold = sorted(mass)[1] + 1e-12  # strictly between the 2nd and 3rd smallest mass: two targets below
    m = mass_stats(cf, tiny_llama, threshold)
    assert (m.targets, m.at_threshold) == (4, sum(x >= threshold for x in mass)) and m.at_threshold == 2
    assert m.original_at_threshold == sum(x >= threshold for x in original)
    assert m.mean_mass == pytest.approx(sum(mass) / 4, rel=1e-4)
    assert m.mean_original == pytest.approx(sum(original) / 4, rel=1e-4)


def test_cli_stats_with_mass_writes_report_and_plot(tiny_llama, tmp_path, capsys):
    from concepts.concept_sets import DEFAULT_MASS_THRESHOLD
    from trainers.objectives import ConceptSettings

    assert ConceptSettings().mass_threshold == DEFAULT_MASS_THRESHOLD  # the one default, shared
    folder = tmp_path / "tiny-model"
    tiny_llama.module.save_pretrained(folder)
    tiny_llama.tokenizer.save_pretrained(folder)
    path, ids, targets = tiny_concept_file(tmp_path, tiny_llama.tokenizer, str(folder))
    from concepts.concept_header import tokenizer_info

    b = write_file(tmp_path / "n.jsonl", targets[:1], {"model": {"spec": str(folder)},
                                                       "tokenizer": tokenizer_info(tiny_llama.tokenizer)}, input_ids=ids[:1])
    prefix = tmp_path / "report"
    assert main(["concepts", "stats", str(path), str(b), "--out", str(prefix), "--threshold", "1e-9",
                 "--device", "cpu", "--dtype", "float32"]) == 0
    printed = capsys.readouterr().out
    md = Path(f"{prefix}.md").read_text(encoding="utf-8")
    assert md in printed and "set mass p(T*) ≥ 1e-09 under" in md and "| 4 (100.0%)" in md
    assert "## m.jsonl vs n.jsonl" in md
    assert re.search(r"mean Jaccard, all matched targets \(J\(∅,∅\) = 1\) *\| 1\.00", md)
    assert Path(f"{prefix}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def run_cli(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return code, lines[0]


def test_cli_errors_are_one_line_and_nothing_is_overwritten(tmp_path, capsys):
    good = write_file(tmp_path / "a.jsonl", A_TARGETS)
    code, err = run_cli(["concepts", "stats", str(tmp_path / "missing.jsonl"), "--no-mass"], capsys)
    assert code == 2 and "does not exist" in err
    text = tmp_path / "notes.jsonl"
    text.write_text("just some text\n", encoding="utf-8")
    code, err = run_cli(["concepts", "stats", str(text), "--no-mass"], capsys)
    assert code == 2 and "malformed concept file line" in err
    code, err = run_cli(["concepts", "stats", str(good)], capsys)  # no model named, mass asked
    assert code == 2 and "names no model" in err
    with pytest.raises(SystemExit) as exit_:
        main(["concepts", "stats", str(good), "--no-mass", "--threshold", "1.5"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--threshold" in err and len(err.strip().splitlines()) == 1
    prefix = tmp_path / "r"
    Path(f"{prefix}.md").write_text("mine\n", encoding="utf-8")
    code, err = run_cli(["concepts", "stats", str(good), "--no-mass", "--out", str(prefix)], capsys)
    assert code == 2 and "--overwrite" in err and Path(f"{prefix}.md").read_text() == "mine\n"
    assert not Path(f"{prefix}.png").exists()
    assert main(["concepts", "stats", str(good), "--no-mass", "--out", str(prefix), "--overwrite"]) == 0
    assert "| 3 (60.0%)" in Path(f"{prefix}.md").read_text() and Path(f"{prefix}.png").is_file()
