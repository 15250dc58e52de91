"""Validation: every invariant of a corpus, every problem, each with file:line and the offending value.

Works on the raw records (not on model objects) so that a broken corpus can still be read to the
end and every problem reported; streams both files, so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .errors import CorpusError, Problem
from .model import ANNOTATOR_PREFIX, GOLD, LAYERS, SILVER, Document, LabelSchema, document_id, offset_problem, set_status, MACHINE_PREFIX
from .store import JOURNAL, MANIFEST_FIX, Corpus, annotation_records, document_record, merge_join, sha256_file
from . import jsonl

KINDS = ("span", "event", "attribution")
SHOWN = 20  # problems listed in a refusal (validate lists every one)


def validate(corpus: Corpus, schema: LabelSchema, progress: Callable[[int], None] | None = None,
             unreleased_ok: bool = False) -> list[Problem]:
    """All problems of ``corpus`` against ``schema`` (an empty list means valid).

    ``unreleased_ok`` skips the comparison of the files with the last release manifest (a corpus
    being edited differs from it); a manifest that cannot be read is a problem either way.
    """
    problems: list[Problem] = []
    if not corpus.exists():
        return [Problem(str(corpus.documents_path), None, "corpus has no documents file (run `spanbank ingest` first)")]
    checker = _Checker(str(corpus.documents_path), str(corpus.annotations_path), schema, problems)
    for doc, group in _groups(corpus, problems):
        checker.document(doc, group)
        if progress:
            progress(1)
    problems.extend(manifest_problems(corpus, schema, hashes=not unreleased_ok))
    if (corpus.path / JOURNAL).exists():
        problems.append(Problem(str(corpus.path / JOURNAL), None, "a write was killed while it renamed its files into "
                                "place: the next writing command finishes it (e.g. `spanbank release`)"))
    return problems


def require_valid(corpus: Corpus, schema: LabelSchema, progress: Callable[[int], None] | None = None,
                  unreleased_ok: bool = True, what: str | None = None) -> None:
    """The gate of every command that writes a dataset or a release: :func:`validate`, or CorpusError listing file:line.

    ``unreleased_ok``: a corpus that differs from its last release passes (a build of work in
    progress; publish checks the release separately); ``what`` starts the refusal's message.
    """
    problems = validate(corpus, schema, progress, unreleased_ok=unreleased_ok)
    if problems:
        raise refusal(problems, what or f"{corpus.path} does not validate",
                      "fix them (`spanbank validate` lists every one); nothing was written")


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
    checker = _Checker("<document>", "<annotation>", schema, problems)
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


def _lines(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    return jsonl.read(path, lambda line, message: problems.append(Problem(str(path), line, message)))


def _groups(corpus: Corpus, problems: list[Problem]):
    """Yield ((line, doc record), [(line, annotation record)]) merging the two sorted files, reporting disorder."""
    dpath, apath = str(corpus.documents_path), str(corpus.annotations_path)

    def documents() -> Iterator[tuple[int, dict[str, Any]]]:
        last_doc = ""
        for line, rec in _lines(corpus.documents_path, problems):
            doc_id = rec.get("id")
            if not isinstance(doc_id, str):
                problems.append(Problem(dpath, line, f"document id {doc_id!r} is not a string"))
                continue
            if doc_id <= last_doc:
                what = "duplicate" if doc_id == last_doc else "out of order"
                problems.append(Problem(dpath, line, f"document id {doc_id!r} is {what} (ids must be unique and sorted)"))
            last_doc = max(last_doc, doc_id)
            yield line, rec

    def orphan(line: int, rec: dict[str, Any]) -> None:
        problems.append(Problem(apath, line, f"annotation for unknown document {rec.get('doc')!r} "
                                             "(or annotations out of order)"))

    return merge_join(documents(), _lines(corpus.annotations_path, problems), orphan)


class _Checker:
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


def manifest_problems(corpus: Corpus, schema: LabelSchema, hashes: bool = True) -> list[Problem]:
    """A manifest that cannot be read; with ``hashes``, its file and schema hashes against what is on disk now.

    (Nothing to check before a first release.)
    """
    try:
        manifest = corpus.read_manifest()
    except CorpusError as exc:
        return [Problem(exc.path or str(corpus.manifest_path), exc.line, f"{exc.message}; {exc.hint}", exc.offset)]
    if manifest is None:
        return []
    out, mpath = [], str(corpus.manifest_path)
    edit = corpus.manifest_edit(manifest)
    if edit:
        return [Problem(mpath, None, f"{edit}; {MANIFEST_FIX}")]
    if not hashes:
        return []
    for name, digest in (manifest.get("files") or {}).items():
        path = corpus.path / name
        actual = sha256_file(path) if path.exists() else "missing"
        if actual != digest:
            out.append(Problem(mpath, None, f"{name} has sha256 {actual[:12]}..., the manifest of "
                                            f"{manifest.get('version')} says {digest[:12]}... (run `spanbank release`)"))
    recorded = (manifest.get("schema") or {}).get("sha256")
    if recorded and recorded != schema.sha256:
        out.append(Problem(mpath, None, f"schema hash {schema.sha256[:12]}... differs from the released "
                                        f"{recorded[:12]}... (release again after a schema change)"))
    return out


