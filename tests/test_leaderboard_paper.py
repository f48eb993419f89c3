"""The paper tables of ``harness leaderboard build``: synthetic result files whose answers are known by
construction (per-token NLL of a run = the base's + a constant, so Δ is that constant on every resample)."""

from __future__ import annotations

import csv
import json
import math
import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from test_leaderboard import tables
from test_leaderboard_helpers import model_block

BASE_ID = "tiny-base-00000001"
RNG = np.random.default_rng(7)
N_SEQ, N_TOK = 30, 6
BASE_NLL = {c: RNG.uniform(1.0, 5.0, (N_SEQ, N_TOK)) for c in ("wiki", "lee")}
CORRECT = (RNG.uniform(size=(N_SEQ, N_TOK)) < 0.3).astype(float)
HUMAN = RNG.uniform(0, 10, 60)
NOISY = HUMAN + RNG.normal(0, 4, 60)


def training(method: str, lam: float, seed: int, corpus: str = "wiki", objective: str = "concept",
             scope: str = "all", randomized: bool = False, steps: int = 50) -> dict:
    return {"method": method, "objective": objective, "lambda": lam, "lambda_scope": scope, "mass_threshold": 0.6,
            "base": "tiny-base", "base_id": BASE_ID, "corpus": corpus, "split": "train", "selector": "wordnet",
            "randomized": randomized, "profile": "cpu", "seed": seed, "dtype": "float32", "world_size": 1,
            "hyperparameters": {"lr": 3e-4, "max_steps": 0, "epochs": 1, "concept_sequences": 400,
                                "selector": "wordnet", "max_synonyms": 10},
            "steps": steps, "train_loss": 3.0 + seed, "wall_time_s": 10.0 + seed}  # run outcomes differ by seed


def adapter(mid: str, **train) -> dict:
    return model_block(mid, mid.rsplit("-", 1)[0], training=training(**train))


def write(root: Path, model: dict, record: dict) -> None:
    name = f"{record['task']}@{record['variant']}.json" if record["variant"] else f"{record['task']}.json"
    path = root / model["id"] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema_version": 1, "model": model, **record}, indent=1))


def write_lm(root: Path, model: dict, corpus: str, shift, training_corpus: str | None) -> None:
    """content_word_ppl on ``corpus``: the base's per-token NLL + ``shift`` (a number, or an array that broadcasts
    to (sequence, token)), the base's correct flags."""
    nll = BASE_NLL[corpus] + shift
    write(root, model, {
        "task": "content_word_ppl", "variant": corpus,
        "metrics": {"perplexity": math.exp(nll.mean()), "nll": nll.mean(), "accuracy": CORRECT.mean()},
        "main_metric": "perplexity", "higher_is_better": {"perplexity": False, "nll": False, "accuracy": True},
        "aggregations": {"perplexity": {"fn": "exp_ratio", "columns": ["nll", "count"]},
                         "nll": {"fn": "ratio", "columns": ["nll", "count"]},
                         "accuracy": {"fn": "ratio", "columns": ["correct", "count"]}},
        "protocol": {"kind": "content_word_next_token", "corpus": corpus,
                     "domain": {"training_corpus": training_corpus, "in_domain": None if training_corpus is None
                                else corpus == training_corpus, "checked_unseen": None}},
        "items": {"ids": [f"{s}:{p}" for s in range(N_SEQ) for p in range(N_TOK)],
                  "clusters": [s for s in range(N_SEQ) for _ in range(N_TOK)],
                  "columns": {"nll": nll.ravel().tolist(), "correct": CORRECT.ravel().tolist(),
                              "count": [1.0] * (N_SEQ * N_TOK)}},
    })


def write_men(root: Path, model: dict, cosine: np.ndarray) -> None:
    write(root, model, {
        "task": "men", "variant": "", "metrics": {"spearman": float(spearmanr(HUMAN, cosine).statistic)},
        "main_metric": "spearman", "higher_is_better": {"spearman": True},
        "aggregations": {"spearman": {"fn": "spearman", "columns": ["human", "cosine"]}},
        "protocol": {"kind": "pair_similarity"},
        "items": {"ids": [f"p{i}" for i in range(len(HUMAN))], "columns": {"human": HUMAN.tolist(),
                                                                        "cosine": cosine.tolist()}},
    })


BASE = model_block(BASE_ID, "tiny-base", kind="causal_lm")
NTP = [adapter(f"ntp-s{s}-0000000{s}", method="ntp", lam=0.0, seed=s) for s in range(3)]
NTP_SHIFT = [-0.1, -0.12, -0.14]  # by seed, on wiki
CONCEPT = [adapter(f"concept05-s{s}-0000000{s}", method="concept", lam=0.5, seed=s) for s in range(3)]
CONCEPT_SHIFT = [-0.3, -0.32, -0.37]
MIXED = [adapter(f"concept025-s{s}-0000000{s}", method="concept", lam=0.25, seed=s) for s in range(2)]
NOISE = adapter("noise05-00000000", method="noise", lam=0.5, seed=0, randomized=True)
CONTENT = adapter("content05-00000000", method="concept", lam=0.5, seed=0, scope="content")
CAFT = adapter("caft-00000000", method="caft", lam=0.25, seed=0, objective="caft")
LEE = adapter("lee05-00000000", method="concept", lam=0.5, seed=0, corpus="lee")
ENCODER = model_block("enc-00000001", "all-minilm", kind="encoder", base="all-minilm", display_name="MiniLM")


def write_grid(root: Path) -> Path:
    write_lm(root, BASE, "wiki", 0.0, None)
    write_lm(root, BASE, "lee", 0.0, None)
    write_men(root, BASE, NOISY)
    for model, shift in zip(NTP, NTP_SHIFT):
        write_lm(root, model, "wiki", shift, "wiki")
        write_lm(root, model, "lee", 0.0, "wiki")  # out of domain: the base's very values
    for model, shift in zip(CONCEPT, CONCEPT_SHIFT):
        write_lm(root, model, "wiki", shift, "wiki")
        write_men(root, model, HUMAN)  # perfect ranking
    # λ = 0.25: seed 0 better than its NTP, seed 1 exactly its NTP (seed 1): no NTP mark for the configuration
    write_lm(root, MIXED[0], "wiki", NTP_SHIFT[0] - 0.2, "wiki")
    write_lm(root, MIXED[1], "wiki", NTP_SHIFT[1], "wiki")
    write_lm(root, NOISE, "wiki", 0.5, "wiki")
    write_men(root, NOISE, NOISY)  # identical to the base: not significant
    write_men(root, CONTENT, NOISY)
    write_men(root, CAFT, NOISY)
    write_lm(root, LEE, "lee", -0.25, "lee")
    write_lm(root, LEE, "wiki", -0.05, "lee")
    write_men(root, ENCODER, HUMAN)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    from leaderboard.build import build

    tmp = tmp_path_factory.mktemp("paper")
    build(write_grid(tmp / "results"), tmp / "out" / "lb.md", plots=False)
    return tmp


def paper(built: Path) -> dict[str, list[list[str]]]:
    return tables((built / "out" / "lb.md").read_text())


def rows_by_label(table: list[list[str]]) -> dict[str, dict[str, str]]:
    header = table[0]
    return {r[1]: dict(zip(header, r)) for r in table[1:]}


def ppl(shift: float, corpus: str = "wiki") -> float:
    return math.exp(BASE_NLL[corpus].mean() + shift)


def test_one_pair_of_tables_per_training_corpus_with_paper_columns(built):
    t = paper(built)
    assert [k for k in t if k.startswith(("Similarity", "Language"))] == [
        "Similarity, trained on lee", "Language modelling and geometry, trained on lee (ID: lee; OOD: wiki)",
        "Similarity, trained on wiki", "Language modelling and geometry, trained on wiki (ID: wiki; OOD: lee)"]
    lm = t["Language modelling and geometry, trained on wiki (ID: wiki; OOD: lee)"]
    assert lm[0] == ["Model", "Method", "Seeds", "ID PPL ↓", "ID Acc ↑", "OOD PPL ↓", "OOD Acc ↑"]
    assert [r[1] for r in lm[1:]] == ["Base", "NTP", "Concept λ=0.25", "Concept λ=0.5", "Noise λ=0.5"]
    sim = rows_by_label(t["Similarity, trained on wiki"])
    assert list(sim) == ["Base", "Concept λ=0.5", "Concept λ=0.5 (content scope)", "Noise λ=0.5", "CAFT", "MiniLM"]
    # the base model's ID and OOD follow the table's training corpus
    lee = rows_by_label(t["Language modelling and geometry, trained on lee (ID: lee; OOD: wiki)"])
    wiki = rows_by_label(lm)
    assert wiki["Base"]["ID PPL ↓"] == f"{ppl(0):.2f}"
    assert wiki["Base"]["OOD PPL ↓"] == f"**{ppl(0, 'lee'):.2f}**"  # tied with NTP's (the same values): both bold
    assert lee["Base"]["ID PPL ↓"] == f"{ppl(0, 'lee'):.2f}" and lee["Base"]["OOD PPL ↓"] == f"{ppl(0):.2f}"
    assert lee["Concept λ=0.5"]["ID PPL ↓"] == f"**{ppl(-0.25, 'lee'):.2f}**▲"


def test_seed_mean_sd_and_marks(built):
    wiki = rows_by_label(paper(built)["Language modelling and geometry, trained on wiki (ID: wiki; OOD: lee)"])
    values = [ppl(s) for s in CONCEPT_SHIFT]
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    # better than the base and than NTP on every seed; the best ID PPL of tiny-base
    assert wiki["Concept λ=0.5"]["Seeds"] == "3"
    assert wiki["Concept λ=0.5"]["ID PPL ↓"] == f"**{mean:.2f}** ± {sd:.2f}▲△"
    # accuracy: the base's own flags on every run, so Δ = 0 on every resample: no mark
    assert wiki["Concept λ=0.5"]["ID Acc ↑"] == f"**{CORRECT.mean():.4f}** ± 0.0000"  # every row ties: all bold
    assert wiki["Concept λ=0.5"]["OOD PPL ↓"] == "—"  # evaluated on wiki only
    ntp = [ppl(s) for s in NTP_SHIFT]
    assert wiki["NTP"]["ID PPL ↓"] == f"{statistics.fmean(ntp):.2f} ± {statistics.stdev(ntp):.2f}▲"
    assert wiki["NTP"]["OOD PPL ↓"] == f"**{ppl(0, 'lee'):.2f}** ± 0.00"  # identical to the base: no mark
    # λ = 0.25: both seeds better than the base, only seed 0 better than its NTP
    assert wiki["Concept λ=0.25"]["ID PPL ↓"].endswith("▲") and "△" not in wiki["Concept λ=0.25"]["ID PPL ↓"]
    assert wiki["Noise λ=0.5"]["ID PPL ↓"] == f"{ppl(0.5):.2f}▼▽"


def csv_rows(built: Path) -> list[dict[str, str]]:
    with open(built / "out" / "lb_paper.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_every_seed_with_delta_against_base_and_its_own_ntp(built):
    rows = [r for r in csv_rows(built) if r["training_corpus"] == "wiki" and r["column"] == "ID PPL"]
    by_id = {r["model_id"]: r for r in rows}
    assert {m["id"] for m in CONCEPT} <= set(by_id) and len({by_id[m["id"]]["configuration"] for m in CONCEPT}) == 1
    for seed, model in enumerate(CONCEPT):
        r = by_id[model["id"]]
        assert r["seed"] == str(seed) and r["label"] == "Concept λ=0.5" and r["lambda"] == "0.5"
        assert float(r["value"]) == pytest.approx(ppl(CONCEPT_SHIFT[seed]), rel=1e-12)
        assert float(r["base_delta"]) == pytest.approx(ppl(CONCEPT_SHIFT[seed]) - ppl(0), rel=1e-9)
        assert r["base_significant"] == "True" and r["ntp_significant"] == "True"
        assert r["ntp_model_id"] == NTP[seed]["id"]  # the NTP run of the same seed
        assert float(r["ntp_delta"]) == pytest.approx(ppl(CONCEPT_SHIFT[seed]) - ppl(NTP_SHIFT[seed]), rel=1e-9)
        assert float(r["ntp_lower"]) <= float(r["ntp_delta"]) <= float(r["ntp_upper"]) < 0
    mixed = by_id[MIXED[1]["id"]]
    assert mixed["ntp_model_id"] == NTP[1]["id"] and float(mixed["ntp_delta"]) == 0.0
    assert mixed["ntp_significant"] == "False" and by_id[MIXED[0]["id"]]["ntp_significant"] == "True"
    assert by_id[BASE_ID]["base_delta"] == "" and by_id[NTP[0]["id"]]["ntp_model_id"] == ""
    nll_delta = [r for r in csv_rows(built) if r["model_id"] == NOISE["id"] and r["column"] == "ID Acc"][0]
    assert nll_delta["base_delta"] == "0.0" and nll_delta["base_significant"] == "False"


def test_similarity_marks_from_the_pairs(built):
    sim = rows_by_label(paper(built)["Similarity, trained on wiki"])
    base_rho = float(spearmanr(HUMAN, NOISY).statistic)
    assert sim["Base"]["MEN ↑"] == f"{base_rho:.4f}"
    assert sim["Concept λ=0.5"]["MEN ↑"] == "**1.0000** ± 0.0000▲"  # no NTP result on MEN: no NTP mark
    assert sim["Noise λ=0.5"]["MEN ↑"] == f"{base_rho:.4f}"  # the base's very cosines
    assert sim["MiniLM"]["MEN ↑"] == "1.0000"  # an encoder: no base to compare with
    men = {r["model_id"]: r for r in csv_rows(built) if r["column"] == "MEN" and r["training_corpus"] == "wiki"}
    assert float(men[CONCEPT[0]["id"]]["base_delta"]) == pytest.approx(1 - base_rho, rel=1e-12)
    assert men[ENCODER["id"]]["model"] == "MiniLM" and men[CAFT["id"]]["label"] == "CAFT"


def test_two_builds_give_the_same_bytes(built, tmp_path):
    from leaderboard.build import build

    copy = tmp_path / "elsewhere" / "results"
    shutil.copytree(built / "results", copy, ignore=shutil.ignore_patterns(".leaderboard*"))
    build(copy, tmp_path / "again" / "lb.md", plots=False)
    for name in ("lb.md", "lb.csv", "lb_paper.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (built / "out" / name).read_bytes(), name
    assert str(tmp_path) not in (tmp_path / "again" / "lb.md").read_text()


def test_labels_that_clash_show_the_settings_that_differ(tmp_path):
    from leaderboard.build import build

    root = tmp_path / "results"
    write_men(root, BASE, NOISY)
    for mid, steps in (("short-00000001", 10), ("long-00000001", 20)):
        model = adapter(mid, method="concept", lam=0.5, seed=0)
        model["training"]["hyperparameters"]["max_steps"] = steps
        write_men(root, model, HUMAN)
    build(root, tmp_path / "lb.md", plots=False)
    sim = tables((tmp_path / "lb.md").read_text())
    labels = [r[1] for r in sim["Similarity, trained on wiki"][1:]]
    assert labels == ["Base", "Concept λ=0.5 [hyperparameters.max_steps=10]",
                      "Concept λ=0.5 [hyperparameters.max_steps=20]"]
