"""A small CoInCo distribution for tests: ``coinco.xml.gz`` (``coinco_fixture.xml`` gzipped: a multiword
substitute, a ``problematic`` target, a head SmolLM2 splits into two tokens, a hyphen and a clitic in the text) and
the official dev/test lists, under a ``$HARNESS_DATA_DIR`` made for the test."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

XML = (Path(__file__).parent / "coinco_fixture.xml").read_text(encoding="utf-8")
SENT_A = "The bright student answered every question quickly."
SENT_B = "She didn\u2019t mind the well-known garlicky smell."
SENT_C = "Prices rose sharply in March."


@pytest.fixture()
def coinco(tmp_path, monkeypatch) -> Path:
    """$HARNESS_DATA_DIR/lexsub/coinco/ with the XML (gzip) and the dev (1, 2, 3, 4, 5, 6) / test (7, 8) lists."""
    folder = tmp_path / "data" / "lexsub" / "coinco"
    folder.mkdir(parents=True)
    with gzip.open(folder / "coinco.xml.gz", "wb") as fh:
        fh.write(XML.encode("utf-8"))
    (folder / "devset-tokenIDs.txt").write_text("1\n2\n3\n4\n5\n6\n", encoding="utf-8")
    (folder / "testset-tokenIDs.txt").write_text("7\n8\n", encoding="utf-8")
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    return folder / "coinco.xml.gz"
