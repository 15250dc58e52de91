"""Corpus <-> Doccano: the project from the schema, and the bulk push (pull lives in ``pull.py``).

Who sees what: the project is *collaborative*, so annotators see the pushed pre-annotations (an
imported label belongs to the importing account, and a non-collaborative project would hide it from
everyone else).  The pushing account (``spanbank_pusher`` in the meta) is the machine and must not
be used to label.

Push sends the ``gold`` set when a document has one, else ``silver``.  Events go as trigger spans
plus trigger->argument relations typed by role; attributions as CUE spans plus CUE->SOURCE
('SOURCE') and CUE->CONTENT ('CONTENT') relations.  Every row carries the meta keys
``spanbank_id``, ``spanbank_rev`` (a hash of exactly what was sent, in UTF-16 offsets),
``spanbank_set`` and ``spanbank_pusher``: the same keys on every row and never null (``rows.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import orjson
from filelock import FileLock, Timeout

from ..confidence import document_confidence
from ..errors import SyncError
from ..model import LabelSchema
from ..schema import load_schema, render_guidelines
from ..store import Corpus, atomic_writer
from ..validate import require_valid
from . import refresh
from .client import DoccanoClient
from .pull import DETAIL_PREFIX, REJECTS, RESOLVED, PullReport, annotator_sets, pull, pulled_set
from .rows import (
    META_KEYS,
    Background,
    Progress,
    Utf16,
    fingerprint,
    iter_payloads,
    payload,
    pushed_set,
    revision,
    utf16_slice,
)
from .server import open_private, private_dir

ORDERS = ("corpus", "uncertainty")
ORDER_REPORTED = 20  # how many of the first uploaded ids the report lists
DEFAULT_CHUNK = 10_000  # documents per import task (~28 MB of JSONL for 2.8 KB documents)
LEAD_CHUNK = 500  # the first chunk: small, so the server starts importing while the rest is built


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
    worker_note: str | None = None  # the task worker was busy (alive) when the push started
    order: list[str] = field(default_factory=list)  # --order uncertainty: the first uploaded ids, least confident first
    refresh: dict[str, Any] | None = None  # --refresh-silver: refresh.RefreshReport as a dict

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def journal_path(state: Path, client: DoccanoClient, project: dict) -> Path:
    key = hashlib.sha256(f"{client.url}|{project['id']}|{project.get('created_at')}".encode()).hexdigest()[:16]
    return state / f"push-{key}.jsonl"


def _read_journal(path: Path) -> tuple[dict[str, str], list[str | None]]:
    """(spanbank id -> rev of every confirmed chunk, the import task of each chunk begun and never confirmed
    (None: killed before its upload started a task))."""
    begun: dict[int, dict[str, str]] = {}
    tasks: dict[int, str] = {}
    done: dict[str, str] = {}
    if path.exists():
        for raw in path.read_bytes().splitlines():
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # a line torn by a kill: its chunk counts as begun, not done
            if "begin" in rec:
                begun[rec["begin"]] = rec["docs"]
                tasks.pop(rec["begin"], None)
            elif "task" in rec:
                tasks[rec["task"]] = rec["id"]
            elif rec.get("done") in begun:
                done.update(begun.pop(rec["done"]))
    return done, [tasks.get(number) for number in begun]


def _settle(client: DoccanoClient, task_ids: list[str | None], timeout: float) -> None:
    """Let the import tasks of an interrupted push that still wait in the local broker run first (they will
    run once a worker takes them; reconciling before that would be undone by their copies)."""
    if client.worker is None:
        return  # a remote broker cannot be seen: the count checks after each chunk catch late copies
    for task_id in task_ids:
        if task_id and client.worker.queued_task(task_id):
            with contextlib.suppress(SyncError):  # its own failure is the old push's; reconcile sees the outcome
                client.wait_task(task_id, timeout=timeout)


def _journal_append(path: Path, record: dict) -> None:
    with open_private(path) as fh:
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



def push(client: DoccanoClient, project: dict, corpus: Corpus, *, state: Path, schema: LabelSchema | None = None,
         chunk_size: int = DEFAULT_CHUNK, progress: Progress = None, task_timeout: float = 1800.0,
         order: str = "corpus", refresh_silver: bool = False) -> PushReport:
    """Bulk-import every document not yet on the server, in chunks, resumably.  Idempotent.

    Refuses a corpus that does not validate against ``schema`` (default: the project's schema file),
    before anything is sent.  One push per project at a time (a lock file beside the journal; a second
    one is refused).  Pipelined: a builder thread writes the next chunk file while the server imports
    the current one; validation and the worker check run while the first chunk is built.  Chunks still
    go one at a time, each journalled before its upload and count-checked after it.  The first chunk is
    small (``LEAD_CHUNK``) so the server starts early; the others have ``chunk_size`` documents.  Chunk
    files live in ``.push-<key>/`` of the state folder, removed at the start (a killed push's) and end.

    ``order``: ``corpus`` (id order) or ``uncertainty`` (least-confident first, by
    :func:`spanbank.confidence.document_confidence`; Doccano lists examples in upload order).
    ``refresh_silver``: afterwards, replace the pre-annotations of the examples no human touched with the
    current silver (:mod:`.refresh`; counts in ``report.refresh``).
    """
    if order not in ORDERS:
        raise SyncError(f"unknown push order {order!r}", value=order, allowed=list(ORDERS))
    private_dir(state)
    pid = project["id"]
    journal = journal_path(state, client, project)
    schema = schema or load_schema()
    with _push_lock(journal, project), _chunk_folder(journal) as tmp, Background() as background:
        valid = background.submit(require_valid, corpus, schema, what="not pushed: the corpus does not validate")
        worker = background.submit(client.worker_problem)  # ~1 s (a celery round trip): overlapped
        report = PushReport()
        known, pending = _read_journal(journal)
        if pending or client.count_examples(pid) != len(known):
            valid.result()
            _settle(client, pending, task_timeout)
            known, report.duplicates_removed = reconcile(client, pid)
            _journal_reset(journal, known)
            report.reconciled = True
        builder = _ChunkBuilder(corpus, dict(known), client.me()["username"], tmp, chunk_size, report, order)
        background.submit(builder.run, background.stop)
        report.worker_note = client.worker_note(worker.result())
        valid.result()  # refuses an invalid corpus before the first upload; the first chunk was built meanwhile
        while (chunk := builder.next()) is not None:
            if progress and chunk.skipped:
                progress(chunk.skipped)
            if chunk.path is not None:
                _send_chunk(client, pid, chunk.path, chunk.batch, journal, known, report, task_timeout, progress)
                chunk.path.unlink()
        if refresh_silver:
            refreshed = refresh.refresh_silver(client, project, corpus)
            report.refresh = refreshed.as_dict()
            if refreshed.refreshed:  # the journal's revisions follow the server's
                done = set(refreshed.refreshed)
                revs = {doc.id: revision(doc) for doc in corpus.documents() if doc.id in done}
                _journal_append(journal, {"begin": "refresh", "docs": revs})
                _journal_append(journal, {"done": "refresh"})
    return report


@contextlib.contextmanager
def _push_lock(journal: Path, project: dict) -> Iterator[None]:
    """Hold the project's push lock (``push-<key>.lock``) or refuse: two pushes would both upload everything."""
    lock = FileLock(str(journal.with_suffix(".lock")), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise SyncError(f"another push to Doccano project {project['name']!r} is running",
                        path=str(journal.with_suffix(".lock")),
                        hint="wait for it to finish, then push again (it sends only what is still missing)") from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _chunk_folder(journal: Path) -> Iterator[Path]:
    """This project's chunk folder, empty; removes chunk folders that no running push holds (killed pushes')."""
    state = journal.parent
    for stale in state.glob(".push-*"):
        lock_file = state / f"push-{stale.name[len('.push-'):]}.lock"
        if stale.name == f".{journal.stem}":
            continue
        if not lock_file.exists():  # an older version's random name: nobody can be using it under our lock scheme
            shutil.rmtree(stale, ignore_errors=True)
            continue
        other = FileLock(str(lock_file), mode=0o600)
        with contextlib.suppress(Timeout):
            other.acquire(timeout=0)
            try:
                shutil.rmtree(stale, ignore_errors=True)
            finally:
                other.release()
    folder = state / f".{journal.stem}"
    shutil.rmtree(folder, ignore_errors=True)
    private_dir(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
                 report: PushReport, order: str = "corpus") -> None:
        self.corpus, self.known, self.pusher, self.folder, self.report = corpus, known, pusher, folder, report
        self.order = order
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
        rows = self._rows() if self.order == "corpus" else self._rows_by_confidence()
        for doc_id, row in rows:
            if stop.is_set():
                return
            if doc_id in self.known:
                skipped += 1
                self.report.already_on_server += 1
                if self.known[doc_id] != row["spanbank_rev"]:
                    self.report.changed_since_push.append(doc_id)
                continue
            if out is None:
                path = self.folder / f"chunk-{number}.jsonl"
                out = path.open("wb")
            out.write(orjson.dumps(row) + b"\n")
            batch[doc_id] = row["spanbank_rev"]
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

    def _rows(self) -> Iterator[tuple[str, dict]]:
        for doc in self.corpus.documents():
            yield doc.id, payload(doc, self.pusher)

    def _rows_by_confidence(self) -> Iterator[tuple[str, dict]]:
        """Documents already on the server as they come, then the others least-confident first (ties: id
        order); their rows wait in a spill file of the chunk folder, only (confidence, offset) in memory."""
        index: list[tuple[float, int, int, str]] = []
        with (self.folder / "by-confidence.jsonl").open("w+b") as spill:
            for doc in self.corpus.documents():
                row = payload(doc, self.pusher)
                if doc.id in self.known:
                    yield doc.id, row
                    continue
                index.append((document_confidence(doc).value, len(index), spill.tell(), doc.id))
                spill.write(orjson.dumps(row) + b"\n")
            index.sort()
            self.report.order = [doc_id for *_, doc_id in index[:ORDER_REPORTED]]
            for _, _, offset, doc_id in index:
                spill.seek(offset)
                yield doc_id, orjson.loads(spill.readline())

    def _hand_over(self, item: _Chunk | BaseException | None, stop: threading.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                self.ready.put(item, timeout=0.2)
                return


def _send_chunk(client: DoccanoClient, project_id: int, path: Path, batch: dict[str, str], journal: Path,
                known: dict[str, str], report: PushReport, task_timeout: float, progress: Progress) -> None:
    number = report.chunks + 1
    before = client.count_examples(project_id)
    _journal_append(journal, {"begin": number, "docs": batch})
    task_id = client.upload(project_id, path)
    _journal_append(journal, {"task": number, "id": task_id})
    result = client.wait_task(task_id, timeout=task_timeout) or {}
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


__all__ = ["DETAIL_PREFIX", "META_KEYS", "REJECTS", "RESOLVED", "PullReport", "PushReport", "SetupReport", "Utf16",
           "annotator_sets", "ensure_project", "fingerprint", "iter_payloads", "payload", "pull", "pulled_set", "push",
           "pushed_set", "require_project", "revision", "utf16_slice"]
