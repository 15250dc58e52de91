"""The merge half of a pull: pure functions from (current document, pulled sets) to the new document, and
:func:`commit`, the one call that writes them under the corpus lock.

Why two halves and not "pull returns documents, the CLI writes them": a pull reads Doccano over REST
for minutes without the corpus lock, so documents computed from that read would undo any writer that
ran meanwhile (issue 16).  So :func:`spanbank.doccano.pull.read` returns a :class:`Pulled` (the
annotator sets per touched document and the version of the document they were read against; no
corpus file is touched), :class:`Merge` turns each *current* document into its merged version (pure,
streaming: documents in, documents out), and :func:`commit` runs that merge over the corpus as it is
under its lock and writes the result with the store's ``Corpus.write``, together with the
resolutions (``doccano-resolved.jsonl``) and the annotation round.  The CLI calls ``read`` (with the
server) and then ``commit``.

Merge rules: only sets a pull made are replaced or removed (:func:`spanbank.doccano.annotators.pulled_set`);
another ``annotator/<name>`` set stays as it is and is reported in ``kept_sets``.  A document edited
locally since its push is a conflict, left alone unless ``force``, which takes Doccano's labels for it
and records the resolution so that later pulls treat it as any other document (until it changes again).
A document another writer changed during the pull gets the pulled sets all the same when its text is
the same and it is not (now) a conflict; the other writer's change is kept either way
(``changed_during_pull``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import orjson

from .. import jsonl
from ..formats.doccano import revision
from ..model import ANNOTATOR_PREFIX, AnnotationSet, Document, utc_now
from ..store import Corpus, atomic_writer
from .annotators import pulled_set

REJECTS = "doccano-rejects.jsonl"
RESOLVED = "doccano-resolved.jsonl"  # conflicts resolved by `pull --force`, one line per (project, document)


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
    resolutions: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)  # doc -> (server, local) rev

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "resolutions"}


@dataclass
class Found:
    """What the read phase made of one touched example, and the document version it was made against."""

    server_rev: str  # the revision pushed (the example's spanbank_rev)
    read: Document  # the document as this pull read it
    sets: list[AnnotationSet]
    changes: bool  # whether those sets change the document as read
    kept: list[str]  # set names not made by a pull that Doccano also has labels for


@dataclass
class Pulled:
    """What :func:`spanbank.doccano.pull.read` found; nothing of it is in the corpus until :func:`commit`."""

    project: str  # the Doccano project's name
    found: dict[str, Found]  # spanbank id -> the sets read for a touched example
    resolved: dict[str, tuple[str, str]]  # conflicts resolved earlier (RESOLVED) for this project
    force: bool
    report: PullReport

    def changes(self) -> bool:
        """Whether committing could change the corpus (else ``commit`` takes no lock and writes nothing)."""
        return any(f.changes for f in self.found.values()) or (self.force and bool(self.report.conflicts))

    def merged(self, docs: Iterable[Document]) -> Iterator[Document]:
        """``docs`` (the current corpus) with the pulled sets merged in; no I/O (each document's outcome goes
        to ``report``: updated, unchanged, conflict, resolved, kept sets, changed during the pull)."""
        return map(Merge(self), docs)


class Merge:
    """One document's merge (no I/O): the pulled sets put into its *current* version (:func:`commit` applies
    it to the corpus as it is under the lock).

    A document changed since the read (another writer) gets them all the same when its text is the
    same and it is not (now) a conflict; the other writer's change is kept either way.
    """

    def __init__(self, pulled: Pulled) -> None:
        self.found, self.resolved, self.force, self.report = pulled.found, pulled.resolved, pulled.force, pulled.report
        self.resolutions = pulled.report.resolutions

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
        new, kept = with_annotator_sets(doc, f.sets)
        report.kept_sets += [f"{doc.id}: {name}" for name in kept]
        if new.annotations == doc.annotations:
            report.unchanged += 1
            return doc
        report.updated.append(doc.id)
        return new


def with_annotator_sets(doc: Document, sets: list[AnnotationSet]) -> tuple[Document, list[str]]:
    """``doc`` with its pulled annotator sets replaced by ``sets``, and the names of the ``sets`` not written.

    Doccano is the source of the sets a pull made (:func:`pulled_set`); any other set is kept as it is,
    and a pulled set of the same name is not written (its name is returned instead).
    """
    keep = {k: v for k, v in doc.annotations.items() if not (k.startswith(ANNOTATOR_PREFIX) and pulled_set(v))}
    kept = sorted(s.name for s in sets if s.name in keep and not s.is_empty())
    keep.update({s.name: s for s in sets if not s.is_empty() and s.name not in keep})
    return Document(**{**doc.__dict__, "annotations": dict(sorted(keep.items()))}), kept


def commit(corpus: Corpus, pulled: Pulled) -> PullReport:
    """Merge the pulled sets into the corpus as it is now, under its lock; record resolutions, the round
    and the rejects.  Returns the completed report.  Takes no lock and writes no corpus file when the
    pull found nothing to change."""
    report = pulled.report
    if pulled.changes():
        with corpus.lock():
            corpus.write(pulled.merged(corpus.documents()))
            record_resolved(corpus, pulled.project, report.resolutions)
            if report.updated:
                report.round = corpus.add_round({"time": utc_now(), "project": pulled.project,
                                                 "documents": len(report.updated), "annotators": report.annotators})["round"]
    else:
        for doc_id, f in pulled.found.items():
            report.unchanged += 1
            report.kept_sets += [f"{doc_id}: {name}" for name in f.kept]
    for names in (report.updated, report.conflicts, report.resolved, report.kept_sets, report.changed_during_pull):
        names.sort()
    _write_rejects(corpus, report)
    return report


def read_resolved(corpus: Corpus, project: str) -> dict[str, tuple[str, str]]:
    """Document id -> (server revision, local revision) of the conflicts resolved for ``project``."""
    path = corpus.path / RESOLVED
    if not path.exists():
        return {}
    return {rec["doc"]: (rec["server_rev"], rec["local_rev"]) for _, rec in jsonl.read(path)
            if rec.get("project") == project}


def record_resolved(corpus: Corpus, project: str, resolutions: dict[str, tuple[str, str]]) -> None:
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


def _write_rejects(corpus: Corpus, report: PullReport) -> None:
    path = corpus.path / REJECTS
    report.rejects.sort(key=lambda r: (r["doc"], r["kind"], r["doccano_id"], r["user"]))
    if report.rejects:
        with atomic_writer(path) as fh:
            fh.writelines(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in report.rejects)
        report.rejects_path = str(path)
    else:
        path.unlink(missing_ok=True)


__all__ = ["REJECTS", "RESOLVED", "Found", "Merge", "PullReport", "Pulled", "commit", "read_resolved", "record_resolved",
           "with_annotator_sets"]
