"""Human-similarity benchmarks (paper section 4.1): MEN, WordSim353, SimLex-999, STS-B.

Each is one :class:`~tasks.pairs.PairSimilarity`: its files as distributed (path in a data folder,
sha256, download, and copies that packages ship), each with the parser of its format.
"""

from __future__ import annotations

from harness.data import DataFile, PackageCopy
from tasks.pairs import PairSimilarity, pair_reader

# gensim's copies of WordSim353 and SimLex-999: '#' comments, tab: word1, word2, score
GENSIM_PAIRS = pair_reader("\t", score=2, comment="#")
STSB = pair_reader("\t", score=4, a=5, b=6)  # tab: genre, file, year, id, score, s1, s2[, extra...]; quotes literal
STSB_ARCHIVE = "http://ixa2.si.ehu.eus/stswiki/images/4/48/Stsbenchmark.tar.gz"
STSB_ARCHIVE_SHA256 = "557a86abbd2b76ee6768d8b5103b659601a9d26b797898c7467812f303b21280"

PairSimilarity(
    "men", "MEN: 3,000 word pairs rated for relatedness (Bruni et al., 2014)",
    {"test": DataFile(
        "men", "men/MEN_dataset_natural_form_full",
        pair_reader(None, score=2, header="optional"),  # "word1 word2 score"; an optional header line first
        # the file kept in shared/data carries a header line the archive's copy lacks,
        # so the archive member cannot be pinned to that checksum
        sha256=None, url="https://staff.fnwi.uva.nl/e.bruni/resources/MEN/MEN.tar.gz",
        member="MEN/MEN_dataset_natural_form_full")},
).register()

PairSimilarity(
    "wordsim353", "WordSim353: 353 word pairs rated for relatedness (Finkelstein et al., 2002)",
    {"test": DataFile(
        "wordsim353", "wordsim353/combined.tab",
        pair_reader("\t", score=2, header="first"),  # tab: word1, word2, mean score; header on line 1
        sha256="1edf400ed472e796b3be562cf7970b10d749a07874a96ddc77e75fd1006b446c",
        url="http://www.cs.technion.ac.il/~gabr/resources/data/wordsim353/wordsim353.zip", member="combined.tab",
        packages=(PackageCopy("gensim", "test/test_data/wordsim353.tsv", GENSIM_PAIRS),))},
).register()

PairSimilarity(
    "simlex999", "SimLex-999: 999 word pairs rated for similarity, not association (Hill et al., 2014)",
    {"test": DataFile(
        "simlex999", "simlex999/SimLex-999.txt",
        pair_reader("\t", score=3, header="first"),  # tab: word1, word2, POS, SimLex999, ...; header on line 1
        sha256="ca00ff8515a36cde32d13c2b83def23f5a167b67db93ebfcfb7dae039ba22c0b",
        url="https://fh295.github.io/SimLex-999.zip", member="SimLex-999/SimLex-999.txt",
        packages=(PackageCopy("gensim", "test/test_data/simlex999.txt", GENSIM_PAIRS),))},
).register()

PairSimilarity(
    "stsb", "STS-B: sentence pairs rated 0-5 (Cer et al., 2017); test split, --split dev for dev",
    {"test": DataFile("stsb-test", "stsbenchmark/sts-test.csv", STSB,
                      sha256="affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a",
                      url=STSB_ARCHIVE, member="stsbenchmark/sts-test.csv", archive_sha256=STSB_ARCHIVE_SHA256),
     "dev": DataFile("stsb-dev", "stsbenchmark/sts-dev.csv", STSB,
                     sha256="5d7e944d8b02734b07bfdb5df67db3420c64bed153fcaa1ba47ad03480cf4234",
                     url=STSB_ARCHIVE, member="stsbenchmark/sts-dev.csv", archive_sha256=STSB_ARCHIVE_SHA256)},
    note="the paper's '1,500 sentence pairs' is the size of the dev split (--split dev); "
         "the default test split has 1,379",
).register()
