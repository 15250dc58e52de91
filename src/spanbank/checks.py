"""The per-document checks: every invariant of one document and its annotations, on the raw records.

One home for the rules that ``spanbank validate`` applies to a corpus file by file (:mod:`.validate`)
and that an import applies to documents before they are written (:func:`document_problems`, used by
:mod:`.formats`): neither stage imports the other.  Pure: the model, the record format and the error
family; no files are read here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable

from .errors import CorpusError, Problem
from .model import ANNOTATOR_PREFIX, GOLD, LAYERS, MACHINE_PREFIX, SILVER, Document, LabelSchema, document_id, offset_problem, set_status
from .records import annotation_records, document_record

KINDS = ("span", "event", "attribution")
SHOWN = 20  # problems listed in a refusal (validate lists every one)


def refusal(problems: list[Problem], what: str, hint: str, error: type = CorpusError):
    """An error listing the first problems (file:line: message), one per line; ``error.problems`` holds all of them."""
    shown = "".join(f"\n  {p}" for p in problems[:SHOWN]) + (f"\n  ... and {len(problems) - SHOWN} more"
                                                              if len(problems) > SHOWN else "")
    exc = error(f"{what}: {len(problems)} problem(s); {hint}:{shown}")
    exc.problems = problems
    return exc


PLACE = re.compile(r"\A(?P<path>.+):(?P<line>\d+)\Z")


def document_problems(docs: Iterable[tuple[Document, str]], schema: LabelSchema) -> list[Problem]:
    """The same checks on in-memory documents (an import, before it is written), each with where it came from.

    ``docs`` are (document, source) pairs.  A problem of an annotation is placed where its
    provenance detail says it was read (``file:line``, as the importers record it), else at ``source``.
    """
    problems: list[Problem] = []
    checker = RecordChecker("<document>", "<annotation>", schema, problems)
    for doc, source in docs:
        records = list(annotation_records(doc))
        first = len(problems)
        checker.document((0, document_record(doc)), list(enumerate(records)))
        for i in range(first, len(problems)):
            p = problems[i]
            detail = str(((records[p.line] if p.path == "<annotation>" else {}).get("prov") or {}).get("detail", ""))
            place = PLACE.match(detail)
            problems[i] = (Problem(place["path"], int(place["line"]), p.message) if place
                           else Problem(source, None, f"document {doc.id}: {p.message}"))
    return problems


class RecordChecker:
    """Per-document checks; appends to the shared problem list."""

    def __init__(self, dpath: str, apath: str, schema: LabelSchema, problems: list[Problem]) -> None:
        self.dpath, self.apath = dpath, apath
        self.schema, self.problems = schema, problems
        self.labels = {layer: set(schema.span_labels(layer)) for layer in LAYERS}
        self.event_types = {ev.name: ev for ev in schema.event_types}

    def bad(self, path: str, line: int, message: str) -> None:
        self.problems.append(Problem(path, line, message))

    def document(self, doc: tuple[int, dict], group: list[tuple[int, dict]]) -> None:
        line, rec = doc
        text = rec.get("text")
        if not isinstance(text, str) or not text:
            self.bad(self.dpath, line, f"document {rec.get('id')!r} has no text")
            return
        if rec["id"] != document_id(text):
            self.bad(self.dpath, line, f"document id {rec['id']!r} does not match its text (expected {document_id(text)!r})")
        if "\x00" in text:
            self.bad(self.dpath, line, f"text has a NUL character at offset {text.index(chr(0))} (no stored text holds "
                                       "NUL: ingest rejects it; remove it from the source and ingest again)")
        self._date(line, rec.get("date"))
        for key in ("sections", "paragraphs", "sentences", "tokens"):
            self._boundaries(line, key, text, rec.get(key) or ())
        self._annotations(text, group)

    def _boundaries(self, line: int, key: str, text: str, pairs: list) -> None:
        """Fast path: one pass of comparisons; the slow, explaining check runs only on the first bad pair."""
        n = len(text)
        try:
            if all(0 <= s < e <= n for s, e in pairs):
                return
        except (TypeError, ValueError):
            pass
        for pair in pairs:
            ok = isinstance(pair, list) and len(pair) == 2
            problem = offset_problem(text, *pair) if ok else f"{pair!r} is not [start, end]"
            if problem:
                self.bad(self.dpath, line, f"{key}: {problem}")
                return

    def _date(self, line: int, date: Any) -> None:
        if date is None:
            return
        try:
            dt.date.fromisoformat(date)
        except (TypeError, ValueError):
            self.bad(self.dpath, line, f"date {date!r} is not a valid YYYY-MM-DD date")

    def _annotations(self, text: str, group: list[tuple[int, dict]]) -> None:
        by_set: dict[str, dict[str, tuple[int, dict]]] = {}
        for line, r in group:
            set_name, kind, rid = r.get("set"), r.get("kind"), r.get("id")
            if not isinstance(set_name, str) or not (set_name in (SILVER, GOLD) or set_name.startswith((ANNOTATOR_PREFIX, MACHINE_PREFIX))):
                self.bad(self.apath, line, f"annotation set {set_name!r} is not silver, silver/<name>, gold or annotator/<name>")
                continue
            if kind not in KINDS:
                self.bad(self.apath, line, f"kind {kind!r} is not one of {', '.join(KINDS)}")
                continue
            ids = by_set.setdefault(set_name, {})
            if rid in ids:
                self.bad(self.apath, line, f"id {rid!r} is used twice in set {set_name} (first on line {ids[rid][0]})")
                continue
            ids[rid] = (line, r)
            self._provenance(line, set_name, r.get("prov"))
            if kind == "span":
                self._span(line, text, r)
        for records in by_set.values():
            for line, r in records.values():
                if r["kind"] == "event":
                    self._event(line, r, records)
                elif r["kind"] == "attribution":
                    self._attribution(line, r, records)

    def _provenance(self, line: int, set_name: str, prov: Any) -> None:
        if not isinstance(prov, dict) or not prov.get("agent"):
            self.bad(self.apath, line, f"provenance {prov!r} needs at least an agent")
            return
        expected = set_status(set_name)
        if prov.get("status") != expected:
            self.bad(self.apath, line, f"status {prov.get('status')!r} in set {set_name} (expected {expected!r})")

    def _span(self, line: int, text: str, r: dict) -> None:
        problem = offset_problem(text, r.get("start"), r.get("end"), r.get("text"))
        if problem:
            self.bad(self.apath, line, f"span {r.get('id')!r}: {problem}")
        layer, label = r.get("layer"), r.get("label")
        if layer not in LAYERS:
            self.bad(self.apath, line, f"span {r.get('id')!r}: layer {layer!r} is not one of {', '.join(LAYERS)}")
        elif label not in self.labels[layer]:
            allowed = ", ".join(self.schema.span_labels(layer)[:10])
            self.bad(self.apath, line, f"label {label!r} is not in schema {self.schema.version} for layer {layer} "
                                       f"(allowed: {allowed}, ...)")

    def _ref(self, line: int, owner: str, ref: Any, records: dict, layer: str, labels: tuple[str, ...] = ()) -> dict | None:
        target = records.get(ref)
        if target is None or target[1].get("kind") != "span":
            self.bad(self.apath, line, f"{owner} points to span {ref!r}, which does not exist in this set")
            return None
        span = target[1]
        if span.get("layer") != layer or (labels and span.get("label") not in labels):
            want = f"{layer} span" + (f" labelled {'/'.join(labels)}" if labels else "")
            self.bad(self.apath, line, f"{owner} points to {span.get('layer')} span {ref!r} "
                                       f"labelled {span.get('label')!r} (expected a {want})")
        return span

    def _event(self, line: int, r: dict, records: dict) -> None:
        ev_type = self.event_types.get(r.get("type"))
        if ev_type is None:
            self.bad(self.apath, line, f"event type {r.get('type')!r} is not in schema {self.schema.version}")
        trigger = self._ref(line, f"event {r.get('id')!r} trigger", r.get("trigger"), records, "events")
        if trigger and trigger.get("label") != r.get("type"):
            self.bad(self.apath, line, f"event {r.get('id')!r} has type {r.get('type')!r} but its trigger is "
                                       f"labelled {trigger.get('label')!r}")
        for arg in r.get("arguments") or ():
            span = self._ref(line, f"argument {arg.get('role')!r} of event {r.get('id')!r}", arg.get("span"),
                             records, "entities")
            if ev_type is None:
                continue
            role = ev_type.role(arg.get("role"))
            if role is None:
                allowed = ", ".join(r_.name for r_ in ev_type.roles)
                self.bad(self.apath, line, f"role {arg.get('role')!r} is not allowed for {ev_type.name} (allowed: {allowed})")
            elif span and role.entity_types and span.get("label") not in role.entity_types:
                self.bad(self.apath, line, f"role {role.name} of {ev_type.name} takes {', '.join(role.entity_types)}, "
                                           f"not {span.get('label')!r} ({span.get('text')!r})")

    def _attribution(self, line: int, r: dict, records: dict) -> None:
        owner = f"attribution {r.get('id')!r}"
        self._ref(line, f"{owner} cue", r.get("cue"), records, "attribution", ("CUE",))
        self._ref(line, f"{owner} content", r.get("content"), records, "attribution", ("CONTENT",))
        if r.get("source") is not None:
            self._ref(line, f"{owner} source", r.get("source"), records, "attribution", ("SOURCE",))
        parent, seen = r.get("parent"), {r.get("id")}
        while parent is not None:
            target = records.get(parent)
            if target is None or target[1].get("kind") != "attribution":
                self.bad(self.apath, line, f"{owner} has parent {parent!r}, which is not an attribution in this set")
                return
            if parent in seen:
                self.bad(self.apath, line, f"{owner} is nested in itself (parent cycle through {parent!r})")
                return
            seen.add(parent)
            parent = target[1].get("parent")
