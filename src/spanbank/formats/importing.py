"""Importing: what a format reader yields (:class:`Imported`), its options and report, the validator's
checks on the way in, and how imported sets meet the corpus (attached by document id, i.e. by
normalized text, or added as new documents).  Nothing here writes the corpus: the caller does.

Imported annotations carry ``Provenance(agent=<annotator or 'import'>, status=<status of the set>,
kind='human' with an annotator name else 'import', detail='<file>:<line>')``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..checks import document_problems, refusal
from ..errors import InputError
from ..model import GOLD, AnnotationSet, Document, LabelSchema, Provenance, set_status
from .labelmap import LabelMap

# Gives bare documents (text and origin) their boundaries: spanbank.ingest.segment_documents.
Segmenter = Callable[[Iterable[Document]], Iterable[Document]]


@dataclass(frozen=True)
class ReaderOption:
    """An option a format's reader takes (the CLI turns each into ``--name``; the library reads it by ``key``)."""

    name: str
    help: str
    default: Any = None
    type: type = str
    multiple: bool = False
    choices: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        return self.name.replace("-", "_")


# The import formats: name -> module of this package exposing ``read_paths(paths, options, report)`` and
# ``OPTIONS`` (its ReaderOptions).  A new format is one module and one line here.
@dataclass(frozen=True)
class ImportOptions:
    """How imported annotations are labelled, stored and credited; ``reader`` holds the format's own options."""

    schema: LabelSchema
    label_map: LabelMap = field(default_factory=LabelMap)
    set_name: str = GOLD
    annotator: str | None = None
    time: str = ""
    format: str = ""
    reader: Mapping[str, Any] = field(default_factory=dict)
    keep_invalid: bool = False  # a document that does not read or validate goes to report.rejected instead of failing

    def get(self, key: str, default: Any = None) -> Any:
        value = self.reader.get(key)
        return default if value is None or value == () else value

    def provenance(self, detail: str) -> Provenance:
        return Provenance(agent=self.annotator or "import", status=set_status(self.set_name), time=self.time,
                          kind="human" if self.annotator else "import", detail=detail)


@dataclass(frozen=True)
class Imported:
    """One imported document: its normalized text (and boundaries, when the format has them) plus one set.

    ``segmented`` is False when the format gives no sentences/tokens (brat): a new document is then
    segmented like an ingested one.  The document holds exactly one set, possibly empty (importing an
    empty file clears that set of the matching corpus document).
    """

    document: Document
    source: str
    segmented: bool = False

    @property
    def annotation_set(self) -> AnnotationSet | None:
        """The imported set (None for a document that comes without one: a published one without annotations)."""
        sets = list(self.document.annotations.values())
        return sets[0] if sets else None


@dataclass
class ImportReport:
    attached: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    spans: int = 0
    events: int = 0
    attributions: int = 0
    dropped: list[str] = field(default_factory=list)  # "file:line: what and why"
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"source", "problems", ["document"]} set aside

    def reject(self, source: str, problems: Iterable[Any], document: Document | None = None) -> None:
        record: dict[str, Any] = {"source": source, "problems": [str(p) for p in problems]}
        if document is not None:
            record["document"] = {"id": document.id, "text": document.text, "sets": sorted(document.annotations)}
        self.rejected.append(record)

    def count(self, aset: AnnotationSet | None) -> None:
        if aset is None:
            return
        self.spans += len(aset.spans)
        self.events += len(aset.events)
        self.attributions += len(aset.attributions)

    def as_dict(self) -> dict[str, Any]:
        return {"attached": self.attached, "added": self.added, "spans": self.spans, "events": self.events,
                "attributions": self.attributions, "dropped": self.dropped, "rejected": self.rejected}


def guarded(source: str, read: Callable[[], Imported], options: ImportOptions,
            report: ImportReport | None) -> Imported | None:
    """``read()``, or None with the error set aside in ``report`` when ``options.keep_invalid``."""
    if not options.keep_invalid or report is None:
        return read()
    try:
        return read()
    except InputError as exc:
        report.reject(source, [exc])
        return None


def checked(items: Iterable[Imported], schema: LabelSchema, report: ImportReport | None = None) -> Iterator[Imported]:
    """``items`` through the validator's own checks, as they pass; after the last, InputError listing every problem.

    The problems are placed where each annotation was read (``file:line`` of its provenance), so
    an import refuses what ``spanbank validate`` would reject, before anything is written.  With a
    ``report``, a document with problems is set aside there (``report.rejected``) instead.
    """
    problems = []
    for item in items:
        found = document_problems([(item.document, item.source)], schema)
        if found and report is not None:
            report.reject(item.source, found, item.document)
            continue
        problems.extend(found)
        yield item
    if problems:
        raise refusal(problems, "not imported: the imported annotations do not validate",
                      "fix them in the source files (or map the labels with --label-map); the corpus is unchanged",
                      InputError)


def import_documents(existing: Iterable[Document], imported: Iterable[Imported], report: ImportReport,
                     progress: Callable[[int], None] | None = None, *,
                     segment: Segmenter | None = None) -> Iterator[Document]:
    """``existing`` documents with imported sets attached (replacing a set of the same name), then new ones.

    The corpus is streamed; the imported documents are held in memory (an import is small next to a corpus).
    Two imported files with the same normalized text are an error.  ``segment`` gives new documents
    of a format without boundaries (brat) their paragraphs, sentences and tokens (the caller passes
    ingest's segmenter: formats do not call the ingest stage); without it such a new document is an error.
    """
    pending: dict[str, Imported] = {}
    for item in imported:
        for aset in item.document.annotations.values():
            report.count(aset)
        other = pending.get(item.document.id)
        if other is not None:
            if set(other.document.annotations) & set(item.document.annotations):
                raise InputError(f"same text as {other.source} (document {item.document.id}), same set "
                                 f"{', '.join(item.document.annotations)}", path=item.source,
                                 hint="import each document once per set (several annotators: --annotator-from-name)")
            item = replace(other, document=_attach(other.document, item))
        pending[item.document.id] = item
    for doc in existing:
        item = pending.pop(doc.id, None)
        if item is not None:
            report.attached.append(doc.id)
            doc = _attach(doc, item)
        if progress:
            progress(1)
        yield doc
    yield from _new_documents(pending.values(), report, progress, segment)


def staged_documents(imported: Iterable[Imported], report: ImportReport) -> Iterator[Document]:
    """The documents of segmented ``imported`` items, counted in ``report``: what a caller stages on disk
    (a corpus beside the target, sorted by the store) before :func:`merge_sorted` joins it with the corpus,
    so an import of any size (a dataset) runs in bounded memory."""
    for item in imported:
        if not item.segmented:
            raise InputError("a staged import needs segmented documents", path=item.source,
                             hint="use import_documents for brat")
        report.count(item.annotation_set)
        yield item.document


def merge_sorted(existing: Iterator[Document], staged: Iterator[Document], report: ImportReport) -> Iterator[Document]:
    """Both streams sorted by id: existing documents get the staged one's sets; the others are added."""
    new = next(staged, None)
    for doc in existing:
        while new is not None and new.id < doc.id:
            report.added.append(new.id)
            yield new
            new = next(staged, None)
        if new is not None and new.id == doc.id:
            report.attached.append(doc.id)
            for aset in new.annotations.values():
                doc = doc.with_set(aset)
            new = next(staged, None)
        yield doc
    while new is not None:
        report.added.append(new.id)
        yield new
        new = next(staged, None)


def _new_documents(items: Iterable[Imported], report: ImportReport, progress: Callable[[int], None] | None,
                   segment: Segmenter | None) -> Iterator[Document]:
    items = list(items)
    raw = [i for i in items if not i.segmented]
    if raw and segment is None:
        raise InputError("new documents without boundaries need a segmenter", path=raw[0].source,
                         hint="pass segment=spanbank.ingest.segment_documents")
    for item, doc in zip(raw, segment(i.document.without_sets() for i in raw) if raw else ()):
        report.added.append(doc.id)
        yield _attach(doc, item)
    for item in items:
        if item.segmented:
            report.added.append(item.document.id)
            yield _attach(item.document, item)
    if progress:
        progress(len(items))


def _attach(doc: Document, item: Imported) -> Document:
    for aset in item.document.annotations.values():
        doc = doc.with_set(aset)
    return doc


def write_rejects(records: list[dict[str, Any]], path: str | Path) -> Path:
    """The documents set aside by ``--keep-invalid``, one JSON object a line (written even when empty)."""
    import json

    from ..store import atomic_writer

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as fh:
        for record in records:
            fh.write((json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    return path
