"""The noise control of paper section 5.3: random sets in place of the real concept sets.

The paper: "We pool all synonyms from the training set and, for each sequence, randomly sample a
matching number of words from this pool, replacing every true synonym set with this noise-based
control." Its public code excludes the target and draws up to max + 1 random words. Here:

- **Pool**: every synonym of the file, i.e. every set member other than its target's original
  token, as ``(token id, word)`` pairs with multiplicity (a synonym chosen for many targets is
  drawn more often, as the public code pools them).
- **Size**: each target's whole set T* is replaced by ``n = |T*|`` draws, the original token's slot
  included. That is our reading of both sources: the *set* is replaced (not the synonyms beside a
  kept original), and "up to max + 1" is the size of a full T* (10 synonyms + the original). So a
  singleton T* = {original} becomes one random token, and every target's set keeps its size.
- **Never the original**: a draw equal to the target's original token, or to a member already
  drawn for this set, is drawn again (rejection, so the set is a weighted draw without replacement
  from the pool less those tokens); draws are with replacement across sets (the pool is never used
  up). A set stops short only when the pool has no other distinct token left.

So at λ = 1 the loss ``−log Σ_{t ∈ T*} p(t | prefix)`` never contains ``p(original)``: unlike a set
that keeps the original token (loss ≤ CE of the original), it gives the true token nothing to
gain, and the control cannot learn the text's next token through the concept term. One
``random.Random(seed)`` walks the targets in file order, so the same seed gives the same file.
Positions, texts, ids and the header are kept; the header gains a ``randomized`` block (seed,
source file and its sha256, pool size, method), which is how readers know a set need not hold
the original token (:attr:`concepts.concept_header.ConceptHeader.is_noise_control`).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from concepts.concept_file import ConceptFile, load_concept_file, write_concept_file
from concepts.concept_header import ConceptHeader
from harness.errors import UserError

METHOD = ("each set replaced by |T*| draws (the original's slot included) from the pooled synonyms (with "
          "multiplicity, with replacement across sets, distinct within a set, never the target's original token)")


def synonym_pool(cf: ConceptFile) -> list[tuple[int, str]]:
    """Every set member that is not its target's original token, as (token id, word), in file order."""
    return [(i, w) for _, t in cf.targets() for i, w in zip(t.set_ids, t.set_words) if i != t.token_id]


def randomize_sets(cf: ConceptFile, seed: int) -> ConceptFile:
    """``cf`` with every set replaced by random draws from its synonym pool (module docstring)."""
    if cf.header.is_noise_control:
        raise UserError(f"concept file {cf.path or ''} is already a noise control: randomize the built file instead")
    pool = synonym_pool(cf)
    distinct = {i for i, _ in pool}
    if len(distinct) < 2:
        raise UserError(f"concept file {cf.path or ''} has {'no' if not pool else 'one distinct'} synonym to pool: "
                        f"too few to draw noise sets that avoid each target's own token")
    rng = random.Random(seed)
    for _, t in cf.targets():
        size = min(len(t.set_ids), len(distinct) - (t.token_id in distinct))
        ids, words = [], []
        while len(ids) < size:
            tid, word = pool[rng.randrange(len(pool))]
            if tid != t.token_id and tid not in ids:
                ids.append(tid)
                words.append(word)
        t.set_ids, t.set_words = ids, words
    return cf


def randomize_file(src: Path | str, dst: Path | str, seed: int, overwrite: bool = False) -> ConceptFile:
    """``harness concepts randomize``: read ``src``, write the randomized copy to ``dst`` atomically (an
    existing ``dst`` only with ``overwrite``, as ``concepts build`` does)."""
    from harness.outputs import check_output_file

    src, dst = Path(src), Path(dst)
    if not dst.parent.is_dir():
        raise UserError(f"output folder {dst.parent} does not exist")
    if dst.resolve() == src.resolve():
        raise UserError(f"output {dst} is the input file: write the noise control to another file")
    check_output_file(dst, "output", overwrite=overwrite)
    cf = load_concept_file(src)
    pool_size = len(synonym_pool(cf))
    cf = randomize_sets(cf, seed)
    cf.header = ConceptHeader({**cf.header.raw, "randomized": {
        "seed": seed, "source": str(src), "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "pool_size": pool_size, "method": METHOD,
    }})
    write_concept_file(dst, cf.header.raw, cf.records)
    cf.path = dst
    return cf
