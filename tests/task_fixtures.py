"""Fixture data for every built-in task, written by the tests: benchmark files in their original formats
(a few pairs each) and held-out concept sets for a tokenizer; the tiny model and the generic writers (a data
file, a small corpus) are in :mod:`harness.testing`."""

from __future__ import annotations

from pathlib import Path

from harness.testing import write_data_file

# Benchmark files by DataFile key, in each file's original format (header lines included).
PAIRS = [("car", "automobile", 9.1), ("coast", "shore", 8.7), ("cup", "mug", 7.9), ("king", "queen", 7.0),
         ("bird", "crane", 5.5), ("food", "fruit", 4.9), ("noon", "string", 0.5), ("forest", "graveyard", 1.8)]
BENCHMARKS = {
    "men": "".join(f"{a} {b} {50 * s / 9:.2f}\n" for a, b, s in PAIRS),
    "wordsim353": "Word 1\tWord 2\tHuman (mean)\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in PAIRS),
    "simlex999": "word1\tword2\tPOS\tSimLex999\tconc(w1)\n" + "".join(f"{a}\t{b}\tN\t{s}\t4.9\n" for a, b, s in PAIRS),
    **{key: "".join(f"main-forums\tfile\t2012\t{i}\t{s / 2:.2f}\tA {a} is here.\tA {b} is there.\n"
                    for i, (a, b, s) in enumerate(PAIRS)) for key in ("stsb-test", "stsb-dev")},
}


def write_benchmarks(folder: Path, data_files) -> Path:
    """``folder`` laid out like shared/data, holding the fixture of every DataFile in ``data_files``."""
    for df in data_files:
        write_data_file(folder, df, BENCHMARKS[df.key])
    return folder


SENTENCES = [  # text, content word, synonyms (each the first token of " " + synonym)
    ("The big dog ran across the field.", "big", ["large", "huge"]),
    ("She gave a quick answer to the question.", "quick", ["fast", "rapid"]),
    ("They bought a new car last week.", "car", ["auto", "vehicle"]),
    ("The old man walked slowly home.", "walked", ["strolled", "went"]),
    ("He was happy with the result.", "happy", ["glad", "pleased"]),
    ("The small house stood by the river.", "house", ["home", "building"]),
]


def write_concept_file(path: Path, tokenizer) -> Path:
    """Held-out concept sets of :data:`SENTENCES` (one target each, three members) for ``tokenizer``."""
    from concepts.concept_file import ConceptRecord, ConceptTarget
    from concepts.concept_file import write_concept_file as write
    from concepts.concept_header import tokenizer_info

    records = []
    for i, (text, word, syns) in enumerate(SENTENCES):
        ids = tokenizer(text)["input_ids"]
        tid = tokenizer(" " + word, add_special_tokens=False)["input_ids"][0]
        pos = ids.index(tid)
        set_ids = [tid] + [tokenizer(" " + s, add_special_tokens=False)["input_ids"][0] for s in syns]
        records.append(ConceptRecord(index=i, text=text, input_ids=ids, targets=[
            ConceptTarget(position=pos, token_id=tid, word=word, pos="X", set_ids=set_ids, set_words=[word] + syns)]))
    header = {"format_version": 1, "tokenizer": tokenizer_info(tokenizer), "corpus": "test", "split": "heldout",
              "selector": "hand"}
    write(path, header, records)
    return path
