"""CoInCo's dev part never holds a sentence of the test part: a dev sentence whose text a test file also has
("I nodded." in both, as in the real data) is left out of dev with its targets, and counted."""

from __future__ import annotations

import gzip

from harness.corpora import load_corpus
from harness.lexsub_files.coinco import read_coinco

SENT = """<sent MASCfile="{file}" MASCsentID="s-{n}"><targetsentence>{text}</targetsentence><tokens>{tokens}</tokens></sent>"""
TOKEN = """<token id="{id}" wordform="{w}" lemma="{w}" posMASC="{pos}" posTT="{pos}" problematic="no">
<substitutions><subst lemma="{sub}" pos="{pos}" freq="2" /></substitutions></token>"""
PLAIN = """<token id="XXX" wordform="{w}" lemma="{w}" posMASC="XXX" posTT="XXX" />"""


def sentence(file: str, n: int, text: str, targets: dict[str, tuple[str, str, str]]) -> str:
    tokens = "".join(TOKEN.format(id=targets[w][0], w=w, pos=targets[w][1], sub=targets[w][2]) if w in targets
                     else PLAIN.format(w=w) for w in text.replace(".", " .").split())
    return SENT.format(file=file, n=n, text=text, tokens=tokens)


def test_a_dev_sentence_the_test_part_holds_is_left_out_of_dev(tmp_path, monkeypatch):
    folder = tmp_path / "lexsub" / "coinco"
    folder.mkdir(parents=True)
    xml = "<document>" + "".join([
        sentence("dev.txt", 1, "I nodded.", {"nodded": ("1", "VBD", "agree")}),
        sentence("dev.txt", 2, "The tall man smiled.", {"tall": ("2", "JJ", "big"), "smiled": ("3", "VBD", "grin")}),
        sentence("test.txt", 1, "I nodded.", {"nodded": ("4", "VBD", "bow")}),
    ]) + "</document>"
    with gzip.open(folder / "coinco.xml.gz", "wb") as fh:
        fh.write(xml.encode("utf-8"))
    (folder / "devset-tokenIDs.txt").write_text("1\n2\n3\n", encoding="utf-8")
    (folder / "testset-tokenIDs.txt").write_text("4\n", encoding="utf-8")
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))

    dev = read_coinco("coinco-dev")
    assert dev.sentences == ["The tall man smiled."] and dev.in_test == 1
    assert sorted(k[1] for k in dev.gold) == ["2", "3"] and {c.text for c in dev.contexts} == {"The tall man smiled."}
    test = read_coinco("coinco-test")
    assert test.sentences == ["I nodded."] and [k[1] for k in test.gold] == ["4"] and test.in_test == 0
    assert load_corpus("coinco-dev").texts == ["The tall man smiled."]
    assert sorted(load_corpus("coinco").texts) == ["I nodded.", "The tall man smiled."]  # all parts: both, once
