"""Pull: every annotator's labels from Doccano back into ``annotator/<name>`` sets, merged safely.

Who made what: the project is collaborative; each label on the server records its ``user``.  Pull
reads labels per example through the REST listing and rebuilds one ``annotator/<username>`` set per
human: the labels that person made, plus the pushed pre-annotations still present when that person
confirmed the example.  The pushing account (``spanbank_pusher`` in the meta) is the machine.

Ownership: a pull replaces or removes only the sets a pull made, recognised by the provenance detail
``doccano <project>#<example id>`` of every item (:func:`pulled_set`).  An ``annotator/<name>`` set
from anywhere else (``import --set annotator/bob``) is never touched; when Doccano has labels of an
annotator of that name for the document, they are not written and the report lists the set.

Concurrency: the REST reads happen outside the corpus lock; the sets are merged into the documents
as they are under the lock (:class:`_Merge`), so a writer that ran meanwhile keeps its change.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
import threading
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import orjson

from ..errors import SyncError
from ..model import (
    ANNOTATOR_PREFIX,
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
    utc_now,
)
from .. import jsonl
from ..store import Corpus, atomic_writer
from .client import DoccanoClient
from .rows import LINK_TYPES, Background, Progress, Utf16, fingerprint, revision

REJECTS = "doccano-rejects.jsonl"
RESOLVED = "doccano-resolved.jsonl"  # conflicts resolved by `pull --force`, one line per (project, document)
DETAIL_PREFIX = "doccano "  # provenance detail of everything a pull makes: ``doccano <project>#<example id>``
LEGACY_SPAN_ID = re.compile(r"d[0-9]+")


@dataclass
class PullReport:
    examples: int = 0
    unchanged: int = 0
    updated: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # edited locally since the push (updated only with force)
    resolved: list[str] = field(default_factory=list)  # conflicts this pull resolved (force): recorded in RESOLVED
    kept_sets: list[str] = field(default_factory=list)  # "doc: annotator/<name>" not made by a pull, left as they were
    changed_during_pull: list[str] = field(default_factory=list)  # another writer changed them while this pull read
    not_in_corpus: list[str] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    rejects_path: str | None = None
    round: int | None = None  # the annotation round this pull recorded (None: nothing new came in)
    worker_note: str | None = None  # the task worker was busy (alive) when the pull started

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Names:
    """Server ids -> names, fetched once per pull (only when some example needs them)."""

    spans: dict[int, str]
    relations: dict[int, str]
    users: dict[int, str]

    @classmethod
    def fetch(cls, client: DoccanoClient, project_id: int) -> "_Names":
        users = {m["user"]: m["username"] for m in client.members(project_id)}
        with contextlib.suppress(SyncError):
            users.update({u["id"]: u["username"] for u in client.users()})
        return cls({t["id"]: t["text"] for t in client.label_types(project_id, "span")},
                   {t["id"]: t["text"] for t in client.label_types(project_id, "relation")}, users)


def pull(client: DoccanoClient, project: dict, corpus: Corpus, schema: LabelSchema, *, only_approved: bool = False,
         force: bool = False, progress: Progress = None) -> PullReport:
    """Read every annotator's labels back into ``annotator/<name>`` sets.  Idempotent.

    The corpus is read (text digests and revisions) while the server exports; the export is then
    checked against that in one pass, and only the examples someone touched (labels differ from
    what was pushed, or confirmed) cost REST calls and a second, selective read of the corpus.
    Nothing is written from those reads: under the corpus lock the sets are merged into the documents
    as they are *then*, so a writer that ran meanwhile keeps its change (see :class:`_Merge`).

    Only sets a pull made are replaced (:func:`pulled_set`); another ``annotator/<name>`` set stays as
    it is and is reported in ``kept_sets``.  A document edited locally since its push is a conflict:
    left alone, unless ``force``, which takes Doccano's labels for it and records the resolution in
    ``doccano-resolved.jsonl`` so that later pulls treat it as any other document (until it changes again).
    """
    report, pid = PullReport(), project["id"]
    corpus.path.mkdir(parents=True, exist_ok=True)
    resolved = _read_resolved(corpus, project["name"])
    with tempfile.TemporaryDirectory(dir=corpus.path, prefix=".spill-doccano-") as tmp, Background() as background:
        local = background.submit(_local_state, corpus, background.stop)
        report.worker_note = client.check_worker()
        archive = client.export(pid, Path(tmp) / "export.zip", only_approved=only_approved)
        confirmed = {ex["id"] for ex in client.examples(pid, confirmed="true")}
        with (Path(tmp) / "rows.jsonl").open("w+b") as spill:
            rows = _scan_export(archive, local.result(), resolved, confirmed, only_approved, force, spill, report,
                                progress)
            found = _collect_sets(client, pid, corpus, schema, rows, spill, report,
                                  f"{DETAIL_PREFIX}{project['name']}") if rows else {}
    if any(f.changes for f in found.values()) or (force and report.conflicts):
        with corpus.lock():
            merge = _Merge(found, resolved, force, report)
            corpus.write(map(merge, corpus.documents()))
            _record_resolved(corpus, project["name"], merge.resolutions)
            if report.updated:
                report.round = corpus.add_round({"time": utc_now(), "project": project["name"],
                                                 "documents": len(report.updated), "annotators": report.annotators})["round"]
    else:
        for doc_id, f in found.items():
            report.unchanged += 1
            report.kept_sets += [f"{doc_id}: {name}" for name in f.kept]
    for names in (report.updated, report.conflicts, report.resolved, report.kept_sets, report.changed_during_pull):
        names.sort()
    _write_rejects(corpus, report)
    return report


@dataclass
class _Found:
    """What the read phase made of one touched example, and the document version it was made against."""

    server_rev: str  # the revision pushed (the example's spanbank_rev)
    read: Document  # the document as this pull read it
    sets: list[AnnotationSet]
    changes: bool  # whether those sets change the document as read
    kept: list[str]  # set names not made by a pull that Doccano also has labels for


class _Merge:
    """Applied to each document *under the corpus lock*: puts the pulled sets into its current version.

    A document changed since the read (another writer) gets them all the same when its text is the
    same and it is not (now) a conflict; the other writer's change is kept either way.
    """

    def __init__(self, found: dict[str, _Found], resolved: dict[str, tuple[str, str]], force: bool,
                 report: PullReport) -> None:
        self.found, self.resolved, self.force, self.report = found, resolved, force, report
        self.resolutions: dict[str, tuple[str, str]] = {}

    def __call__(self, doc: Document) -> Document:
        f, report = self.found.get(doc.id), self.report
        if f is None:
            return doc
        rev, same_text = revision(doc), doc.text == f.read.text
        if doc != f.read:
            report.changed_during_pull.append(doc.id)
        if (rev != f.server_rev and self.resolved.get(doc.id) != (f.server_rev, rev)) or not same_text:
            if doc.id not in report.conflicts:
                report.conflicts.append(doc.id)
            if not self.force or not same_text:
                return doc
            self.resolutions[doc.id] = (f.server_rev, rev)
            report.resolved.append(doc.id)
        new, kept = _with_annotator_sets(doc, f.sets)
        report.kept_sets += [f"{doc.id}: {name}" for name in kept]
        if new.annotations == doc.annotations:
            report.unchanged += 1
            return doc
        report.updated.append(doc.id)
        return new


def _read_resolved(corpus: Corpus, project: str) -> dict[str, tuple[str, str]]:
    """Document id -> (server revision, local revision) of the conflicts resolved for ``project``."""
    path = corpus.path / RESOLVED
    if not path.exists():
        return {}
    return {rec["doc"]: (rec["server_rev"], rec["local_rev"]) for _, rec in jsonl.read(path)
            if rec.get("project") == project}


def _record_resolved(corpus: Corpus, project: str, resolutions: dict[str, tuple[str, str]]) -> None:
    """Add (or replace) resolution records; the caller holds the corpus lock."""
    if not resolutions:
        return
    path, now = corpus.path / RESOLVED, utc_now()
    records = [rec for _, rec in jsonl.read(path)] if path.exists() else []
    records = [r for r in records if not (r.get("project") == project and r.get("doc") in resolutions)]
    records += [{"project": project, "doc": doc_id, "server_rev": server, "local_rev": local, "time": now,
                 "resolution": "doccano"} for doc_id, (server, local) in sorted(resolutions.items())]
    with atomic_writer(path) as fh:
        fh.writelines(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in records)


def _text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _local_state(corpus: Corpus, stop: threading.Event) -> dict[str, tuple[bytes, str]]:
    """Spanbank id -> (digest of the text, revision of the pushed set) for every document of the corpus."""
    state = {}
    for doc in corpus.documents():
        if stop.is_set():
            break
        state[doc.id] = (_text_digest(doc.text), revision(doc))
    return state


def _scan_export(archive: Path, local: dict[str, tuple[bytes, str]], resolved: dict[str, tuple[str, str]],
                 confirmed: set[int], only_approved: bool, force: bool, spill: IO[bytes], report: PullReport,
                 progress: Progress) -> dict[str, int]:
    """Check each exported row against the corpus; spill the rows to read over REST (spanbank id -> offset).

    Rows without a spanbank id are skipped; a second row for an id is reported as not in the corpus.
    A row whose text differs from the corpus is an error (raised with the details by ``_collect_updates``).
    """
    rows: dict[str, int] = {}
    seen: set[str] = set()
    for row in _export_rows(archive):
        sid = row["spanbank_id"]
        if sid not in local or sid in seen:
            report.not_in_corpus.append(sid)
            continue
        seen.add(sid)
        report.examples += 1
        if progress:
            progress(1)
        digest, rev = local[sid]
        text_ok, is_confirmed = _text_digest(row["text"]) == digest, row["id"] in confirmed
        touched = is_confirmed or fingerprint(row["entities"], row["relations"]) != row["spanbank_rev"]
        if text_ok and (not touched or (only_approved and not is_confirmed)):
            report.unchanged += 1
            continue
        if text_ok and rev != row["spanbank_rev"] and resolved.get(sid) != (row["spanbank_rev"], rev):
            report.conflicts.append(sid)
            if not force:
                continue
        rows[sid] = spill.tell()
        spill.write(orjson.dumps(row) + b"\n")
    report.not_in_corpus.sort()
    report.conflicts.sort()
    return rows


def _export_rows(archive: Path) -> Iterator[dict]:
    """The rows of an export zip that carry a spanbank id, file by file."""
    with zipfile.ZipFile(archive) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith(".jsonl")):
            with zf.open(name) as fh:
                for raw in fh:
                    row = orjson.loads(raw) if raw.strip() else {}
                    if row.get("spanbank_id"):
                        yield row


def _collect_sets(client: DoccanoClient, pid: int, corpus: Corpus, schema: LabelSchema, rows: dict[str, int],
                  spill: IO[bytes], report: PullReport, origin: str) -> dict[str, _Found]:
    """Rebuild the annotator sets of the spilled rows' documents (after checking every spilled text)."""
    def row_of(doc_id: str) -> dict:
        spill.seek(rows[doc_id])
        return orjson.loads(spill.readline())

    for doc in corpus.documents():
        if doc.id in rows:
            _check_text(doc, row_of(doc.id))
    found: dict[str, _Found] = {}
    names = _Names.fetch(client, pid)
    annotators: set[str] = set()
    for doc in (d for d in corpus.documents() if d.id in rows):
        row = row_of(doc.id)
        sets = annotator_sets(client, pid, doc, row, names, schema, report.rejects, origin)
        annotators.update(s.name.split("/", 1)[1] for s in sets)
        new, kept = _with_annotator_sets(doc, sets)
        found[doc.id] = _Found(row["spanbank_rev"], doc, sets, new.annotations != doc.annotations, kept)
    report.annotators = sorted(annotators)
    return found


def _check_text(doc: Document, row: dict) -> None:
    if row["text"] == doc.text:
        return
    at = next((i for i, (a, b) in enumerate(zip(doc.text, row["text"])) if a != b), min(len(doc.text), len(row["text"])))
    raise SyncError(f"document {doc.id} (Doccano example {row['id']}): the text on the server differs from the "
                    f"corpus from code point {at} ({doc.text[at:at + 20]!r} here, {row['text'][at:at + 20]!r} there)",
                    value=doc.id, hint="texts must not be edited in Doccano; restore it there or re-ingest the article")


def _with_annotator_sets(doc: Document, sets: list[AnnotationSet]) -> tuple[Document, list[str]]:
    """``doc`` with its pulled annotator sets replaced by ``sets``, and the names of the ``sets`` not written.

    Doccano is the source of the sets a pull made (:func:`pulled_set`); any other set is kept as it is,
    and a pulled set of the same name is not written (its name is returned instead).
    """
    keep = {k: v for k, v in doc.annotations.items() if not (k.startswith(ANNOTATOR_PREFIX) and pulled_set(v))}
    kept = sorted(s.name for s in sets if s.name in keep and not s.is_empty())
    keep.update({s.name: s for s in sets if not s.is_empty() and s.name not in keep})
    return Document(**{**doc.__dict__, "annotations": dict(sorted(keep.items()))}), kept


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


# --- rebuilding annotator sets -------------------------------------------------------------------


def _iso(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _layer(schema: LabelSchema, label: str) -> str | None:
    for layer in ("entities", "events", "attribution"):
        if label in schema.span_labels(layer):
            return layer
    return None


def annotator_sets(client: DoccanoClient, pid: int, doc: Document, row: dict, names: _Names, schema: LabelSchema,
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


def _convert_spans(doc: Document, spans: list[dict], names: _Names, schema: LabelSchema,
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

    def build(self, rels: list[dict], names: _Names, user: Callable[[int], str]) -> AnnotationSet:
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

    def _relation(self, r: dict, names: _Names, user: Callable[[int], str], spans: dict[int, Span],
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


def _write_rejects(corpus: Corpus, report: PullReport) -> None:
    path = corpus.path / REJECTS
    report.rejects.sort(key=lambda r: (r["doc"], r["kind"], r["doccano_id"], r["user"]))
    if report.rejects:
        with atomic_writer(path) as fh:
            fh.writelines(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in report.rejects)
        report.rejects_path = str(path)
    else:
        path.unlink(missing_ok=True)
