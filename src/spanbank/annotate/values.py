"""ACE value mentions for ``spanbank.events.v2``: MONEY, CRIME and SENTENCE spans that fill value roles.

Schema 1.1.0 gives the ACE values that news events take their own span labels (MONEY for Money and
Price, CRIME for Crime, SENTENCE for Sentence).  A value mention is created only where it fills a
role of an event found by the rules, with the extents the schema's conventions state:

* **Money / Price**: an amount with its currency, found from a currency symbol followed by a number
  ("$3 million", "€2.5bn", "$5bn") or a number followed by a currency word ("40 million euros"), or
  from the parser's MONEY entity, without a leading determiner; it fills the role when its head path
  reaches the trigger without crossing another verb ("paid [$3 million]", "in a [$5bn] deal",
  "bought ... for [300 million dollars]").
* **Crime**: the object of a crime preposition of the trigger ("convicted of [manslaughter]", "charged
  with [money laundering]", "jailed for [assault]"), through a frame noun ("on charges of [tax evasion]",
  "on suspicion of [murder]", "acquitted of [corruption] charges"), a gerund clause with its object
  ("accused of [killing a civilian]"); never a mention of another label, a number or a duration
  ("jailed for 18 months" has no Crime).
* **Sentence**: the object of "to" of a sentencing trigger with its prison phrase ("sentenced to
  [seven years in prison]", "[life in prison]", "[death]"), or the modifiers of the noun trigger
  "sentence" ("a [life] sentence", "a [five-year prison] sentence").

The tables (prepositions, frame nouns, currencies) are data in ``triggers_v2.yaml`` (``values``).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..model import EventType
from .registry import span_id

NUMBER = re.compile(r"^\d[\d,.]*(bn|mn|m|k|b)?$", re.IGNORECASE)
LEADING = ("det", "predet", "poss", "case", "punct", "cc")


class ValueFinder:
    """Finds value mentions for one event trigger; built once per annotator from the lexicon's ``values``."""

    def __init__(self, table: dict[str, Any], durations: Callable[[Any, Any], bool]) -> None:
        crime, sentence, money = table.get("crime", {}), table.get("sentence", {}), table.get("money", {})
        self.crime_preps = {p: frozenset(lemmas or ()) for p, lemmas in (crime.get("prepositions") or {}).items()}
        self.frames = frozenset(crime.get("frames", ()))
        self.frame_preps = frozenset(crime.get("frame_prepositions", ()))
        self.not_crime = frozenset(crime.get("not_crime", ()))
        self.sentence_preps = frozenset(sentence.get("prepositions", ()))
        self.custody = frozenset(sentence.get("custody", ()))
        self.sentence_nouns = frozenset(sentence.get("nouns", ()))
        self.symbols = frozenset(money.get("symbols", ()))
        self.currencies = frozenset(money.get("currencies", ()))
        self.multipliers = frozenset(money.get("multipliers", ()))
        self.is_duration = durations

    # --- which values an event gets ---

    def values(self, tokens: list[Any], event_type: EventType, ctx: Any) -> list[tuple[str, str, int, int]]:
        """(role, label, start char, end char) of the value arguments of the trigger ``tokens``."""
        out = []
        for role_name, find in (("Crime", self.crime), ("Sentence", self.sentence), ("Money", self.money),
                                ("Price", self.money)):
            role = event_type.role(role_name)
            if role is None or len(role.entity_types) != 1:
                continue
            found = find(tokens, ctx)
            if found is not None:
                out.append((role_name, role.entity_types[0], *found))
        return out

    # --- Crime ---

    def crime(self, tokens: list[Any], ctx: Any) -> tuple[int, int] | None:
        lemmas = {t.lemma_.lower() for t in tokens}
        heads = []
        for tok in tokens:
            # "convicted the journalist of X": the parser may hang the of-phrase on the object;
            # "went on trial on charges of X": a noun trigger's frame phrase on its verb
            objects = [o for c in tok.children if c.dep_ in ("dobj", "nsubjpass") for o in c.children]
            verb = tok.head.head if tok.dep_ == "pobj" else tok.head if tok.dep_ == "dobj" else None
            around = [c for c in verb.children if c.lower_ in self.frame_preps] if tok.pos_ == "NOUN" and verb is not None \
                and verb.pos_ in ("VERB", "AUX") else []
            for prep in (c for c in [*tok.children, *objects, *around] if c.dep_ == "prep"):
                if prep.head.i != tok.i and not self.crime_preps.get(prep.lower_) and prep.lower_ not in self.frame_preps:
                    continue  # on the object only a trigger-specific preposition ("of" of convict)
                heads.extend(self._crime_objects(prep, lemmas, ctx))
                # "jailed for 18 months for assault": the crime hangs off the duration
                for obj in (o for o in prep.children if o.dep_ == "pobj" and self._measure(o, ctx)):
                    for inner in (c for c in obj.children if c.dep_ == "prep"):
                        heads.extend(self._crime_objects(inner, lemmas, ctx))
        for head in heads:
            extent = self._crime_extent(head, ctx)
            if extent is not None:
                return extent
        return None

    def _crime_objects(self, prep: Any, lemmas: set[str], ctx: Any) -> list[Any]:
        word = prep.lower_
        objects = [o for o in prep.children if o.dep_ in ("pobj", "pcomp")]
        if word in self.frame_preps:  # "on charges of X", "on suspicion of X"
            return [o for o in objects if o.lemma_.lower() in self.frames]
        allowed = self.crime_preps.get(word)
        if allowed is None or (allowed and not allowed & lemmas):
            return []
        return [o for o in objects if not self._measure(o, ctx)]

    def _crime_extent(self, head: Any, ctx: Any) -> tuple[int, int] | None:
        if head.lemma_.lower() in self.frames:
            inner = next((o for c in head.children if c.dep_ == "prep" and c.lower_ == "of"
                          for o in c.children if o.dep_ in ("pobj", "pcomp")), None)
            if inner is not None:
                return self._crime_extent(inner, ctx)
            named = [c for c in head.children if c.dep_ == "compound" and c.i < head.i]
            return _chars(named[0], named[-1]) if named else None
        if head.i in ctx.by_token or head.pos_ in ("PRON", "NUM", "PROPN") or self._measure(head, ctx) \
                or {head.lemma_.lower(), head.lower_} & self.not_crime:
            return None
        if head.pos_ in ("VERB", "AUX"):  # a gerund clause: the verb with its objects
            parts = [head] + [t for c in head.children if c.dep_ in ("dobj", "prt", "dative", "attr", "acomp", "oprd")
                              for t in c.subtree]
        else:  # a noun phrase: its modifiers on the left, of-phrases on the right ("abuse of power")
            parts = [head] + [t for c in head.lefts if c.dep_ in ("compound", "amod", "nmod") for t in c.subtree]
            parts += [t for c in head.rights if c.dep_ == "prep" and c.lower_ == "of" for t in c.subtree]
        return _trimmed(head.doc, min(t.i for t in parts), max(t.i for t in parts))

    def _measure(self, tok: Any, ctx: Any) -> bool:
        """A number, an amount of money or a length of time ("18 months"): not a crime."""
        if tok.pos_ == "NUM" or tok.i in self._money_tokens(ctx):
            return True
        span = ctx.by_token.get(tok.i)
        return bool(span is not None and span.label == "TIME" and self.is_duration(span, ctx))

    # --- Sentence ---

    def sentence(self, tokens: list[Any], ctx: Any) -> tuple[int, int] | None:
        for tok in tokens:
            if tok.pos_ == "NOUN" and tok.lemma_.lower() in self.sentence_nouns:  # "a [life] sentence"
                mods = [t for c in tok.lefts if c.dep_ in ("compound", "amod", "nmod", "nummod", "npadvmod")
                        for t in c.subtree]
                if mods:
                    return _trimmed(tok.doc, min(t.i for t in mods), max(t.i for t in mods))
            for prep in (c for c in tok.children if c.dep_ == "prep" and c.lower_ in self.sentence_preps):
                for obj in (o for o in prep.children if o.dep_ == "pobj"):
                    if obj.i in ctx.by_token and ctx.by_token[obj.i].label != "TIME":
                        continue  # "sentenced to [a prison in Lagos]" is not a punishment
                    last = max(t.i for t in obj.subtree if not _under_prep(t, obj, "for"))
                    nxt = obj.doc[last + 1] if last + 1 < len(obj.doc) else None
                    if nxt is not None and nxt.dep_ == "prep" and nxt.head.i == tok.i and nxt.lower_ == "in" and any(
                            o.lemma_.lower() in self.custody for o in nxt.children):
                        last = max(t.i for t in nxt.subtree)  # "sentenced to 12 years [in prison]"
                    return _trimmed(obj.doc, obj.left_edge.i, last)
        return None

    # --- Money ---

    def money(self, tokens: list[Any], ctx: Any) -> tuple[int, int] | None:
        from .events import _reaches

        best = None
        for first, last in self._money_chunks(ctx):
            chunk = ctx.parsed.sdoc[first:last + 1]
            if any(_reaches(chunk.root, tok) for tok in tokens):
                distance = min(abs(chunk.root.i - tok.i) for tok in tokens)
                if best is None or distance < best[0]:
                    best = (distance, first, last)
        return None if best is None else _chars(ctx.parsed.sdoc[best[1]], ctx.parsed.sdoc[best[2]])

    def _money_chunks(self, ctx: Any) -> list[tuple[int, int]]:
        """Token ranges of the document's amounts of money, computed once per document."""
        if ctx.money is not None:
            return ctx.money
        sdoc, chunks = ctx.parsed.sdoc, []
        for tok in sdoc:
            if tok.text in self.symbols:
                last = tok.i
                while last + 1 < len(sdoc) and self._amount(sdoc[last + 1]):
                    last += 1
                if last > tok.i:
                    chunks.append((tok.i, last))
            elif tok.lower_ in self.currencies and tok.i > 0 and self._amount(sdoc[tok.i - 1]):
                first = tok.i - 1
                while first > 0 and self._amount(sdoc[first - 1]):
                    first -= 1
                chunks.append((first, tok.i))
        for ent in sdoc.ents:
            if ent.label_ == "MONEY" and not any(a <= ent.start <= b or ent.start <= a < ent.end for a, b in chunks):
                first = next((t.i for t in ent if t.dep_ not in LEADING), ent.start)
                chunks.append((first, ent.end - 1))
        ctx.money = sorted(chunks)
        ctx.money_tokens = {i for a, b in chunks for i in range(a, b + 1)}
        return ctx.money

    def _money_tokens(self, ctx: Any) -> set[int]:
        self._money_chunks(ctx)
        return ctx.money_tokens

    def _amount(self, tok: Any) -> bool:
        return bool(NUMBER.match(tok.text)) or tok.lower_ in self.multipliers


def _under_prep(tok: Any, top: Any, word: str) -> bool:
    """``tok`` lies in a ``word``-phrase of ``top``'s subtree ("seven years [for fraud]")."""
    while tok.i != top.i:
        if tok.dep_ == "prep" and tok.lower_ == word:
            return True
        tok = tok.head
    return False


def _trimmed(doc: Any, first: int, last: int) -> tuple[int, int] | None:
    while first <= last and (doc[first].dep_ in LEADING or doc[first].is_punct):
        first += 1
    while last >= first and doc[last].is_punct:
        last -= 1
    return _chars(doc[first], doc[last]) if first <= last else None


def _chars(first: Any, last: Any) -> tuple[int, int]:
    return first.idx, last.idx + len(last.text)


def value_span_id(start: int, end: int) -> str:
    """Value mentions get their own id prefix: the same extent may also be another label's mention."""
    return span_id("v", start, end)
