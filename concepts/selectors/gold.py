"""``gold``: the human substitutes of a gold-annotated corpus (CoInCo) as the concept set, not the model's pool.

For a content word whose character span in its sentence is a CoInCo target's head
(:mod:`harness.lexsub_files.coinco`), the synonyms are that target's substitutes, most annotators first (ties
alphabetical), mapped to words of the model's vocabulary under the rules every selector's pool obeys:

1. single alphabetic words only (a multiword or hyphenated substitute has no single token);
2. the substitute is a lemma (CoInCo gives TreeTagger lemmas), so it is put in the target's inflection first:
   lemminflect's first ``tag`` form of it (``sprint`` for ``ran``/VBD → ``sprinted``), the lemma itself where
   the tag is no inflection of the word's POS (:data:`~concepts.candidate_rules.INFLECTION_TAGS`) or
   lemminflect has no form;
3. the candidate rules (:func:`~concepts.candidate_rules.rule_against`: not the target or another form of
   it, case, single letters, inflection);
4. one token: ``' ' + word`` is a single whole-word token of the tokenizer (:class:`~concepts.candidates.
   WholeWordVocab`: ``first_token(word)`` decodes back to the whole word), so the set rule's first token *is* the
   word, never the first piece of a longer one.

A content word that is no target (not annotated, ``problematic``, or of another part) gets no synonyms. The gold
is ``--gold`` (a CoInCo name or path), else the ``--corpus`` the file is built from when it is CoInCo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from concepts.candidates import SelectionQuery, SelectorContext, WholeWordVocab
from concepts.selector_registry import register_selector
from harness.config import option
from harness.errors import UserError


@dataclass(frozen=True)
class GoldSettings:
    gold: str | None = option(None, help="gold selector: CoInCo substitutes (coinco, coinco-dev, coinco-test or a "
                              "coinco.xml.gz; default: the --corpus when it is CoInCo)")


def inflect(lemma: str, pos: str, tag: str) -> str:
    """Rule 2 of the module docstring."""
    import lemminflect

    from concepts.candidate_rules import INFLECTION_TAGS

    if tag not in INFLECTION_TAGS.get(pos, ()):
        return lemma
    forms = lemminflect.getInflection(lemma, tag, inflect_oov=True)
    return forms[0] if forms else lemma


@register_selector("gold", settings=GoldSettings)
class GoldSelector:
    name = "gold"

    def __init__(self, ctx: SelectorContext) -> None:
        from harness.lexsub_files.coinco import is_coinco, read_coinco

        gold = ctx.settings(GoldSettings).gold or (ctx.corpus if is_coinco(ctx.corpus) else None)
        if not gold or not is_coinco(gold):
            raise UserError("the gold selector needs CoInCo substitutes: build from --corpus coinco / coinco-dev / "
                            "coinco-test (or a coinco.xml.gz), or pass --gold with one of them")
        data = read_coinco(gold)
        self.source, self.part = data.source, data.part
        self.by_span = {(c.text, c.start, c.end): data.gold[c.key] for c in data.contexts}
        self.vocab = WholeWordVocab(ctx.model.tokenizer)

    def settings(self) -> dict[str, Any]:
        return {"gold": self.source, "part": self.part, "targets": len(self.by_span),
                "rule": "substitutes by annotators (desc), single alphabetic words, inflected to the target's tag "
                        "(lemminflect), then the candidate rules, then single whole-word tokens only"}

    def single_token(self, word: str) -> bool:
        tid = self.vocab.first_token(word)
        return tid is not None and self.vocab.word(tid) == word

    def select(self, queries: list[SelectionQuery]) -> list[list[str]]:
        from concepts.candidate_rules import rule_against

        out = []
        for q in queries:
            g = self.by_span.get((q.text, q.start, q.end))
            subs = sorted(g.substitutes.items(), key=lambda kv: (-kv[1], kv[0])) if g is not None else []
            words = [inflect(s, q.pos, q.tag) for s, _ in subs if s.isalpha()]
            words = [w for w in dict.fromkeys(words)
                     if rule_against(w, q.word, q.pos, q.tag) is None and self.single_token(w)]
            out.append(words)
        return out
