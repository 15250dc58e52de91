"""Rebuilding ``annotator/<name>`` sets from one Doccano example's labels (REST listings, UTF-16 offsets).

Who made what: the project is collaborative; each label on the server records its ``user``.  One
``annotator/<username>`` set per human: the labels that person made, plus the pushed pre-annotations
still present when that person confirmed the example.  The pushing account (``spanbank_pusher`` in the
meta) is the machine.  Events come back from trigger spans + role relations, attributions from CUE
spans + CUE->SOURCE/CONTENT links (one attribution per CONTENT link: the parts of a split quotation).

Ownership: everything a pull makes carries the provenance detail ``doccano <project>#<example id>``;
:func:`pulled_set` recognises such sets, and only those are a pull's to replace or remove.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from ..errors import SyncError
from ..formats.doccano import LINK_TYPES, Utf16
from ..model import (
    GOLD,
    AnnotationSet,
    Argument,
    Attribution,
    Document,
    Event,
    LabelSchema,
    Provenance,
    Span,
    annotator_set,
)
from .client import DoccanoClient

DETAIL_PREFIX = "doccano "  # provenance detail of everything a pull makes: ``doccano <project>#<example id>``
LEGACY_SPAN_ID = re.compile(r"d[0-9]+")


@dataclass
class Names:
    """Server ids -> names, fetched once per pull (only when some example needs them)."""

    spans: dict[int, str]
    relations: dict[int, str]
    users: dict[int, str]

    @classmethod
    def fetch(cls, client: DoccanoClient, project_id: int) -> "Names":
        users = {m["user"]: m["username"] for m in client.members(project_id)}
        with contextlib.suppress(SyncError):
            users.update({u["id"]: u["username"] for u in client.users()})
        return cls({t["id"]: t["text"] for t in client.label_types(project_id, "span")},
                   {t["id"]: t["text"] for t in client.label_types(project_id, "relation")}, users)


def pulled_set(aset: AnnotationSet) -> bool:
    """Whether a pull made this set: every span, event and attribution's provenance detail starts with
    ``doccano `` (spans pulled before that marker existed count too: id ``d<number>``, kind human, and
    the old details).  Only such sets are a pull's to replace or remove."""
    items = (*aset.spans, *aset.events, *aset.attributions)
    return all(_pulled(item.provenance, item.id if isinstance(item, Span) else None) for item in items)


def _pulled(prov: Provenance, span_id: str | None) -> bool:
    if prov.detail.startswith(DETAIL_PREFIX):
        return True
    legacy = prov.kind == "human" and (prov.detail in ("", "confirmed pre-annotation") or prov.detail.startswith("made by "))
    return legacy and (span_id is None or LEGACY_SPAN_ID.fullmatch(span_id) is not None)


def _iso(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _layer(schema: LabelSchema, label: str) -> str | None:
    for layer in ("entities", "events", "attribution"):
        if label in schema.span_labels(layer):
            return layer
    return None


def annotator_sets(client: DoccanoClient, pid: int, doc: Document, row: dict, names: Names, schema: LabelSchema,
                   rejects: list[dict], origin: str = DETAIL_PREFIX.strip()) -> list[AnnotationSet]:
    """One ``annotator/<username>`` set per human who labelled or confirmed this example.

    Every provenance detail starts with ``<origin>#<example id>`` (``doccano <project>#17``), then
    ``; confirmed pre-annotation`` or ``; made by <user>`` where the set's owner did not make it.
    """
    eid = row["id"]
    spans, relations, states = client.spans(pid, eid), client.relations(pid, eid), client.states(pid, eid)
    user = lambda uid: names.users.get(uid, f"user-{uid}")  # noqa: E731
    machine = {uid for uid, name in names.users.items() if name == row.get("spanbank_pusher")}
    reject = _Rejecter(doc.id, eid, user, rejects)
    good = _convert_spans(doc, spans, names, schema, reject)
    humans = ({s["user"] for s in spans} | {r["user"] for r in relations} | {s["confirmed_by"] for s in states}) - machine
    confirmers = {s["confirmed_by"] for s in states}
    out = []
    for uid in sorted(humans, key=user):
        mine = lambda item: item["user"] == uid or (uid in confirmers and item["user"] in machine)  # noqa: E731,B023
        rels = [r for r in relations if mine(r)]
        ids = {s["id"] for s in spans if mine(s)} | {r["from_id"] for r in rels} | {r["to_id"] for r in rels}
        origin_of = f"{origin}#{eid}"
        own = {sid: _span(doc, good[sid], user(uid), user, machine, origin_of) for sid in sorted(ids) if sid in good}
        out.append(_Builder(annotator_set(user(uid)), own, good, schema, reject, origin_of).build(rels, names, user))
    return out


@dataclass
class _Rejecter:
    doc: str
    example: int
    user: Callable[[int], str]
    into: list[dict]

    def __call__(self, kind: str, item: dict, value: Any, reason: str) -> None:
        record = {"doc": self.doc, "example": self.example, "kind": kind, "doccano_id": item["id"],
                  "user": self.user(item["user"]), "value": value, "reason": reason}
        if record not in self.into:
            self.into.append(record)


def _convert_spans(doc: Document, spans: list[dict], names: Names, schema: LabelSchema,
                   reject: _Rejecter) -> dict[int, tuple[dict, int, int, str, str]]:
    """Doccano span id -> (raw, start, end, label, layer) for every span that is valid in code points."""
    u16, good = Utf16(doc.text), {}
    for s in spans:
        label = names.spans.get(s["label"], f"#{s['label']}")
        layer = _layer(schema, label)
        start, end = u16.from16(s["start_offset"]), u16.from16(s["end_offset"])
        if layer is None:
            reject("span", s, label, f"label {label!r} is not in schema {schema.name} {schema.version}")
        elif start is None or end is None or start >= end:
            reject("span", s, [s["start_offset"], s["end_offset"]],
                   f"UTF-16 offsets [{s['start_offset']}, {s['end_offset']}) do not select characters of the "
                   f"text (UTF-16 length {u16.length16})")
        else:
            good[s["id"]] = (s, start, end, label, layer)
    return good


def _span(doc: Document, converted: tuple, owner: str, user: Callable[[int], str], machine: set[int],
          origin: str) -> Span:
    raw, start, end, label, layer = converted
    creator = raw["user"]
    detail = origin if user(creator) == owner else origin + ("; confirmed pre-annotation" if creator in machine
                                                             else f"; made by {user(creator)}")
    prov = Provenance(owner, GOLD, _iso(raw.get("updated_at") or raw.get("created_at")), "human", detail)
    return Span(f"d{raw['id']}", start, end, doc.text[start:end], label, layer, prov)


class _Builder:
    """Spans, then events from trigger spans + role relations, then attributions from CUE spans + links."""

    def __init__(self, name: str, own: dict[int, Span], good: dict[int, tuple], schema: LabelSchema,
                 reject: _Rejecter, origin: str) -> None:
        self.name, self.own, self.good, self.schema, self.reject = name, own, good, schema, reject
        self.origin = origin

    def build(self, rels: list[dict], names: Names, user: Callable[[int], str]) -> AnnotationSet:
        spans = self.own
        args: dict[int, list[Argument]] = defaultdict(list)
        links: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for r in sorted(rels, key=lambda r: r["id"]):
            self._relation(r, names, user, spans, args, links)
        events = [Event(f"e{sid}", s.id, s.label, tuple(args[sid]), s.provenance)
                  for sid, s in spans.items() if s.layer == "events"]
        attributions = self._attributions(spans, links)
        return AnnotationSet(self.name, tuple(sorted(spans.values(), key=lambda s: s.id)),
                             tuple(sorted(events, key=lambda e: e.id)), tuple(sorted(attributions, key=lambda a: a.id)))

    def _relation(self, r: dict, names: Names, user: Callable[[int], str], spans: dict[int, Span],
                  args: dict[int, list[Argument]], links: dict[int, dict[str, list[int]]]) -> None:
        kind = names.relations.get(r["type"], f"#{r['type']}")
        head, tail = spans.get(r["from_id"]), spans.get(r["to_id"])
        if head is None or tail is None:
            self.reject("relation", r, kind, "an end of this relation is a rejected span")
        elif head.layer == "events":
            event_type = self.schema.event_type(head.label)
            if event_type is None or event_type.role(kind) is None:
                allowed = [role.name for role in event_type.roles] if event_type else []
                self.reject("relation", r, kind, f"{kind!r} is not a role of {head.label} (allowed: {', '.join(allowed)})")
            else:
                prov = Provenance(user(r["user"]), GOLD, _iso(r.get("updated_at") or r.get("created_at")), "human",
                                  self.origin)
                args[r["from_id"]].append(Argument(kind, tail.id, prov))
        elif head.label == "CUE" and kind in LINK_TYPES:
            links[r["from_id"]][kind].append(r["to_id"])
        else:
            self.reject("relation", r, kind, f"a {kind!r} relation from a {head.label} span is neither an event "
                                             "argument nor a CUE->SOURCE/CONTENT link")

    def _attributions(self, spans: dict[int, Span], links: dict[int, dict[str, list[int]]]) -> list[Attribution]:
        found = []
        for sid, s in spans.items():
            if s.label != "CUE":
                continue
            content, source = links[sid]["CONTENT"], links[sid]["SOURCE"]
            raw = self.good[sid][0]
            if not content:
                self.reject("span", raw, "CUE", "CUE span without a CONTENT link: kept as a span, no attribution built")
                continue
            if len(source) > 1:
                self.reject("span", raw, "CUE", "CUE span with more than one SOURCE link: the first is used")
            # several CONTENT links of one cue are the parts of a split quotation: one attribution per part,
            # sharing cue and source (the schema's convention), in text order
            parts = sorted(dict.fromkeys(content), key=lambda c: (spans[c].start, spans[c].end))
            for i, part in enumerate(parts):
                found.append(Attribution(f"a{sid}" + (f"-{i + 1}" if i else ""), s.id,
                                         spans[source[0]].id if source else None, spans[part].id, s.provenance))
        return _nest(found, {s.id: s for s in spans.values()})


def _nest(attributions: list[Attribution], spans: dict[str, Span]) -> list[Attribution]:
    """An attribution whose CUE lies inside another's CONTENT gets the innermost such one as parent."""
    out = []
    for a in attributions:
        cue = spans[a.cue]
        outer = [b for b in attributions if b is not a and spans[b.content].start <= cue.start
                 and cue.end <= spans[b.content].end]
        parent = min(outer, key=lambda b: spans[b.content].end - spans[b.content].start, default=None)
        out.append(Attribution(a.id, a.cue, a.source, a.content, a.provenance, parent.id if parent else None))
    return out


__all__ = ["DETAIL_PREFIX", "Names", "annotator_sets", "pulled_set"]
