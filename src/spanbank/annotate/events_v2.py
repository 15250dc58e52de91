"""``spanbank.events.v2``: ACE-style events with more of their arguments, from ``triggers_v2.yaml``.

Builds on v1's trigger and argument rules (which stay as released) and changes or adds:

* Triggers disambiguated by their arguments: an "attack" / "offensive" / "strike" whose target is
  a policy, plan, bill, remark ... is criticism, not Conflict:Attack; "on strike" and "hunger
  strike" are not attacks; "fired" a person is Personnel:End-Position, "opened fire" is an attack
  (trigger "fire", as ACE marks it).  Multi-word triggers from the lexicon's ``phrases`` ("took
  office", "stepped down", "stand trial") span both words.
* Nominal triggers take arguments from compounds ("embassy bombing"), possessives and of-phrases
  ("the bombing of [the embassy]", "the killing of [a teenager] by [police]"); "hundreds of
  [students]" resolves a quantity head to its of-object.
* Value role Position from "as" ("appointed X as [ambassador]"), filled by the PER nominal
  naming the job (ACE Job-Title has no label of its own).  Crime, Sentence, Money and Price are
  filled with value mentions (schema 1.1.0's CRIME, SENTENCE, MONEY) that ``values.py`` finds and
  this annotator creates: "charged with [money laundering]", "sentenced to [seven years in
  prison]", "paid [$3 million]".
* Place: a locative phrase attached to the trigger, else one anywhere in the trigger's clause
  without crossing another verb ("Voters in [Chile] elected", "A court in [Ankara] convicted"); a
  place inside the chosen Place mention's own phrase is not a second Place.
* Time: as v1 (a TIME mention whose head path reaches the trigger without crossing another verb),
  but never a duration ("sentenced to 12 years", "after weeks of protests"); a noun trigger that
  is the subject or object of an aspectual or support verb ("The merger ... was completed in
  [June]", "carried out an attack on [Sunday]") takes that verb's Time and Place.
* Linked events share the scene: an event whose subject is another event's trigger ("The
  bombing ... killed"), or a participle clause of another event's verb ("attacked ..., killing
  15 soldiers"), takes that event's Place and Time when it has none, and a participle without a
  subject takes the main verb's subject as its own.
"""

from __future__ import annotations

from typing import Any

from ..model import Argument, Event, EventType, LabelSchema, Provenance
from .events import OBJECT_DEPS, Entry, EventAnnotator, _Context, _rule_matches
from .registry import Output, Parsed, load_lexicon, register, span_id
from .values import ValueFinder, value_span_id

NAME = "spanbank.events.v2"
LEXICON = "triggers_v2.yaml"
SCENE = ("Place", "Time")
TARGET_PREPS = ("on", "against", "at")


class EventV2(EventAnnotator):
    name = NAME
    layer = "events"

    def __init__(self, schema: LabelSchema, model: Any) -> None:
        lex = load_lexicon(LEXICON)
        self.schema = schema
        known = set(schema.event_names())
        self.entries = {}
        for e in lex["triggers"]:
            if e.get("type") in known or any(r.get("type") in known for r in e.get("rules", ())):
                entry = Entry(e["lemma"], e.get("type"), frozenset(e.get("pos", ())), tuple(e.get("rules", ())),
                              e.get("arguments") or {})
                self.entries.setdefault(e["lemma"], []).append(entry)
        self.phrases = {tuple(p["words"]): p["type"] for p in lex.get("phrases", ()) if p["type"] in known}
        self.args = lex["arguments"]
        self.support = frozenset(self.args.get("support_verbs", ()))
        self.aspect = frozenset(self.args.get("aspect_verbs", ())) | self.support
        self.locative = frozenset(self.args.get("locative", ()))
        self.quantity = frozenset(self.args.get("quantity_heads", ()))
        self.units = frozenset(self.args.get("duration_units", ()))
        self.anchors = frozenset(self.args.get("anchors", ()))
        labels = set(schema.entity_names())
        self.nominals = {lemma: etype for etype, lemmas in lex.get("nominals", {}).items() if etype in labels
                         for lemma in lemmas or ()}
        self.pronouns = {lemma: etype for etype, lemmas in (lex.get("pronouns") or {}).items() if etype in labels
                         for lemma in lemmas or ()}
        self.values = ValueFinder(lex.get("values") or {}, self._duration)

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output:
        ctx = _ContextV2(parsed, provenance, self.nominals, self.pronouns)
        out, found = Output(), {}  # trigger token index -> (event, event type)
        taken: set[int] = set()
        for tok in parsed.sdoc:
            if tok.i in taken:
                continue
            hit = self._phrase(tok) or self._single(tok, ctx)
            if hit is None:
                continue
            etype, last = hit
            event_type = self.schema.event_type(etype)
            if event_type is None:
                continue
            taken.update(range(tok.i, last + 1))
            a, b = tok.idx, parsed.sdoc[last].idx + len(parsed.sdoc[last].text)
            trigger = parsed.doc.make_span(span_id("t", a, b), a, b, etype, "events", provenance)
            out.spans.append(trigger)
            args = self._with_values(list(parsed.sdoc[tok.i:last + 1]), event_type, ctx,
                                     self.arguments(tok, event_type, ctx))
            found[tok.i] = (Event(span_id("ev", a, b), trigger.id, etype, args, provenance), event_type)
        out.events.extend(self._share_scene(parsed.sdoc, found, ctx))
        out.spans.extend(ctx.created.values())
        return out

    # --- triggers ---

    def _phrase(self, tok: Any) -> tuple[str, int] | None:
        for words, etype in self.phrases.items():
            if tok.lemma_.lower() != words[0] or tok.pos_ not in ("VERB", "AUX"):
                continue
            end = tok.i + len(words)
            rest = tok.doc[tok.i + 1:end]
            if end <= len(tok.doc) and tuple(t.lower_ for t in rest) == words[1:] and all(
                    t.head.i in range(tok.i, end) for t in rest):
                return etype, end - 1
        return None

    def _single(self, tok: Any, ctx: _Context) -> tuple[str, int] | None:
        etype = self.classify(tok, ctx)
        return (etype, tok.i) if etype else None

    def classify(self, tok: Any, ctx: _Context) -> str | None:
        for entry in self.entries.get(tok.lemma_.lower(), ()):
            if tok.pos_ not in entry.pos:
                continue
            for rule in entry.rules:
                if self._rule(rule, tok, ctx):
                    return rule.get("type")
            return entry.type
        return None

    def _entry(self, tok: Any) -> Entry | None:
        return next((e for e in self.entries.get(tok.lemma_.lower(), ()) if tok.pos_ in e.pos), None)

    def _rule(self, rule: dict, tok: Any, ctx: _Context) -> bool:
        if "when_target" in rule:
            targets = [c for c in tok.children if c.dep_ in OBJECT_DEPS]
            targets += [p for c in tok.children if c.dep_ == "prep" and c.lower_ in TARGET_PREPS
                        for p in c.children if p.dep_ == "pobj"]
            return any(t.lemma_.lower() in rule["when_target"] for t in targets)
        if "when_in_prep" in rule:
            return tok.dep_ == "pobj" and tok.head.lower_ in rule["when_in_prep"]
        if "when_object_type" in rule:
            return any(c.dep_ in ("dobj", "nsubjpass") and ctx.entity_type(self._head(c)) in rule["when_object_type"]
                       for c in tok.children)
        return _rule_matches(rule, tok, ctx)

    # --- arguments ---

    def _head(self, tok: Any) -> Any:
        """"hundreds of students" -> "students"."""
        if tok.lemma_.lower() in self.quantity or tok.pos_ == "NUM":
            pobj = next((p for c in tok.children if c.dep_ == "prep" and c.lower_ == "of"
                         for p in c.children if p.dep_ == "pobj"), None)
            if pobj is not None:
                return pobj
        return tok

    def arguments(self, tok: Any, event_type: EventType, ctx: _Context) -> tuple[Argument, ...]:
        found: dict[str, str] = {}  # span id -> role
        entry = self._entry(tok)
        overrides = entry.arguments if entry else {}
        for head, candidates in self._dependents_v2(tok, overrides):
            head = self._head(head)
            for dep in [head, *head.conjuncts]:
                span = ctx.mention(dep)
                if span is None or span.id in found:
                    continue
                role = _pick_role_v2(event_type, candidates, span.label)
                if role:
                    found[span.id] = role
        if event_type.role("Place") and "Place" not in found.values():
            place = self._clause_place(tok, event_type, ctx, set(found))
            if place:
                found[place] = "Place"
        if event_type.role("Time"):
            for span in ctx.times_governed_by(tok) + self._aspect_times(tok, ctx):
                if not self._duration(span, ctx):
                    found.setdefault(span.id, "Time")
        return tuple(Argument(role, sid) for sid, role in found.items())

    def _with_values(self, tokens: list, event_type: EventType, ctx: _Context,
                     args: tuple[Argument, ...]) -> tuple[Argument, ...]:
        """``args`` plus Crime, Sentence, Money and Price arguments as value mentions created for them; an
        argument inside one of the event's values is part of the value, not an argument ("sentenced to
        12 years in [prison]" has no Place)."""
        have, values = {a.role for a in args}, []
        for role, label, start, end in self.values.values(tokens, event_type, ctx):
            if role in have:
                continue
            sid = value_span_id(start, end)
            if sid not in ctx.created:
                ctx.created[sid] = ctx.parsed.doc.make_span(sid, start, end, label, "entities", ctx.provenance)
            values.append(Argument(role, sid))
        if not values:
            return args
        spans = {**{s.id: s for s in ctx.parsed.entities}, **ctx.created}
        inside = [(spans[v.span].start, spans[v.span].end) for v in values]
        kept = tuple(a for a in args if a.span not in spans or not any(
            s <= spans[a.span].start and spans[a.span].end <= e for s, e in inside))
        return kept + tuple(values)

    def _dependents_v2(self, tok: Any, overrides: dict) -> list[tuple[Any, list[str]]]:
        rules = {**self.args, **overrides}
        out = []
        for head, candidates in self._dependents(tok, overrides):
            of_phrase = tok.pos_ == "NOUN" and head.dep_ == "pobj" and head.head.lower_ == "of" and head.head.head.i == tok.i
            out.append((head, rules["object"] if of_phrase else candidates))
        has_subject = any(c.dep_ in ("nsubj", "nsubjpass") for c in tok.children)
        if tok.pos_ == "VERB" and tok.tag_ == "VBG" and tok.dep_ in ("advcl", "xcomp") and not has_subject:
            out.extend((c, rules["subject"]) for c in tok.head.children if c.dep_ == "nsubj")
        if tok.pos_ == "VERB" and tok.dep_ == "acl" and not has_subject and tok.head.pos_ in ("NOUN", "PROPN"):
            out.append((tok.head, rules["subject"]))
        return out

    def _clause_place(self, tok: Any, event_type: EventType, ctx: _Context, taken: set[str]) -> str | None:
        """A place mention in a locative phrase of the trigger's clause (not across another verb)."""
        role = event_type.role("Place")
        root = tok
        if tok.pos_ == "NOUN" and tok.head.lemma_.lower() in self.aspect and tok.dep_ in ("dobj", "nsubj", "nsubjpass"):
            root = tok.head
        for prep in _clause_tokens(root, lambda t: self._entry(t) is not None):
            if prep.dep_ != "prep" or prep.lower_ not in self.locative:
                continue
            if prep.lower_ == "from" and event_type.role("Origin"):
                continue
            for pobj in (c for c in prep.children if c.dep_ == "pobj"):
                span = ctx.mention(self._head(pobj))
                if span is not None and span.id not in taken and role is not None and span.label in role.entity_types:
                    return span.id
        return None

    def _aspect_times(self, tok: Any, ctx: _Context) -> list:
        if tok.pos_ == "NOUN" and tok.dep_ in ("dobj", "nsubj", "nsubjpass") and tok.head.lemma_.lower() in self.aspect:
            return ctx.times_governed_by(tok.head)
        return []

    def _duration(self, span: Any, ctx: _Context) -> bool:
        """A TIME mention that measures a length of time ("three weeks", "12 years", "weeks")."""
        chunk = ctx.parsed.sdoc.char_span(span.start, span.end, alignment_mode="expand")
        if chunk is None:
            return False
        head = chunk.root
        words = {t.lower_ for t in chunk} | {t.lower_ for t in head.children}
        if head.lemma_.lower() not in self.units or words & self.anchors:
            return False
        counted = any(t.pos_ == "NUM" or t.lower_ in ("a", "an", "several", "few", "many") for t in chunk)
        return counted or head.tag_ == "NNS"

    # --- events sharing a scene ---

    def _share_scene(self, sdoc: Any, found: dict[int, tuple[Event, EventType]], ctx: _Context) -> list[Event]:
        events = {i: ev for i, (ev, _) in found.items()}
        for i, (ev, etype) in found.items():
            tok = sdoc[i]
            other = next((c.i for c in tok.children if c.dep_ in ("nsubj", "nsubjpass") and c.i in found), None)
            if other is None and tok.dep_ in ("advcl", "conj") and tok.tag_ == "VBG" and tok.head.i in found:
                other = tok.head.i
            if other is None:
                continue
            have = {a.role for a in ev.arguments}
            ids = {a.span for a in ev.arguments}
            extra = [a for a in found[other][0].arguments if a.role in SCENE and a.role not in have
                     and a.span not in ids and etype.role(a.role) is not None]
            if extra:
                events[i] = Event(ev.id, ev.trigger, ev.type, ev.arguments + tuple(extra), ev.provenance)
        return [events[i] for i in sorted(events)]


class _ContextV2(_Context):
    """v1's per-document lookups, plus personal pronouns as mentions ("she was elected")."""

    def __init__(self, parsed: Parsed, provenance: Provenance, nominals: dict[str, str], pronouns: dict[str, str]) -> None:
        super().__init__(parsed, provenance, nominals)
        self.pronouns = pronouns
        self.money: list[tuple[int, int]] | None = None  # token ranges of amounts (values.py), once per document
        self.money_tokens: set[int] = set()

    def mention(self, tok: Any) -> Any:
        etype = self.pronouns.get(tok.lemma_.lower()) if tok.pos_ == "PRON" and tok.i not in self.by_token else None
        if etype is None:
            return super().mention(tok)
        a, b = tok.idx, tok.idx + len(tok.text)
        span = self.parsed.doc.make_span(span_id("e", a, b), a, b, etype, "entities", self.provenance)
        self.created[span.id] = self.by_token[tok.i] = span
        return span


def _pick_role_v2(event_type: EventType, candidates: list[str], entity_type: str) -> str | None:
    """v1's choice, except that a value role without a label of its own (Position) admits any mention."""
    for name in candidates:
        role = event_type.role(name)
        if role is not None and (entity_type in role.entity_types or not role.entity_types):
            return name
    return None


def _clause_tokens(root: Any, is_trigger: Any) -> list:
    """Tokens of ``root``'s subtree reachable without entering another verb's clause or another
    event trigger's phrase, breadth first."""
    out, queue = [], list(root.children)
    while queue:
        tok = queue.pop(0)
        if (tok.pos_ in ("VERB", "AUX") and tok.dep_ not in ("aux", "auxpass")) or is_trigger(tok):
            continue
        out.append(tok)
        queue.extend(tok.children)
    return out


@register(NAME, "events")
def events_v2(schema: LabelSchema, model: Any) -> EventV2:
    return EventV2(schema, model)
