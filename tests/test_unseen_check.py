"""A model is never scored on documents it was trained on, whatever its concept file (issue 25, item 1).

Training refuses a concept file of the held-out or validation part of its split; it records the sha256 of every
text it trained and validated on (``training_texts.json``); evaluation refuses held-out text whose document
holds one of them. Digests are computed here with hashlib, and which document a lee sequence comes from is read
from the lines of its file (``test_split_leakage.lee_line_of``), not from ``harness.corpora``.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.corpora import LEE_FILE, gensim_test_path, load_corpus
from harness.splits import split_corpus
from test_split_leakage import lee_line_of, user_file
from trainer_fixtures import write_concept_file, write_tiny_model

LEE_HELDOUT = 100
TEXTS_FILE = "training_texts.json"


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, smollm2_tokenizer) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model", smollm2_tokenizer)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_cli(args: list, capsys) -> tuple[int, str]:
    try:
        rc = cli_main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr().err.strip()


def train_args(model: Path, concepts: Path, out: Path) -> list:
    return ["train", "--model", model, "--concepts", concepts, "--out", out, "--lambda", "0", "--max-steps", "1",
            "--batch-size", "4", "--save-steps", "1", "--device", "cpu", "--dtype", "float32", "--no-progress"]


def eval_args(adapter: Path, results: Path, *task_args) -> list:
    return ["eval", "--model", adapter, "--results-dir", results, "--bootstrap-resamples", "20", *task_args]


def one_line(rc: int, err: str) -> str:
    assert rc == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------ (a) training refuses held-out text


@pytest.mark.parametrize("part", ["heldout", "validation"])
def test_training_on_a_concept_file_of_the_heldout_part_is_refused(tiny_folder, smollm2_tokenizer, tmp_path, capsys,
                                                                   part):
    from harness.cli import build_parser

    split = {"part": part, "heldout_size": 100, "validation_fraction": 0.1, "split_seed": 3, "limit": 20}
    concepts = write_concept_file(tmp_path / "held.jsonl", smollm2_tokenizer, header_extra={
        "corpus": load_corpus("lee").describe(), "split": split, "selector": {"name": "wordnet"},
        "model": {"spec": "smollm2-135m"}})
    out = tmp_path / "run"
    err = one_line(*run_cli(train_args(tiny_folder, concepts, out), capsys))
    assert str(concepts) in err and f"the {part} part of corpus lee" in err
    assert not out.exists()
    command = shlex.split(err.split("build it with ", 1)[1])
    assert command[:3] == ["harness", "concepts", "build"]
    args = build_parser().parse_args(command[1:])  # the real flags of harness concepts build
    assert (args.split, args.corpus, args.selector, args.model) == ("train", "lee", "wordnet", "smollm2-135m")
    assert (args.heldout_size, args.split_seed, args.limit) == (100, 3, 20)
    assert args.out == str(tmp_path / "held.train.jsonl")


def test_train_and_eval_refuses_it_before_loading_the_model(tiny_folder, smollm2_tokenizer, tmp_path, monkeypatch):
    import harness.lm.hf_load as hf_load
    from harness.errors import UserError
    from harness.task import EvalOptions
    from trainers.objectives import ObjectiveSettings
    from trainers.recipe import TrainConfig
    from workflows.train_and_eval import TrainAndEval, train_and_eval

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(hf_load, "load_hf", no_loading)
    concepts = write_concept_file(tmp_path / "held.jsonl", smollm2_tokenizer, header_extra={"split": {"part": "heldout"}})
    train = TrainConfig(model=str(tiny_folder), concepts=concepts, out=tmp_path / "run",
                        settings=ObjectiveSettings(lam=0.25), device="cpu", dtype="float32", progress=False)
    cfg = TrainAndEval(train=train, tasks="wordsim353", leaderboard=False,
                       options=EvalOptions(results_dir=tmp_path / "results"))
    with pytest.raises(UserError, match="heldout part"):
        train_and_eval(cfg)
    assert not (tmp_path / "run").exists() and not (tmp_path / "results").exists()


# ------------------------------------------------------------------ (b) a hand-made file with held-out text


def lee_document_pair() -> tuple[str, str, int]:
    """(A, B, L): two sequences of one lee line (document) of the held-out part, B among the first L held-out
    sequences (what ``--limit L`` evaluates), A not among them."""
    heldout = split_corpus(load_corpus("lee"), heldout_size=LEE_HELDOUT).heldout
    line = lee_line_of()
    for j, b in enumerate(heldout):
        for a in (a for a, n in line.items() if b in line and n == line[b] and a != b):
            if a not in heldout[:j + 1]:
                return a, b, j + 1
    raise AssertionError("no lee document with two held-out sequences")


def test_a_hand_made_file_with_heldout_text_trains_and_its_evaluation_is_refused(tiny_folder, smollm2_tokenizer,
                                                                                  tmp_path, capsys):
    trained, evaluated, limit = lee_document_pair()
    from concepts.concept_header import ConceptHeader

    assert ConceptHeader({"split": None}).split_part == ConceptHeader({"split": {"part": None}}).split_part == ""
    concepts = write_concept_file(tmp_path / "hand.jsonl", smollm2_tokenizer, drop=("split",),
                                  texts=[trained, "sequence 1", "sequence 2", "sequence 3"])
    out = tmp_path / "run"
    rc, err = run_cli(train_args(tiny_folder, concepts, out), capsys)
    assert rc == 0, err
    assert sha(trained) in json.loads((out / TEXTS_FILE).read_text())["sha256"]
    results = tmp_path / "results"
    lee_source = str(gensim_test_path(LEE_FILE))
    err = one_line(*run_cli(eval_args(out, results, "--tasks", "content_word_ppl", "--corpus", "lee",
                                      "--heldout-size", LEE_HELDOUT, "--limit", limit), capsys))
    # B itself was never trained on: the refusal is by its document
    assert f"1 of {limit} held-out sequences of corpus lee ({lee_source}) come from 1 document(s)" in err
    assert str(concepts) in err and not results.exists()

    heldout = split_corpus(load_corpus("lee"), heldout_size=LEE_HELDOUT).heldout
    others = [t for t in heldout if lee_line_of().get(t) != lee_line_of()[trained]][:3]
    sets = write_concept_file(tmp_path / "geometry.jsonl", smollm2_tokenizer, texts=[evaluated, *others],
                              header_extra={"corpus": load_corpus("lee").describe(), "split": {"part": "heldout"}})
    err = one_line(*run_cli(eval_args(out, results, "--tasks", "clustering", "--geometry-concepts", sets), capsys))
    assert "1 of 4 held-out sequences of the geometry concept sets" in err
    assert lee_source in err and str(sets) in err and not results.exists()


# ------------------------------------------------------------------ (c) an ordinary adapter: checked, not assumed


def test_an_adapter_of_the_train_part_is_checked_unseen_by_the_digests_it_records(tiny_folder, smollm2_tokenizer,
                                                                                  tmp_path, capsys):
    from harness.models import describe_spec

    corpus_file = user_file(tmp_path)
    corpus = load_corpus(str(corpus_file))
    split = split_corpus(corpus, heldout_size=15)
    texts = split.train[:8]
    concepts = write_concept_file(tmp_path / "train.jsonl", smollm2_tokenizer, n_seq=8, texts=texts, header_extra={
        "corpus": corpus.describe(), "split": {"part": "train", "heldout_size": 15, "split_seed": 0}})
    out = tmp_path / "run"
    rc, err = run_cli(train_args(tiny_folder, concepts, out) + ["--val-fraction", "0.25"], capsys)
    assert rc == 0, err
    record = json.loads((out / "harness_train.json").read_text())
    assert record["val_sequences"] == 2 and record["train_sequences"] + record["val_sequences"] == 8
    body = (out / TEXTS_FILE).read_bytes()
    assert json.loads(body) == {"hash": "sha256 of the UTF-8 text, hex", "count": 8,
                                "sha256": sorted(sha(t) for t in texts)}  # validation texts count as seen
    assert record["training_texts"] == {"file": TEXTS_FILE, "sha256": hashlib.sha256(body).hexdigest(), "count": 8}

    results = tmp_path / "results"
    heldout_flags = ["--heldout-size", 15, "--limit", 3]
    rc, err = run_cli(eval_args(out, results, "--tasks", "content_word_ppl", "--corpus", f"{corpus_file},lee",
                                *heldout_flags), capsys)
    assert rc == 0, err
    domains = {json.loads(f.read_text())["protocol"]["corpus"]: json.loads(f.read_text())["protocol"]["domain"]
               for f in results.glob("*/content_word_ppl*.json")}
    assert domains == {"stories": {"training_corpus": "stories", "in_domain": True, "checked_unseen": True},
                       "lee": {"training_corpus": "stories", "in_domain": False, "checked_unseen": True}}
    sets = write_concept_file(tmp_path / "geometry.jsonl", smollm2_tokenizer, texts=split.heldout[:4],
                              header_extra={"corpus": corpus.describe(), "split": {"part": "heldout"}})
    rc, err = run_cli(eval_args(out, results, "--tasks", "clustering", "--geometry-concepts", sets), capsys)
    assert rc == 0, err
    (geometry,) = results.glob("*/clustering*.json")
    assert json.loads(geometry.read_text())["protocol"]["checked_unseen"] is True

    # one held-out text's digest added: refused as changed, then (its sha256 recorded too) as seen
    before = describe_spec(str(out)).adapter_hash
    tampered = json.loads(body)
    tampered["sha256"] = sorted(tampered["sha256"] + [sha(split.heldout[0])])
    tampered["count"] += 1
    (out / TEXTS_FILE).write_text(json.dumps(tampered))
    assert describe_spec(str(out)).adapter_hash != before  # the file is part of the adapter
    lm_eval = eval_args(out, tmp_path / "tampered", "--tasks", "content_word_ppl", "--corpus", corpus_file,
                        *heldout_flags)
    assert "has changed since training" in one_line(*run_cli(lm_eval, capsys))
    record["training_texts"]["sha256"] = hashlib.sha256((out / TEXTS_FILE).read_bytes()).hexdigest()
    (out / "harness_train.json").write_text(json.dumps(record))
    err = one_line(*run_cli(lm_eval, capsys))
    assert f"1 of 3 held-out sequences of corpus stories ({corpus_file}) come from 1 document(s)" in err
    assert not (tmp_path / "tampered").exists()


def test_an_adapter_trained_before_the_digests_were_recorded_is_not_checked(tiny_folder, smollm2_tokenizer, tmp_path,
                                                                            capsys):
    from harness.models import describe_spec
    from harness.task import EvalContext, EvalOptions
    from tasks.lm import prepare

    concepts = write_concept_file(tmp_path / "c.jsonl", smollm2_tokenizer)
    out = tmp_path / "run"
    assert run_cli(train_args(tiny_folder, concepts, out), capsys)[0] == 0
    options = EvalOptions(limit=3, task_options={"corpus": "lee", "heldout_size": LEE_HELDOUT})

    def checked() -> bool | None:
        (held,) = prepare(EvalContext(options, describe_spec(str(out))))
        return held.domain["checked_unseen"]

    assert checked() is True
    record = json.loads((out / "harness_train.json").read_text())
    del record["training_texts"]
    (out / "harness_train.json").write_text(json.dumps(record))
    (out / TEXTS_FILE).unlink()
    assert checked() is None
