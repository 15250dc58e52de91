"""``spanbank.events.v1``: event triggers from a lemma lexicon, arguments from the dependency parse.

Conventions:

* Triggers come from ``schema/lexicons/triggers.yaml`` (lemma -> event type, admitted parts of
  speech, context rules; data, credited per entry to its source).  A trigger is the single
  token carrying the lemma ("wounded", "probe", "attack" in "drone-attack"); one event per
  trigger.
* Arguments are attached from the trigger's own dependents: subject -> Attacker/Agent/...,
  object and passive subject -> Victim/Target/..., "by"-agent, compound and possessive
  modifiers of a noun trigger, prepositional objects by preposition ("in/at/outside" -> Place,
  "with/by" -> Instrument, "on/against" -> Target, "to" -> Destination, ...), a TIME mention
  whose syntactic path reaches the trigger without crossing another verb -> Time.  Conjoined
  dependents ("demonstrators and security forces") get the same role.  A noun trigger that is
  the object of a support verb ("have begun a probe") takes that verb's subject.  For each
  dependent the first candidate role that the event type has *and* that admits the mention's
  entity type (``Role.entity_types``) is used; value roles (Crime, Money, ...) are not filled.
* An argument is always an entity span of the silver set.  When no entity span covers the
  dependent's head, a nominal mention is created if the head's lemma is in the lexicon's
  ``nominals`` table ("guards" PER, "residence" FAC, "drone" WEA); its provenance names this
  pre-annotator.
* Argument extent (documented choice): the entity mention's extent as the entity layer marks it
  - the name for names, and for nominals the head noun with its compound modifiers, without
  determiners, numbers, adjectives or possessives ("seven guards" -> "guards", "At least seven
  security guards of the prime minister" -> "security guards"), following the schema's examples
  (ACE head extents) rather than ACE's full-NP extents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import Argument, Event, EventType, LabelSchema, Provenance, Span
from .registry import Output, Parsed, load_lexicon, register, span_id

NAME = "spanbank.events.v1"
LEXICON = "triggers.yaml"
OBJECT_DEPS = ("dobj", "nsubjpass", "attr")


@dataclass(frozen=True)
class Entry:
    lemma: str
    type: str | None
    pos: frozenset[str]
    rules: tuple[dict, ...]
    arguments: dict


class EventAnnotator:
    name = NAME
    layer = "events"

    def __init__(self, schema: LabelSchema, model: Any) -> None:
        lex = load_lexicon(LEXICON)
        self.schema = schema
        known = set(schema.event_names())
        self.entries = {e["lemma"]: Entry(e["lemma"], e.get("type"), frozenset(e.get("pos", ())),
                                          tuple(e.get("rules", ())), e.get("arguments") or {})
                        for e in lex["triggers"] if e.get("type") in known or any(r.get("type") in known for r in e.get("rules", ()))}
        self.args = lex["arguments"]
        self.support = frozenset(self.args.get("support_verbs", ()))
        labels = set(schema.entity_names())
        self.nominals = {lemma: etype for etype, lemmas in lex.get("nominals", {}).items() if etype in labels
                         for lemma in lemmas or ()}

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output:
        ctx = _Context(parsed, provenance, self.nominals)
        out = Output()
        for tok in parsed.sdoc:
            etype = self.classify(tok, ctx)
            event_type = self.schema.event_type(etype) if etype else None
            if event_type is None:
                continue
            a, b = tok.idx, tok.idx + len(tok.text)
            trigger = parsed.doc.make_span(span_id("t", a, b), a, b, etype, "events", provenance)
            out.spans.append(trigger)
            args = self.arguments(tok, event_type, ctx)
            out.events.append(Event(span_id("ev", a, b), trigger.id, etype, args, provenance))
        out.spans.extend(ctx.created.values())
        return out

    # --- triggers ---

    def classify(self, tok: Any, ctx: "_Context") -> str | None:
        """The event type ``tok`` triggers, or ``None``."""
        entry = self.entries.get(tok.lemma_.lower())
        if entry is None or tok.pos_ not in entry.pos:
            return None
        for rule in entry.rules:
            if _rule_matches(rule, tok, ctx):
                return rule.get("type")
        return entry.type

    # --- arguments ---

    def arguments(self, tok: Any, event_type: EventType, ctx: "_Context") -> tuple[Argument, ...]:
        found: dict[str, str] = {}  # span id -> role
        entry = self.entries.get(tok.lemma_.lower())  # a trained trigger may have no lexicon entry
        overrides = entry.arguments if entry else {}
        for head, candidates in self._dependents(tok, overrides):
            for dep in [head, *head.conjuncts]:
                span = ctx.mention(dep)
                if span is None or span.id in found:
                    continue
                role = _pick_role(event_type, candidates, span.label)
                if role:
                    found[span.id] = role
        if event_type.role("Time"):
            for span in ctx.times_governed_by(tok):
                found.setdefault(span.id, "Time")
        return tuple(Argument(role, sid) for sid, role in found.items())

    def _dependents(self, tok: Any, overrides: dict) -> list[tuple[Any, list[str]]]:
        """(dependent head token, candidate roles) pairs, in a fixed order."""
        rules, preps = {**self.args, **overrides}, self.args.get("prepositions", {})
        out = []
        for child in tok.children:
            dep = child.dep_
            if dep == "nsubj" or (dep == "poss" and tok.pos_ == "NOUN"):
                out.append((child, rules["subject"]))
            elif dep in ("dobj", "attr"):
                out.append((child, rules["object"]))
            elif dep == "nsubjpass":
                out.append((child, rules["passive_subject"]))
            elif dep == "compound":
                out.append((child, rules["compound"]))
            elif dep == "agent":
                out.extend((p, rules["passive_agent"]) for p in child.children if p.dep_ == "pobj")
            elif dep == "prep" and child.lower_ in preps:
                out.extend((p, preps[child.lower_]) for p in child.children if p.dep_ == "pobj")
        if tok.pos_ == "NOUN" and tok.dep_ == "dobj" and tok.head.lemma_.lower() in self.support:
            out.extend((c, rules["subject"]) for c in tok.head.children if c.dep_ == "nsubj")
        return out


class _Context:
    """Per-document lookups: which entity span covers a token; nominal spans created on the way."""

    def __init__(self, parsed: Parsed, provenance: Provenance, nominals: dict[str, str]) -> None:
        self.parsed, self.provenance, self.nominals = parsed, provenance, nominals
        self.created: dict[str, Span] = {}
        self.by_token: dict[int, Span] = {}
        sdoc = parsed.sdoc
        for span in parsed.entities:
            for tok in sdoc.char_span(span.start, span.end, alignment_mode="expand") or ():
                self.by_token.setdefault(tok.i, span)

    def entity_type(self, tok: Any) -> str | None:
        span = self.by_token.get(tok.i)
        return span.label if span else self.nominals.get(tok.lemma_.lower())

    def mention(self, tok: Any) -> Span | None:
        """The entity span for a dependent headed by ``tok`` (created as a nominal if need be)."""
        if tok.i in self.by_token:
            return self.by_token[tok.i]
        etype = self.nominals.get(tok.lemma_.lower()) if tok.pos_ in ("NOUN", "PROPN") else None
        if etype is None:
            return None
        first = tok
        while first.i > 0 and first.nbor(-1).dep_ == "compound" and first.nbor(-1).head.i == tok.i \
                and first.nbor(-1).i not in self.by_token:
            first = first.nbor(-1)
        a, b = first.idx, tok.idx + len(tok.text)
        span = self.parsed.doc.make_span(span_id("e", a, b), a, b, etype, "entities", self.provenance)
        self.created[span.id] = span
        for i in range(first.i, tok.i + 1):
            self.by_token[i] = span
        return span

    def times_governed_by(self, trigger: Any) -> list[Span]:
        """TIME spans in the trigger's sentence whose head path reaches it without another verb."""
        out = []
        sent = trigger.sent
        for span in self.parsed.entities:
            if span.label != "TIME" or not (sent.start_char <= span.start < sent.end_char):
                continue
            chunk = self.parsed.sdoc.char_span(span.start, span.end, alignment_mode="expand")
            if chunk is not None and _reaches(chunk.root, trigger):
                out.append(span)
        return out


def _reaches(tok: Any, trigger: Any) -> bool:
    while tok.i != trigger.i:
        if tok.head.i == tok.i or (tok.pos_ in ("VERB", "AUX") and tok.i != trigger.i):
            return False
        tok = tok.head
    return True


def _rule_matches(rule: dict, tok: Any, ctx: _Context) -> bool:
    if "when_head" in rule:
        return tok.head.i != tok.i and tok.head.lemma_.lower() in rule["when_head"]
    if "when_child" in rule:
        return any(c.lemma_.lower() in rule["when_child"] for c in tok.children)
    if "when_object" in rule:
        objects = [c for c in tok.children if c.dep_ in OBJECT_DEPS]
        objects += [p for c in tok.children if c.dep_ == "prep" and c.lower_ in ("of", "to")
                    for p in c.children if p.dep_ == "pobj"]
        return any(ctx.entity_type(o) in rule["when_object"] for o in objects)
    return False


def _pick_role(event_type: EventType, candidates: list[str], entity_type: str) -> str | None:
    for name in candidates:
        role = event_type.role(name)
        if role is not None and entity_type in role.entity_types:
            return name
    return None


@register(NAME, "events")
def events_v1(schema: LabelSchema, model: Any) -> EventAnnotator:
    return EventAnnotator(schema, model)
