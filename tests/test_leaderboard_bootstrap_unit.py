"""``harness leaderboard build --bootstrap-unit item``: the paper tables' intervals resample single tokens (the
paper's appendix C) instead of whole held-out sequences. The run's per-token NLL is the base's plus a shift that
is one number per sequence, so tokens of a sequence move together: resampling tokens then treats N_TOK correlated
tokens as independent, and its interval is about √N_TOK narrower than the sequences' (SE of a mean of
N_SEQ·N_TOK draws of d vs N_SEQ draws of the same d)."""

from __future__ import annotations

import csv
import math

import numpy as np

from harness.cli import main
from test_leaderboard_paper import BASE, N_SEQ, N_TOK, adapter, write_lm

RUN = adapter("concept05-s0-00000000", method="concept", lam=0.5, seed=0)
SHIFT = np.random.default_rng(3).normal(-0.2, 0.5, (N_SEQ, 1))  # one shift per sequence


def interval(folder, unit: str) -> tuple[float, float, str]:
    out = folder / unit / "lb.md"
    assert main(["leaderboard", "build", str(folder / "results"), "--out", str(out), "--no-plots",
                 "--bootstrap-unit", unit]) == 0
    with open(out.with_name("lb_paper.csv"), newline="", encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["model_id"] == RUN["id"] and r["column"] == "ID PPL")
    return float(row["base_lower"]), float(row["base_upper"]), out.read_text(encoding="utf-8")


def test_tokens_give_an_interval_about_sqrt_tokens_narrower(tmp_path):
    for model, shift, trained in ((BASE, 0.0, None), (RUN, SHIFT, "wiki")):
        write_lm(tmp_path / "results", model, "wiki", shift, trained)
    lo_s, hi_s, md_s = interval(tmp_path, "sequence")
    lo_t, hi_t, md_t = interval(tmp_path, "item")
    assert 0.6 * math.sqrt(N_TOK) < (hi_s - lo_s) / (hi_t - lo_t) < 1.5 * math.sqrt(N_TOK)
    assert "resamples of held-out sequences" in md_s and "resamples of single tokens" in md_t
