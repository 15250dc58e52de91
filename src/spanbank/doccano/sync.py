"""Corpus <-> Doccano: project from the schema, bulk push, per-annotator pull, safe merge.

Offsets: the corpus counts Python code points; Doccano's UI counts UTF-16 code units (the project is
kept in ``grapheme_mode=False``).  :class:`Utf16` converts at this boundary, both ways.

Who sees what: the project is *collaborative*, so annotators see the pushed pre-annotations (an
imported label belongs to the importing account, and a non-collaborative project would hide it from
everyone else).  Each label on the server still records its ``user``; pull reads labels per example
through the REST listing and rebuilds one ``annotator/<username>`` set per human: the labels that
person made, plus the pushed pre-annotations still present when that person confirmed the example.
The pushing account (``spanbank_pusher`` in the meta) is the machine and must not be used to label.

Push sends the ``gold`` set when a document has one, else ``silver``.  Events go as trigger spans
plus trigger->argument relations typed by role; attributions as CUE spans plus CUE->SOURCE
('SOURCE') and CUE->CONTENT ('CONTENT') relations.  Every row carries the meta keys
``spanbank_id``, ``spanbank_rev`` (a hash of exactly what was sent, in UTF-16 offsets),
``spanbank_set`` and ``spanbank_pusher``: the same keys on every row and never null.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import os
import queue
import re
import tempfile
import threading
import zipfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import orjson

from ..errors import SyncError
from ..model import (
    GOLD,
    SILVER,
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
from ..schema import render_guidelines
from ..store import Corpus, atomic_writer
from .client import DoccanoClient

Progress = Callable[[int], None] | None
META_KEYS = ("spanbank_id", "spanbank_rev", "spanbank_set", "spanbank_pusher")
REJECTS = "doccano-rejects.jsonl"
ASTRAL = re.compile("[\U00010000-\U0010ffff]")
DEFAULT_CHUNK = 10_000  # documents per import task (~28 MB of JSONL for 2.8 KB documents)
LEAD_CHUNK = 500  # the first chunk: small, so the server starts importing while the rest is built
LINK_TYPES = ("SOURCE", "CONTENT")


# --- offsets ------------------------------------------------------------------------------------


class Utf16:
    """Code point <-> UTF-16 code unit offsets over one text (only astral characters differ)."""

    def __init__(self, text: str) -> None:
        self.astral = [m.start() for m in ASTRAL.finditer(text)]
        self.starts16 = [a + k for k, a in enumerate(self.astral)]
        self.length16 = len(text) + len(self.astral)

    def to16(self, i: int) -> int:
        return i + bisect.bisect_left(self.astral, i)

    def from16(self, j: int) -> int | None:
        """The code point offset of UTF-16 offset ``j``; None when it is outside or splits a surrogate pair."""
        if not isinstance(j, int) or j < 0 or j > self.length16:
            return None
        k = bisect.bisect_left(self.starts16, j)
        if k and j == self.starts16[k - 1] + 1:
            return None
        return j - k


def utf16_slice(text: str, start: int, end: int) -> str:
    """What Doccano's UI shows for ``[start, end)`` in UTF-16 units (JavaScript ``substring``)."""
    return text.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le", errors="replace")


# --- what goes to the server ---------------------------------------------------------------------


def pushed_set(doc: Document) -> AnnotationSet:
    """The set a document sends: gold when it has one, else silver."""
    gold = doc.annotation_set(GOLD)
    return gold if not gold.is_empty() else doc.annotation_set(SILVER)


def fingerprint(entities: list[dict], relations: list[dict]) -> str:
    """A hash of spans and relations independent of ids and order (same for what we send and what comes back)."""
    by_id = {e["id"]: (e["start_offset"], e["end_offset"], e["label"]) for e in entities}
    ents = sorted(by_id[e["id"]] for e in entities)
    rels = sorted((by_id[r["from_id"]], by_id[r["to_id"]], r["type"]) for r in relations
                  if r["from_id"] in by_id and r["to_id"] in by_id)
    return hashlib.sha256(orjson.dumps([ents, rels])).hexdigest()[:16]


def payload(doc: Document, pusher: str = "") -> dict[str, Any]:
    """The RelationExtraction JSONL row of one document (UTF-16 offsets, numeric per-document ids)."""
    aset, u16 = pushed_set(doc), Utf16(doc.text)
    spans = sorted(aset.spans, key=lambda s: (s.start, s.end, s.label, s.id))
    number = {s.id: i for i, s in enumerate(spans, start=1)}
    entities = [{"id": number[s.id], "start_offset": u16.to16(s.start), "end_offset": u16.to16(s.end), "label": s.label}
                for s in spans]
    relations = [{"id": i, "from_id": number[r.head], "to_id": number[r.tail], "type": r.type}
                 for i, r in enumerate((r for r in aset.relations() if r.head in number and r.tail in number), start=1)]
    return {"text": doc.text, "entities": entities, "relations": relations, "spanbank_id": doc.id,
            "spanbank_rev": fingerprint(entities, relations), "spanbank_set": aset.name or SILVER,
            "spanbank_pusher": pusher}


def revision(doc: Document) -> str:
    return payload(doc)["spanbank_rev"]


# --- project set-up ------------------------------------------------------------------------------


@dataclass
class SetupReport:
    project_id: int
    created: bool = False
    settings_changed: list[str] = field(default_factory=list)
    labels_created: list[str] = field(default_factory=list)
    labels_updated: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def project_settings(schema: LabelSchema) -> dict[str, Any]:
    return {"project_type": "SequenceLabeling", "resourcetype": "SequenceLabelingProject", "random_order": False,
            "collaborative_annotation": True, "allow_overlapping": True, "use_relation": True, "grapheme_mode": False,
            "allow_member_to_create_label_type": False, "guideline": render_guidelines(schema).strip()}


def label_specs(schema: LabelSchema) -> dict[str, dict[str, dict[str, Any]]]:
    """Span and relation types the project must have: name -> colour and shortcut."""
    spans = {lab.name: {"background_color": lab.color, "prefix_key": None, "suffix_key": lab.shortcut}
             for _, lab in schema.all_labels()}
    relations = {name: {"background_color": _colour(name), "prefix_key": None, "suffix_key": None}
                 for name in schema.role_names()}
    for lab in schema.attribution_links:
        relations[lab.name] = {"background_color": lab.color, "prefix_key": None, "suffix_key": None}
    return {"span": spans, "relation": relations}


def _colour(name: str) -> str:
    return "#" + hashlib.sha256(name.encode()).hexdigest()[:6]


def find_project(client: DoccanoClient, name: str) -> dict | None:
    return next((p for p in client.projects() if p["name"] == name), None)


def require_project(client: DoccanoClient, name: str) -> dict:
    """The named project, checked for the settings sync relies on."""
    project = find_project(client, name)
    if project is None:
        raise SyncError(f"Doccano at {client.url} has no project {name!r}", hint="run `spanbank doccano setup`")
    wrong = [k for k in ("collaborative_annotation", "use_relation", "allow_overlapping") if not project.get(k)]
    wrong += ["grapheme_mode"] if project.get("grapheme_mode") else []
    if wrong:
        raise SyncError(f"Doccano project {name!r} has the wrong settings: {', '.join(wrong)}",
                        hint="run `spanbank doccano setup` to fix them")
    return project


def ensure_project(client: DoccanoClient, schema: LabelSchema, name: str) -> SetupReport:
    """Create or update the project and its labels from the schema.  Idempotent; extra server labels are drift."""
    wanted = {"name": name, "description": f"spanbank corpus, schema {schema.name} {schema.version}",
              **project_settings(schema)}
    project = find_project(client, name)
    if project is None:
        project = client.create_project(wanted)
        report = SetupReport(project["id"], created=True)
    else:
        report = SetupReport(project["id"])
        changes = {k: v for k, v in wanted.items() if k not in ("project_type", "resourcetype") and project.get(k) != v}
        if changes:
            client.update_project(project["id"], {**changes, "resourcetype": wanted["resourcetype"]})
            report.settings_changed = sorted(changes)
    for kind, specs in label_specs(schema).items():
        _ensure_labels(client, project["id"], kind, specs, report)
    return report


def _ensure_labels(client: DoccanoClient, project_id: int, kind: str, specs: dict[str, dict], report: SetupReport) -> None:
    existing = {lab["text"]: lab for lab in client.label_types(project_id, kind)}
    report.drift += [f"{kind} label {name!r} is on the server but not in the schema" for name in existing
                     if name not in specs]
    for name, spec in specs.items():
        current = existing.get(name)
        if current is None:
            client.create_label_type(project_id, kind, {"text": name, "text_color": "#ffffff", **spec})
            report.labels_created.append(f"{kind}:{name}")
            continue
        changes = {k: v for k, v in spec.items() if current.get(k) != v}
        if changes:
            client.update_label_type(project_id, kind, current["id"], changes)
            report.labels_updated.append(f"{kind}:{name}")


# --- push ----------------------------------------------------------------------------------------


@dataclass
class PushReport:
    uploaded: int = 0
    already_on_server: int = 0
    changed_since_push: list[str] = field(default_factory=list)
    duplicates_removed: int = 0
    chunks: int = 0
    reconciled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def journal_path(state: Path, client: DoccanoClient, project: dict) -> Path:
    key = hashlib.sha256(f"{client.url}|{project['id']}|{project.get('created_at')}".encode()).hexdigest()[:16]
    return state / f"push-{key}.jsonl"


def _read_journal(path: Path) -> tuple[dict[str, str], bool]:
    """(spanbank id -> rev of every confirmed chunk, whether a chunk was begun and never confirmed)."""
    begun: dict[int, dict[str, str]] = {}
    done: dict[str, str] = {}
    if path.exists():
        for raw in path.read_bytes().splitlines():
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # a line torn by a kill: its chunk counts as begun, not done
            if "begin" in rec:
                begun[rec["begin"]] = rec["docs"]
            elif rec.get("done") in begun:
                done.update(begun.pop(rec["done"]))
    return done, bool(begun)


def _journal_append(path: Path, record: dict) -> None:
    with path.open("ab") as fh:
        fh.write(orjson.dumps(record) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def _journal_reset(path: Path, known: dict[str, str]) -> None:
    with atomic_writer(path) as fh:
        fh.write(orjson.dumps({"begin": 0, "docs": known}) + b"\n" + orjson.dumps({"done": 0}) + b"\n")


def reconcile(client: DoccanoClient, project_id: int) -> tuple[dict[str, str], int]:
    """List the server's examples; delete importer-made copies (keeping the oldest); id -> rev on the server."""
    copies: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for ex in client.examples(project_id, limit=500):
        meta = ex.get("meta") or {}
        if isinstance(meta, dict) and meta.get("spanbank_id"):
            copies[meta["spanbank_id"]].append((ex["id"], meta.get("spanbank_rev", "")))
    extra = [eid for found in copies.values() for eid, _ in sorted(found)[1:]]
    for i in range(0, len(extra), 500):
        client.delete_examples(project_id, extra[i:i + 500])
    return {sid: sorted(found)[0][1] for sid, found in copies.items()}, len(extra)


def check_worker(client: DoccanoClient) -> None:
    _raise_worker_problem(client, client.worker_problem())


def push(client: DoccanoClient, project: dict, corpus: Corpus, *, state: Path, chunk_size: int = DEFAULT_CHUNK,
         progress: Progress = None, task_timeout: float = 1800.0) -> PushReport:
    """Bulk-import every document not yet on the server, in chunks, resumably.  Idempotent.

    Pipelined: a builder thread writes the next chunk file while the server imports the current one,
    and the worker check runs while the first chunk is built.  Chunks still go one at a time, each
    journalled before its upload and count-checked after it.  The first chunk is small (``LEAD_CHUNK``)
    so the server starts early; the others have ``chunk_size`` documents.
    """
    state.mkdir(parents=True, exist_ok=True)
    pid = project["id"]
    with tempfile.TemporaryDirectory(dir=state, prefix=".push-") as tmp, _Background() as background:
        worker = background.submit(client.worker_problem)  # ~1 s (a celery round trip): overlapped
        report, journal = PushReport(), journal_path(state, client, project)
        known, pending = _read_journal(journal)
        if pending or client.count_examples(pid) != len(known):
            known, report.duplicates_removed = reconcile(client, pid)
            _journal_reset(journal, known)
            report.reconciled = True
        builder = _ChunkBuilder(corpus, dict(known), client.me()["username"], Path(tmp), chunk_size, report)
        background.submit(builder.run, background.stop)
        _raise_worker_problem(client, worker.result())
        while (chunk := builder.next()) is not None:
            if progress and chunk.skipped:
                progress(chunk.skipped)
            if chunk.path is not None:
                _send_chunk(client, pid, chunk.path, chunk.batch, journal, known, report, task_timeout, progress)
                chunk.path.unlink()
    return report


class _Background(ThreadPoolExecutor):
    """Helper threads that are told to stop (``stop``) and joined before the caller's ``with`` ends."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="spanbank-doccano")
        self.stop = threading.Event()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Chunk:
    skipped: int  # documents already on the server, passed since the previous chunk
    path: Path | None = None  # a JSONL file to import (None: only ``skipped`` to report)
    batch: dict[str, str] = field(default_factory=dict)  # spanbank id -> rev of the rows in ``path``


class _ChunkBuilder:
    """Streams the corpus into chunk files of the documents not on the server, one chunk ahead of the uploads.

    At most three chunk files exist at once (being imported, ready, being written).  Owns
    ``report.already_on_server`` and ``report.changed_since_push`` until it has handed over its last chunk.
    """

    def __init__(self, corpus: Corpus, known: dict[str, str], pusher: str, folder: Path, chunk_size: int,
                 report: PushReport) -> None:
        self.corpus, self.known, self.pusher, self.folder, self.report = corpus, known, pusher, folder, report
        self.sizes = [min(LEAD_CHUNK, chunk_size), chunk_size]
        self.ready: queue.Queue[_Chunk | BaseException | None] = queue.Queue(maxsize=1)

    def next(self) -> _Chunk | None:
        """The next chunk (None after the last); re-raises the builder's error."""
        item = self.ready.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def run(self, stop: threading.Event) -> None:
        try:
            self._build(stop)
        except BaseException as exc:  # handed to the uploading thread, which re-raises it
            self._hand_over(exc, stop)

    def _build(self, stop: threading.Event) -> None:
        skipped, number, out, batch = 0, 0, None, {}
        for doc in self.corpus.documents():
            if stop.is_set():
                return
            row = payload(doc, self.pusher)
            if doc.id in self.known:
                skipped += 1
                self.report.already_on_server += 1
                if self.known[doc.id] != row["spanbank_rev"]:
                    self.report.changed_since_push.append(doc.id)
                continue
            if out is None:
                path = self.folder / f"chunk-{number}.jsonl"
                out = path.open("wb")
            out.write(orjson.dumps(row) + b"\n")
            batch[doc.id] = row["spanbank_rev"]
            if len(batch) >= self.sizes[min(number, 1)]:
                out.close()
                self._hand_over(_Chunk(skipped, path, batch), stop)
                skipped, number, out, batch = 0, number + 1, None, {}
        if out is not None:
            out.close()
            self._hand_over(_Chunk(skipped, path, batch), stop)
        elif skipped:
            self._hand_over(_Chunk(skipped), stop)
        self._hand_over(None, stop)

    def _hand_over(self, item: _Chunk | BaseException | None, stop: threading.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                self.ready.put(item, timeout=0.2)
                return


def _raise_worker_problem(client: DoccanoClient, problem: str | None) -> None:
    if problem:
        raise SyncError(f"the Doccano task worker at {client.url} is not working ({problem}); imports and exports "
                        "would wait for it", hint="start it with `spanbank doccano up` (or ask the server's admin)")


def _send_chunk(client: DoccanoClient, project_id: int, path: Path, batch: dict[str, str], journal: Path,
                known: dict[str, str], report: PushReport, task_timeout: float, progress: Progress) -> None:
    number = report.chunks + 1
    before = client.count_examples(project_id)
    _journal_append(journal, {"begin": number, "docs": batch})
    result = client.wait_task(client.upload(project_id, path), timeout=task_timeout) or {}
    if client.count_examples(project_id) != before + len(batch):
        on_server, removed = reconcile(client, project_id)
        report.duplicates_removed += removed
        report.reconciled = True
        missing = [i for i in batch if i not in on_server]
        if missing:
            errors = result.get("error") if isinstance(result, dict) else result
            raise SyncError(f"Doccano imported {len(batch) - len(missing)} of {len(batch)} documents of chunk {number}"
                            f" (missing e.g. {missing[:3]}); import errors: {str(errors)[:400]}",
                            hint="fix the cause and run `spanbank doccano push` again (it resumes)")
    _journal_append(journal, {"done": number})
    known.update(batch)
    report.uploaded += len(batch)
    report.chunks = number
    if progress:
        progress(len(batch))


# --- pull ----------------------------------------------------------------------------------------


@dataclass
class PullReport:
    examples: int = 0
    unchanged: int = 0
    updated: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    not_in_corpus: list[str] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    rejects_path: str | None = None
    round: int | None = None  # the annotation round this pull recorded (None: nothing new came in)

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
    """Read every annotator's labels back into ``annotator/<name>`` sets.  Idempotent; conflicts need ``force``.

    The corpus is read (text digests and revisions) while the server exports; the export is then
    checked against that in one pass, and only the examples someone touched (labels differ from
    what was pushed, or confirmed) cost REST calls and a second, selective read of the corpus.
    """
    report, pid = PullReport(), project["id"]
    corpus.path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=corpus.path, prefix=".spill-doccano-") as tmp, _Background() as background:
        local = background.submit(_local_state, corpus, background.stop)
        check_worker(client)
        archive = client.export(pid, Path(tmp) / "export.zip", only_approved=only_approved)
        confirmed = {ex["id"] for ex in client.examples(pid, confirmed="true")}
        with (Path(tmp) / "rows.jsonl").open("w+b") as spill:
            rows = _scan_export(archive, local.result(), confirmed, only_approved, force, spill, report, progress)
            updates = _collect_updates(client, pid, corpus, schema, rows, spill, report) if rows else {}
    if updates:
        with corpus.lock():
            corpus.write(updates.get(doc.id, doc) for doc in corpus.documents())
            report.round = corpus.add_round({"time": utc_now(), "project": project["name"], "documents": len(report.updated),
                                             "annotators": report.annotators})["round"]
    _write_rejects(corpus, report)
    return report


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


def _scan_export(archive: Path, local: dict[str, tuple[bytes, str]], confirmed: set[int], only_approved: bool,
                 force: bool, spill: IO[bytes], report: PullReport, progress: Progress) -> dict[str, int]:
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
        if text_ok and rev != row["spanbank_rev"]:
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


def _collect_updates(client: DoccanoClient, pid: int, corpus: Corpus, schema: LabelSchema, rows: dict[str, int],
                     spill: IO[bytes], report: PullReport) -> dict[str, Document]:
    """Rebuild the annotator sets of the spilled rows' documents (after checking every spilled text)."""
    def row_of(doc_id: str) -> dict:
        spill.seek(rows[doc_id])
        return orjson.loads(spill.readline())

    for doc in corpus.documents():
        if doc.id in rows:
            _check_text(doc, row_of(doc.id))
    updates: dict[str, Document] = {}
    names = _Names.fetch(client, pid)
    annotators: set[str] = set()
    for doc in (d for d in corpus.documents() if d.id in rows):
        sets = annotator_sets(client, pid, doc, row_of(doc.id), names, schema, report.rejects)
        annotators.update(s.name.split("/", 1)[1] for s in sets)
        new = _with_annotator_sets(doc, sets)
        if new.annotations != doc.annotations:
            updates[doc.id] = new
            report.updated.append(doc.id)
        else:
            report.unchanged += 1
    report.annotators = sorted(annotators)
    return updates


def _check_text(doc: Document, row: dict) -> None:
    if row["text"] == doc.text:
        return
    at = next((i for i, (a, b) in enumerate(zip(doc.text, row["text"])) if a != b), min(len(doc.text), len(row["text"])))
    raise SyncError(f"document {doc.id} (Doccano example {row['id']}): the text on the server differs from the "
                    f"corpus from code point {at} ({doc.text[at:at + 20]!r} here, {row['text'][at:at + 20]!r} there)",
                    value=doc.id, hint="texts must not be edited in Doccano; restore it there or re-ingest the article")


def _with_annotator_sets(doc: Document, sets: list[AnnotationSet]) -> Document:
    """``doc`` with its annotator sets replaced by ``sets`` (Doccano is the source of the human layers)."""
    keep = {k: v for k, v in doc.annotations.items() if not k.startswith("annotator/")}
    keep.update({s.name: s for s in sets if not s.is_empty()})
    return Document(**{**doc.__dict__, "annotations": dict(sorted(keep.items()))})


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
                   rejects: list[dict]) -> list[AnnotationSet]:
    """One ``annotator/<username>`` set per human who labelled or confirmed this example."""
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
        own = {sid: _span(doc, good[sid], user(uid), user, machine) for sid in sorted(ids) if sid in good}
        out.append(_Builder(annotator_set(user(uid)), own, good, schema, reject).build(rels, names, user))
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


def _span(doc: Document, converted: tuple, owner: str, user: Callable[[int], str], machine: set[int]) -> Span:
    raw, start, end, label, layer = converted
    creator = raw["user"]
    detail = "" if user(creator) == owner else ("confirmed pre-annotation" if creator in machine
                                                else f"made by {user(creator)}")
    prov = Provenance(owner, GOLD, _iso(raw.get("updated_at") or raw.get("created_at")), "human", detail)
    return Span(f"d{raw['id']}", start, end, doc.text[start:end], label, layer, prov)


class _Builder:
    """Spans, then events from trigger spans + role relations, then attributions from CUE spans + links."""

    def __init__(self, name: str, own: dict[int, Span], good: dict[int, tuple], schema: LabelSchema,
                 reject: _Rejecter) -> None:
        self.name, self.own, self.good, self.schema, self.reject = name, own, good, schema, reject

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
                prov = Provenance(user(r["user"]), GOLD, _iso(r.get("updated_at") or r.get("created_at")), "human")
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
            if len(content) > 1 or len(source) > 1:
                self.reject("span", raw, "CUE", "CUE span with more than one CONTENT or SOURCE link: the first is used")
            found.append(Attribution(f"a{sid}", s.id, spans[source[0]].id if source else None, spans[content[0]].id,
                                     s.provenance))
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


def iter_payloads(docs: Iterator[Document], pusher: str = "") -> Iterator[bytes]:
    """JSONL rows for a raw bulk import of ``docs`` (used by the benchmark as the baseline file)."""
    for doc in docs:
        yield orjson.dumps(payload(doc, pusher)) + b"\n"
