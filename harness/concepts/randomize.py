"""The noise control of paper section 5.3: random "synonyms" in place of the real ones.

Pool: every synonym of the file, i.e. every set member except the original token, as
``(token id, word)`` pairs, with multiplicity (a frequent synonym is drawn more often, as in the
source file). Each target's set becomes ``[original token] + n`` draws from the pool, where
``n`` = its number of synonyms. Draws are with replacement across the file (the pool is never
used up) but distinct within one set and different from the original token, so a set keeps its
size and T* stays a set; only if the pool has too few distinct tokens to fill a set does it get
fewer. One ``random.Random(seed)`` walks the targets in file order, so the same seed gives the
same file. Positions, texts, ids and the header are kept; the header gains a ``randomized``
block (seed, source file and its sha256, pool size).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from harness.concepts.concept_file import ConceptFile, load_concept_file, write_concept_file
from harness.errors import UserError

MAX_TRIES = 1000  # draws per member before giving up on a distinct token


def synonym_pool(cf: ConceptFile) -> list[tuple[int, str]]:
    return [(i, w) for _, t in cf.targets() for i, w in zip(t.set_ids[1:], t.set_words[1:])]


def randomize_sets(cf: ConceptFile, seed: int) -> ConceptFile:
    """A new ConceptFile whose sets are random draws from the file's synonym pool (module docstring)."""
    pool = synonym_pool(cf)
    if not pool:
        raise UserError(f"concept file {cf.path or ''} has no synonyms to pool: nothing to randomize")
    distinct = len({i for i, _ in pool})
    rng = random.Random(seed)
    for _, t in cf.targets():
        n = len(t.set_ids) - 1
        ids, words = [t.token_id], [t.set_words[0]]
        tries = 0
        while len(ids) - 1 < n and tries < MAX_TRIES * max(n, 1) and len(ids) - 1 < distinct:
            tid, word = pool[rng.randrange(len(pool))]
            tries += 1
            if tid not in ids:
                ids.append(tid)
                words.append(word)
        t.set_ids, t.set_words = ids, words
    return cf


def randomize_file(src: Path | str, dst: Path | str, seed: int) -> ConceptFile:
    """``harness concepts randomize``: read ``src``, write the randomized copy to ``dst`` atomically."""
    src, dst = Path(src), Path(dst)
    if not dst.parent.is_dir():
        raise UserError(f"output folder {dst.parent} does not exist")
    if dst.resolve() == src.resolve():
        raise UserError(f"output {dst} is the input file: write the noise control to another file")
    cf = load_concept_file(src)
    pool_size = len(synonym_pool(cf))
    cf = randomize_sets(cf, seed)
    cf.header["randomized"] = {
        "seed": seed, "source": str(src), "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "pool_size": pool_size,
        "method": "each set: original token + as many draws from the pooled synonyms (with multiplicity, "
                  "with replacement across sets, distinct within a set) as it had synonyms",
    }
    write_concept_file(dst, cf.header, cf.records)
    cf.path = dst
    return cf
