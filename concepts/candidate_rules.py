"""Candidate rules: what no selector may choose, applied to every pool before any selector sees it.

A concept set stands for *other words* that could replace the content word ``w`` in its context.
Another form of ``w`` itself (``role`` → ``roles``), or a word in the wrong number, tense or degree
(``role`` → ``parts``), would make the concept loss reward the wrong inflection and pad geometry's
concept clusters with near-duplicates. So every candidate ``c`` of ``w`` (spaCy universal POS ``u``
∈ NOUN/VERB/ADJ, fine-grained tag ``g`` in context) goes through these rules, in order; the first
that applies removes it and is counted (:func:`apply_rules`):

1. ``target``: ``c`` is ``w`` in any letter case.
2. ``lemma``: ``c`` is another form of ``w``: a lemma of ``c`` (as any part of speech lemminflect
   knows, as ``u`` by its rules for unknown words, or ``c`` itself) equals a lemma of ``w`` as ``u`` (or ``w`` itself), compared case-folded. It removes
   inflections and their case variants: ``role`` → ``roles``, ``camps`` → ``camp``/``Camp``,
   ``century`` → ``centuries``.
3. ``case``: ``w`` is lower case and ``c`` has an upper-case letter (``century`` → ``Hundred``,
   ``C``): a capitalised word is a name, an abbreviation or a sentence start, not a substitute for
   a lower-case word. A capitalised ``w`` keeps candidates of any case.
4. ``letter``: ``c`` is a single letter and ``w`` is not (``century`` → ``c``, WordNet's
   abbreviation; ``fifty`` → ``l``): letters are abbreviations, Roman numerals or symbols, never
   substitutes. Longer lower-case abbreviations (``km``) are not recognised and pass.
5. ``inflection``: ``g`` marks an inflection of ``u`` (nouns ``NN``/``NNS``: number; verbs
   ``VB``/``VBP``/``VBZ``/``VBD``/``VBN``/``VBG``: form; adjectives ``JJ``/``JJR``/``JJS``:
   degree) and ``c`` is not a ``g`` form of any of its lemmas as ``u``: ``role`` (NN) →
   ``parts``, ``walked`` (VBD) → ``walking``, ``bigger`` (JJR) → ``large``. Forms are
   lemminflect's; every listed form counts (``was`` and ``were`` are both ``VBD``), except that a
   noun must be its most common form: lemminflect also lists the singular as a rare plural of
   many nouns (``dog`` among the plurals of ``dog``, from tagging noise), which would let every
   singular through. A word lemminflect knows only as another part of speech counts as
   uninflected (``beginning`` passes as ``JJ``); a word it does not know at all gets its
   rule-based (OOV) lemmas and forms. Any other tag (spaCy's ``XX``, ``FW``, ...) skips this rule.

Morphology comes from ``lemminflect`` (lemmas and inflections by Penn tag, which WordNet's morphy
cannot give: it reduces ``walked`` to ``walk`` but cannot say whether it was ``VBD`` or ``VBN``).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

RULES = ("target", "lemma", "case", "letter", "inflection")
INFLECTION_TAGS = {"NOUN": frozenset({"NN", "NNS"}), "VERB": frozenset({"VB", "VBP", "VBZ", "VBD", "VBN", "VBG"}),
                   "ADJ": frozenset({"JJ", "JJR", "JJS"})}
DESCRIPTION = ("rules in order, first match removes: target (the word in any case), lemma (shares a lemma with "
               "the word: its inflections and their case variants), case (capitalised when the word is lower case), "
               "letter (a single letter), inflection (not the word's spaCy tag form of any of its lemmas: number, "
               "verb form, degree; lemminflect, a noun's most common spelling)")


@lru_cache(maxsize=None)
def lemmas_as(word: str, upos: str) -> frozenset[str]:
    """Lemmas of lower-cased ``word`` as ``upos``: lemminflect's dictionary; a word it knows only as
    another part of speech is its own lemma (uninflected as ``upos``: its OOV rules would cut
    ``other`` to ``oth`` and ``inherited`` to ``inherit`` as adjectives); an unknown word gets the OOV
    rules (``blorgs`` → ``blorg``), whose empty results (one-letter words) are dropped."""
    import lemminflect

    found = lemminflect.getAllLemmas(word, upos).get(upos)
    if not found:
        found = (word,) if lemminflect.getAllLemmas(word) else lemminflect.getAllLemmasOOV(word, upos).get(upos, ())
    return frozenset(x.casefold() for x in found if x)


@lru_cache(maxsize=None)
def candidate_lemmas(word: str, upos: str) -> frozenset[str]:
    """Lower-cased ``word``, its lemmas as any part of speech lemminflect knows, and as ``upos``."""
    import lemminflect

    known = {x.casefold() for found in lemminflect.getAllLemmas(word).values() for x in found}
    return frozenset({word} | known | lemmas_as(word, upos))


@lru_cache(maxsize=None)
def word_lemmas(word: str, upos: str) -> frozenset[str]:
    """Lower-cased ``word`` and its lemmas as ``upos``."""
    return frozenset({word} | lemmas_as(word, upos))


@lru_cache(maxsize=None)
def has_form(word: str, upos: str, tag: str) -> bool:
    """Is lower-cased ``word`` a ``tag`` form of one of its lemmas as ``upos`` (for nouns: the most
    common one)?"""
    import lemminflect

    for lemma in lemmas_as(word, upos):
        forms = lemminflect.getInflection(lemma, tag, inflect_oov=True)
        if word in {f.casefold() for f in (forms[:1] if upos == "NOUN" else forms)}:
            return True
    return False


def rule_against(candidate: str, word: str, pos: str, tag: str) -> str | None:
    """The first rule (module docstring) that removes ``candidate`` for ``word`` (POS ``pos``, tag ``tag``)."""
    c, w = candidate.casefold(), word.casefold()
    if c == w:
        return "target"
    if not candidate_lemmas(c, pos).isdisjoint(word_lemmas(w, pos)):
        return "lemma"
    if word.islower() and not candidate.islower():
        return "case"
    if len(candidate) == 1 and len(word) > 1:
        return "letter"
    if tag in INFLECTION_TAGS.get(pos, ()) and not has_form(c, pos, tag):
        return "inflection"
    return None


def apply_rules(words: list[str], ids: list[int], word: str, pos: str, tag: str
                ) -> tuple[list[str], list[int], Counter[str]]:
    """(candidates no rule removes, their ids, in their order; how many each rule removed)."""
    kept_words, kept_ids, removed = [], [], Counter()
    for cand, tid in zip(words, ids):
        rule = rule_against(cand, word, pos, tag)
        if rule is None:
            kept_words.append(cand)
            kept_ids.append(tid)
        else:
            removed[rule] += 1
    return kept_words, kept_ids, removed
