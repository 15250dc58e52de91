"""Push: bulk-import every document not yet on the server, in chunks, resumably (see :func:`push`).

Push sends the row of :mod:`spanbank.formats.doccano` (the ``gold`` set when a document has one, else
``silver``).  The journal and resumption after a kill live in :mod:`.journal`; the threads are a
builder that writes the next chunk file while the server imports the current one, and the checks
(validation, the task worker) overlapped with building the first chunk.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import orjson
from filelock import FileLock, Timeout

from ..confidence import document_confidence
from ..errors import SyncError
from ..formats.doccano import payload, revision
from ..model import LabelSchema
from ..store import Corpus
from ..validate import require_valid
from . import journal as journals
from . import refresh
from .client import DoccanoClient
from .journal import journal_path, reconcile
from .state import private_dir
from .threads import Background, Progress

ORDERS = ("corpus", "uncertainty")
ORDER_REPORTED = 20  # how many of the first uploaded ids the report lists
DEFAULT_CHUNK = 10_000  # documents per import task (~28 MB of JSONL for 2.8 KB documents)
LEAD_CHUNK = 500  # the first chunk: small, so the server starts importing while the rest is built


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


def push(client: DoccanoClient, project: dict, corpus: Corpus, *, state: Path, schema: LabelSchema,
         chunk_size: int = DEFAULT_CHUNK, progress: Progress = None, task_timeout: float = 1800.0,
         order: str = "corpus", refresh_silver: bool = False) -> PushReport:
    """Bulk-import every document not yet on the server, in chunks, resumably.  Idempotent.

    Refuses a corpus that does not validate against ``schema`` (the caller's, e.g. the CLI's --schema),
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
    with _push_lock(journal, project), _chunk_folder(journal) as tmp, Background() as background:
        valid = background.submit(require_valid, corpus, schema, what="not pushed: the corpus does not validate")
        worker = background.submit(client.worker_problem)  # ~1 s (a celery round trip): overlapped
        report = PushReport()
        known, pending = journals.read_journal(journal)
        if pending or client.count_examples(pid) != len(known):
            valid.result()
            journals.settle(client, pending, task_timeout)
            known, report.duplicates_removed = reconcile(client, pid)
            journals.reset(journal, known)
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
                journals.append(journal, {"begin": "refresh", "docs": revs})
                journals.append(journal, {"done": "refresh"})
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
    journals.append(journal, {"begin": number, "docs": batch})
    task_id = client.upload(project_id, path)
    journals.append(journal, {"task": number, "id": task_id})
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
    journals.append(journal, {"done": number})
    known.update(batch)
    report.uploaded += len(batch)
    report.chunks = number
    if progress:
        progress(len(batch))


__all__ = ["DEFAULT_CHUNK", "ORDERS", "PushReport", "push"]
