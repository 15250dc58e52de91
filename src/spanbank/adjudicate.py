"""Adjudication: build the ``gold`` set of each document from its ``annotator/<name>`` sets.

Rules, per document, among the annotators who labelled it (non-empty set):

- A *span* is identified by (layer, label, start, end).  ``unanimous``: accepted when every annotator
  marked it; ``majority``: when more than half did.
- An *event* is identified by its type and trigger span; it is accepted by the same rule when its
  trigger span was accepted.  Each *argument* (event, role, argument span) is then accepted on its
  own by the same rule when its event and its argument span were accepted, so an event keeps the
  arguments annotators agree on.
- An *attribution* is identified by its cue, source (or none) and content spans; accepted by the same
  rule when all of them were accepted.  Its ``parent`` is kept when the parent was accepted too.
- Every item that not all annotators marked is a :class:`Disagreement` for the adjudicator, whatever
  the rule decided; a decisions file (the disagreements as JSONL with an added ``"accept": true|false``)
  overrides the rule on a later run.  Dependencies still hold: an accepted event needs its trigger.
- Provenance of the gold items: agent = the adjudicator, status gold, kind human, detail
  ``adjudicated from alice, bob (unanimous)`` (or ``majority 2/3``, or ``adjudicator decision, 1/2``).
- An existing gold set that differs from the new result is never replaced silently: it is a
  *conflict*, kept unless ``force``.  Exception: a gold set made entirely by an earlier adjudication
  of the same adjudicator is updated (that is how decisions get applied), and reported as updated.
  A gold set equal to the result (same identities) is left untouched, provenance and all.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from . import jsonl
from .errors import InputError
from .model import (
    GOLD,
    AnnotationSet,
    Argument,
    Attribution,
    Document,
    Event,
    Provenance,
    Span,
    annotator_set,
    utc_now,
)

STRATEGIES = ("unanimous", "majority")
DETAIL_PREFIX = "adjudicated from "
Identity = tuple
Decisions = Mapping[tuple[str, str], bool]


@dataclass(frozen=True)
class Disagreement:
    """One item not every annotator marked: where it is, who marked it, what the others said there."""

    doc: str
    key: str  # stable identity (JSON); the decisions file refers to it
    kind: str  # span | event | argument | attribution
    layer: str
    label: str  # span label, event type, argument role, or "attribution"
    start: int
    end: int
    text: str
    votes: tuple[str, ...]  # annotators who marked exactly this
    annotators: tuple[str, ...]  # annotators who labelled the document
    said: Mapping[str, list[str]]  # per annotator: labels at the same offsets in the same layer
    accepted: bool
    decided: bool = False  # True when the adjudicator's decision (not the rule) settled it

    def as_dict(self) -> dict[str, Any]:
        return {"doc": self.doc, "key": self.key, "kind": self.kind, "layer": self.layer, "label": self.label,
                "start": self.start, "end": self.end, "text": self.text, "votes": list(self.votes),
                "annotators": list(self.annotators), "said": dict(self.said), "accepted": self.accepted,
                "decided": self.decided}


@dataclass
class AdjudicationReport:
    """Counts of one run; the ids of documents whose differing gold was kept (conflicts) or overwritten."""

    strategy: str = "unanimous"
    adjudicator: str = ""
    documents: int = 0
    written: int = 0
    unchanged: int = 0
    spans: int = 0
    events: int = 0
    attributions: int = 0
    disagreements: int = 0
    decisions_used: int = 0
    conflicts: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --- identities ---------------------------------------------------------------------------------


def span_identity(s: Span) -> Identity:
    return ("span", s.layer, s.label, s.start, s.end)


def _identities(aset: AnnotationSet) -> dict[Identity, Any]:
    """Every item of a set by identity -> the model object (span, event, (event, argument), attribution)."""
    by_id = {s.id: s for s in aset.spans}
    out: dict[Identity, Any] = {span_identity(s): s for s in aset.spans}
    for ev in aset.events:
        if ev.trigger not in by_id:
            continue
        event = ("event", ev.type, span_identity(by_id[ev.trigger]))
        out[event] = ev
        for arg in ev.arguments:
            if arg.span in by_id:
                out[("argument", event, arg.role, span_identity(by_id[arg.span]))] = (ev, arg)
    for at in aset.attributions:
        ident = _attribution_identity(at, by_id)
        if ident is not None:
            out[ident] = at
    return out


def _attribution_identity(at: Attribution, by_id: Mapping[str, Span]) -> Identity | None:
    if at.cue not in by_id or at.content not in by_id or (at.source is not None and at.source not in by_id):
        return None
    source = span_identity(by_id[at.source]) if at.source is not None else None
    return ("attribution", span_identity(by_id[at.cue]), source, span_identity(by_id[at.content]))


def _needs(ident: Identity) -> list[Identity]:
    """The identities an item depends on (accepted first)."""
    if ident[0] == "event":
        return [ident[2]]
    if ident[0] == "argument":
        return [ident[1], ident[3]]
    if ident[0] == "attribution":
        return [i for i in ident[1:] if i is not None]
    return []


def key_of(ident: Identity) -> str:
    return json.dumps(ident, ensure_ascii=False, separators=(",", ":"))


# --- deciding one document ----------------------------------------------------------------------


@dataclass
class _Vote:
    doc: Document
    sets: dict[str, AnnotationSet]
    strategy: str
    decisions: Decisions
    items: dict[Identity, dict[str, Any]] = field(default_factory=dict)  # ident -> {annotator: object}
    accepted: dict[Identity, str] = field(default_factory=dict)  # ident -> how it was accepted
    decided: set = field(default_factory=set)

    def run(self) -> None:
        for name, aset in sorted(self.sets.items()):
            for ident, obj in _identities(aset).items():
                self.items.setdefault(ident, {})[name] = obj
        order = ("span", "event", "argument", "attribution")
        for ident in sorted(self.items, key=lambda i: (order.index(i[0]), key_of(i))):
            how = self._decide(ident)
            if how and all(n in self.accepted for n in _needs(ident)):
                self.accepted[ident] = how

    def _decide(self, ident: Identity) -> str | None:
        k, n = len(self.items[ident]), len(self.sets)
        decision = self.decisions.get((self.doc.id, key_of(ident)))
        if decision is not None:
            self.decided.add(ident)
            return f"adjudicator decision, {k}/{n}" if decision else None
        if k == n:
            return "unanimous"
        if self.strategy == "majority" and k * 2 > n:
            return f"majority {k}/{n}"
        return None

    def disagreements(self) -> list[Disagreement]:
        names = tuple(sorted(self.sets))
        at_offsets: dict[tuple, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for ident, who in self.items.items():
            if ident[0] == "span":
                for name in who:
                    at_offsets[(ident[1], ident[3], ident[4])][name].append(ident[2])
        out = []
        for ident, who in sorted(self.items.items(), key=lambda kv: key_of(kv[0])):
            if len(who) == len(names):
                continue
            anchor = _anchor(ident)
            said = at_offsets.get((anchor[1], anchor[3], anchor[4]), {})
            out.append(Disagreement(
                self.doc.id, key_of(ident), ident[0], anchor[1], _label(ident), anchor[3], anchor[4],
                self.doc.text[anchor[3]:anchor[4]], tuple(sorted(who)), names,
                {name: sorted(said.get(name, [])) for name in names}, ident in self.accepted, ident in self.decided))
        return out


def _anchor(ident: Identity) -> Identity:
    """The span a disagreement is shown at: the span itself, the trigger, the argument span, or the cue."""
    if ident[0] == "span":
        return ident
    if ident[0] == "event":
        return ident[2]
    return ident[3] if ident[0] == "argument" else ident[1]


def _label(ident: Identity) -> str:
    """Span label, event type, argument role, or "attribution"."""
    if ident[0] == "span":
        return ident[2]
    return ident[1] if ident[0] == "event" else ident[2] if ident[0] == "argument" else "attribution"


# --- building the gold set ----------------------------------------------------------------------


def _gold_set(vote: _Vote, adjudicator: str, time: str) -> AnnotationSet:
    source = ", ".join(sorted(vote.sets))

    def prov(ident: Identity) -> Provenance:
        return Provenance(adjudicator, GOLD, time, "human", f"{DETAIL_PREFIX}{source} ({vote.accepted[ident]})")

    accepted = sorted(vote.accepted, key=key_of)
    span_ids: dict[Identity, str] = {}
    spans = []
    for ident in (i for i in accepted if i[0] == "span"):
        _, layer, label, start, end = ident
        span_ids[ident] = _fresh(f"{layer[:3]}-{start}-{end}", span_ids.values())
        spans.append(Span(span_ids[ident], start, end, vote.doc.text[start:end], label, layer, prov(ident)))
    events = _gold_events(vote, accepted, span_ids, prov)
    attributions = _gold_attributions(vote, accepted, span_ids, prov)
    return AnnotationSet(GOLD, tuple(spans), tuple(events), tuple(attributions))


def _fresh(base: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    n, out = 1, base
    while out in taken:
        n += 1
        out = f"{base}.{n}"
    return out


def _gold_events(vote: _Vote, accepted: list[Identity], span_ids: Mapping[Identity, str],
                 prov: Callable[[Identity], Provenance]) -> list[Event]:
    args: dict[Identity, list[Argument]] = defaultdict(list)
    for ident in (i for i in accepted if i[0] == "argument"):
        args[ident[1]].append(Argument(ident[2], span_ids[ident[3]], prov(ident)))
    events, ids = [], []
    for ident in (i for i in accepted if i[0] == "event"):
        ids.append(_fresh("E-" + span_ids[ident[2]], ids))
        events.append(Event(ids[-1], span_ids[ident[2]], ident[1], tuple(args[ident]), prov(ident)))
    return events


def _gold_attributions(vote: _Vote, accepted: list[Identity], span_ids: Mapping[Identity, str],
                       prov: Callable[[Identity], Provenance]) -> list[Attribution]:
    gold_ids: dict[Identity, str] = {}
    for ident in (i for i in accepted if i[0] == "attribution"):
        gold_ids[ident] = _fresh("A-" + span_ids[ident[1]], gold_ids.values())
    out = []
    for ident, gid in gold_ids.items():
        parent = _parent(vote, ident)
        out.append(Attribution(gid, span_ids[ident[1]], span_ids[ident[2]] if ident[2] else None,
                               span_ids[ident[3]], prov(ident), gold_ids.get(parent) if parent else None))
    return out


def _parent(vote: _Vote, ident: Identity) -> Identity | None:
    """The parent's identity, as the first annotator (by name) who nested this attribution saw it."""
    for name, at in sorted(vote.items[ident].items()):
        if at.parent is None:
            continue
        aset = vote.sets[name]
        by_id = {s.id: s for s in aset.spans}
        parent = next((p for p in aset.attributions if p.id == at.parent), None)
        if parent is not None:
            return _attribution_identity(parent, by_id)
    return None


# --- the verb -----------------------------------------------------------------------------------


def _is_own(gold: AnnotationSet, adjudicator: str) -> bool:
    """True when every item of ``gold`` was made by an earlier adjudication of this adjudicator."""
    provs = [s.provenance for s in gold.spans] + [e.provenance for e in gold.events] + \
        [a.provenance for a in gold.attributions]
    return all(p.agent == adjudicator and p.detail.startswith(DETAIL_PREFIX) for p in provs)


def adjudicate(docs: Iterable[Document], *, adjudicator: str, annotators: Sequence[str] | None = None,
               strategy: str = "unanimous", decisions: Decisions | None = None, force: bool = False,
               report: AdjudicationReport | None = None, time: str | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[tuple[Document, list[Disagreement]]]:
    """Every document with its gold set (re)built from its annotator sets, and its disagreements.

    Documents nobody labelled pass through unchanged.  ``decisions`` maps (doc id, disagreement key)
    to accept / reject (see :func:`load_decisions`).  Conflicts with an existing gold set are kept and
    listed in ``report.conflicts`` unless ``force``.
    """
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}", value=strategy, allowed=list(STRATEGIES))
    if not adjudicator or not adjudicator.strip():
        raise InputError("adjudication needs the adjudicator's name", hint="pass --adjudicator NAME")
    report = report if report is not None else AdjudicationReport()
    report.strategy, report.adjudicator = strategy, adjudicator
    time = time or utc_now()
    for doc in docs:
        if progress:
            progress(1)
        names = doc.annotators() if annotators is None else [a for a in annotators if a in doc.annotators()]
        sets = {n: doc.annotation_set(annotator_set(n)) for n in names}
        sets = {n: s for n, s in sets.items() if not s.is_empty()}
        if not sets:
            yield doc, []
            continue
        vote = _Vote(doc, sets, strategy, decisions or {})
        vote.run()
        found = vote.disagreements()
        _count(report, vote, found)
        yield _settle(doc, _gold_set(vote, adjudicator, time), adjudicator, force, report), found


def _count(report: AdjudicationReport, vote: _Vote, found: list[Disagreement]) -> None:
    report.documents += 1
    report.disagreements += len(found)
    report.decisions_used += len(vote.decided)
    kinds = [i[0] for i in vote.accepted]
    report.spans += kinds.count("span")
    report.events += kinds.count("event")
    report.attributions += kinds.count("attribution")


def _settle(doc: Document, new: AnnotationSet, adjudicator: str, force: bool, report: AdjudicationReport) -> Document:
    """Apply the never-overwrite-silently rule; returns the document to write."""
    old = doc.annotation_set(GOLD)
    if set(_identities(old)) == set(_identities(new)):
        report.unchanged += 1
        return doc
    if not old.is_empty() and not _is_own(old, adjudicator):
        if not force:
            report.conflicts.append(doc.id)
            return doc
        report.overwritten.append(doc.id)
    report.written += 1
    return doc.with_set(new)


# --- the decisions file -------------------------------------------------------------------------


def load_decisions(path: Path) -> dict[tuple[str, str], bool]:
    """(doc id, key) -> accept, from the disagreements JSONL the adjudicator edited.

    Lines without ``"accept"`` are undecided and skipped; a malformed line raises InputError naming it.
    """
    out: dict[tuple[str, str], bool] = {}
    try:
        records = list(jsonl.read(path, error=InputError, hint="each line is one disagreement object", missing_ok=False))
    except OSError as exc:
        raise InputError(f"cannot read decisions: {exc.strerror or exc}", path=str(path),
                         hint="give the disagreements file written by `spanbank adjudicate --out`") from None
    for lineno, rec in records:
        if not isinstance(rec.get("doc"), str) or not isinstance(rec.get("key"), str):
            raise InputError("a decision needs the \"doc\" and \"key\" of the listed disagreement", path=str(path),
                             line=lineno, value=rec, hint="keep the lines written by --out, add \"accept\"")
        if "accept" not in rec:
            continue
        if not isinstance(rec["accept"], bool):
            raise InputError(f"\"accept\" must be true or false, not {rec['accept']!r}", path=str(path), line=lineno,
                             value=rec["accept"], allowed=["true", "false"])
        out[(rec["doc"], rec["key"])] = rec["accept"]
    return out
