"""Other tools' annotation formats (brat standoff, CoNLL/IOB2): read into the model, write back out.

Readers yield :class:`Imported` items: a document (normalized text, as ingest stores it) holding one
annotation set, built against the label schema through an optional :class:`LabelMap`.
:func:`import_documents` attaches them to the documents of an existing corpus (matched by document
id, i.e. by normalized text) or adds them as new, segmented documents.

Imported annotations carry ``Provenance(agent=<annotator or 'import'>, status=<status of the set>,
kind='human' with an annotator name else 'import', detail='<file>:<line>')``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import yaml

from .. import ingest
from ..errors import InputError
from ..model import GOLD, ATTRIBUTION_ROLES, AnnotationSet, Document, LabelSchema, Provenance, set_status
from ..store import Corpus, open_corpus
from ..validate import document_problems, refusal

MAP_SECTIONS = ("entities", "events", "roles", "attribution")
# PolNeAR and most brat attribution projects write Source / Cue / Content.
DEFAULT_ATTRIBUTION_MAP = {name.capitalize(): name for name in ATTRIBUTION_ROLES}


@dataclass(frozen=True)
class LabelMap:
    """Foreign label -> schema label, per section; a ``None`` value drops the label (and what hangs on it)."""

    entities: Mapping[str, str | None] = field(default_factory=dict)
    events: Mapping[str, str | None] = field(default_factory=dict)
    roles: Mapping[str, str | None] = field(default_factory=dict)
    attribution: Mapping[str, str | None] = field(default_factory=dict)

    def span_label(self, label: str, schema: LabelSchema) -> tuple[str, str] | None:
        """(layer, schema label) for a foreign span label; ``None`` when the map drops it.

        Raises ``KeyError`` when neither the map nor the schema knows the label.
        """
        attribution = {**DEFAULT_ATTRIBUTION_MAP, **self.attribution}
        for layer, section in (("entities", self.entities), ("events", self.events), ("attribution", attribution)):
            if label in section:
                mapped = section[label]
                return None if mapped is None else (layer, mapped)
        for layer in ("entities", "events", "attribution"):
            if label in schema.span_labels(layer):
                return layer, label
        raise KeyError(label)

    def role(self, role: str) -> str | None:
        if role in self.roles:
            return self.roles[role]
        return {k.capitalize(): k for k in ("SOURCE", "CONTENT")}.get(role, role)


def load_label_map(path: str | Path | None) -> LabelMap:
    """Read a ``--label-map`` YAML file: ``{entities: {person: PER}, events: {...}, roles: {...}, attribution: {...}}``."""
    if path is None:
        return LabelMap()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the label map: {exc}", path=str(path), hint="give a YAML mapping file") from None
    if not isinstance(data, dict):
        raise InputError("a label map must be a YAML mapping", path=str(path), value=data, allowed=MAP_SECTIONS)
    unknown = [k for k in data if k not in MAP_SECTIONS]
    if unknown:
        raise InputError(f"unknown section {unknown[0]!r} in the label map", path=str(path), value=unknown[0],
                         allowed=MAP_SECTIONS)
    sections = {}
    for key in MAP_SECTIONS:
        section = data.get(key) or {}
        bad = [k for k, v in section.items() if not isinstance(k, str) or not (v is None or isinstance(v, str))] \
            if isinstance(section, dict) else [section]
        if bad:
            raise InputError(f"section {key!r} must map label strings to label strings (or null to drop)",
                             path=str(path), value=bad[0])
        sections[key] = dict(section)
    return LabelMap(**sections)


@dataclass(frozen=True)
class ImportOptions:
    """How imported annotations are labelled, stored and credited."""

    schema: LabelSchema
    label_map: LabelMap = field(default_factory=LabelMap)
    set_name: str = GOLD
    annotator: str | None = None
    time: str = ""

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

    def count(self, aset: AnnotationSet | None) -> None:
        if aset is None:
            return
        self.spans += len(aset.spans)
        self.events += len(aset.events)
        self.attributions += len(aset.attributions)

    def as_dict(self) -> dict[str, Any]:
        return {"attached": self.attached, "added": self.added, "spans": self.spans, "events": self.events,
                "attributions": self.attributions, "dropped": self.dropped}


def read_paths(fmt: str, paths: Iterable[str | Path], options: ImportOptions,
               report: ImportReport | None = None) -> Iterator[Imported]:
    """Every document in ``paths`` (files or folders) read in format ``fmt`` (``brat``, ``conll`` or ``hf``)."""
    from . import brat, conll, hf

    readers = {"brat": brat.read_paths, "conll": conll.read_paths, "hf": hf.read_paths}
    if fmt not in readers:
        raise InputError(f"unknown import format {fmt!r}", value=fmt, allowed=sorted(readers))
    return readers[fmt](paths, options, report)


def checked(items: Iterable[Imported], schema: LabelSchema) -> Iterator[Imported]:
    """``items`` through the validator's own checks, as they pass; after the last, InputError listing every problem.

    The problems are placed where each annotation was read (``file:line`` of its provenance), so
    an import refuses what ``spanbank validate`` would reject, before anything is written.
    """
    problems = []
    for item in items:
        problems.extend(document_problems([(item.document, item.source)], schema))
        yield item
    if problems:
        raise refusal(problems, "not imported: the imported annotations do not validate",
                      "fix them in the source files (or map the labels with --label-map); the corpus is unchanged",
                      InputError)


def import_documents(existing: Iterable[Document], imported: Iterable[Imported], report: ImportReport,
                     progress: Callable[[int], None] | None = None) -> Iterator[Document]:
    """``existing`` documents with imported sets attached (replacing a set of the same name), then new ones.

    The corpus is streamed; the imported documents are held in memory (an import is small next to a corpus).
    Two imported files with the same normalized text are an error.
    """
    pending: dict[str, Imported] = {}
    for item in imported:
        other = pending.get(item.document.id)
        if other is not None:
            raise InputError(f"same text as {other.source} (document {item.document.id})", path=item.source,
                             hint="import each document once")
        pending[item.document.id] = item
        report.count(item.annotation_set)
    for doc in existing:
        item = pending.pop(doc.id, None)
        if item is not None:
            report.attached.append(doc.id)
            doc = _attach(doc, item)
        if progress:
            progress(1)
        yield doc
    yield from _new_documents(pending.values(), report, progress)


def import_staged(corpus: Corpus, imported: Iterable[Imported], report: ImportReport,
                  progress: Callable[[int], None] | None = None) -> int:
    """:func:`import_documents` for segmented documents, with bounded memory (a dataset of any size).

    The imported documents are written as a sorted corpus beside ``corpus`` first (the store spills
    to disk and sorts ids only), then merge-joined with ``corpus`` by id.  Caller holds the lock.
    Returns the number of documents written.
    """
    def staged_documents() -> Iterator[Document]:
        for item in imported:
            if not item.segmented:
                raise InputError("a staged import needs segmented documents", path=item.source,
                                 hint="use import_documents for brat")
            report.count(item.annotation_set)
            yield item.document

    corpus.path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=corpus.path, prefix=".import-") as tmp:
        staged = open_corpus(Path(tmp))
        staged.write(staged_documents())
        return corpus.write(_merge_staged(corpus.documents() if corpus.exists() else iter(()), staged.documents(),
                                          report), progress)


def _merge_staged(existing: Iterator[Document], staged: Iterator[Document], report: ImportReport) -> Iterator[Document]:
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


def _new_documents(items: Iterable[Imported], report: ImportReport,
                   progress: Callable[[int], None] | None) -> Iterator[Document]:
    items = list(items)
    raw = [i for i in items if not i.segmented]
    articles = (ingest.Article(text=i.document.text, origin=i.document.origin) for i in raw)
    for item, doc in zip(raw, ingest.segment_articles(articles)):
        report.added.append(doc.id)
        yield _attach(doc, item)
    for item in items:
        if item.segmented:
            report.added.append(item.document.id)
            yield _attach(item.document, item)
    if progress:
        progress(len(items))


def _attach(doc: Document, item: Imported) -> Document:
    aset = item.annotation_set
    return doc if aset is None else doc.with_set(aset)
