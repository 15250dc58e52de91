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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import yaml

from .. import ingest
from ..errors import InputError
from ..model import GOLD, ATTRIBUTION_ROLES, AnnotationSet, Document, LabelSchema, Provenance, set_status
from ..store import Corpus, open_corpus
from ..validate import document_problems, refusal

MAP_SECTIONS = ("entities", "events", "roles", "attribution", "attribution_roles")
# PolNeAR and most brat attribution projects write Source / Cue / Content.
DEFAULT_ATTRIBUTION_MAP = {name.capitalize(): name for name in ATTRIBUTION_ROLES}


@dataclass(frozen=True)
class LabelMap:
    """Foreign label -> schema label, per section; a ``None`` value drops the label (and what hangs on it).

    ``roles`` maps argument roles for every event type; ``event_roles`` per (schema) event type, which
    wins.  ``attribution_roles`` maps the argument roles of attribution events (``Source`` -> SOURCE).
    """

    entities: Mapping[str, str | None] = field(default_factory=dict)
    events: Mapping[str, str | None] = field(default_factory=dict)
    roles: Mapping[str, str | None] = field(default_factory=dict)
    attribution: Mapping[str, str | None] = field(default_factory=dict)
    event_roles: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    attribution_roles: Mapping[str, str | None] = field(default_factory=dict)

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

    def role(self, role: str, event_type: str | None = None) -> str | None:
        """The schema role of a foreign argument role (of ``event_type``, a schema event type, when given)."""
        if event_type is not None and role in self.event_roles.get(event_type, {}):
            return self.event_roles[event_type][role]
        if role in self.roles:
            return self.roles[role]
        return self.attribution_role(role) if role in ("Source", "Content") else role

    def attribution_role(self, role: str) -> str | None:
        """SOURCE / CUE / CONTENT for a foreign attribution argument role (unknown ones come back as given)."""
        if role in self.attribution_roles:
            return self.attribution_roles[role]
        return DEFAULT_ATTRIBUTION_MAP.get(role, role)


def _section(data: dict, key: str, path: Path, nested: bool = False) -> dict:
    section = data.get(key) or {}
    if not isinstance(section, dict):
        raise InputError(f"section {key!r} must be a mapping", path=str(path), value=section)
    for k, v in section.items():
        ok = isinstance(k, str) and (v is None or isinstance(v, str) or (nested and isinstance(v, dict)))
        if not ok:
            raise InputError(f"section {key!r}: {k!r}: {v!r} must map a label string to a label string (or nothing to "
                             "drop it)", path=str(path), value=k)
    return {k: (v or None) if not isinstance(v, dict) else v for k, v in section.items()}


def load_label_map(path: str | Path | None, schema: LabelSchema | None = None) -> LabelMap:
    """Read a ``--map-file`` YAML file and check every target against ``schema`` (all problems at once).

    Sections: ``entities``/``events``/``attribution`` (span labels), ``roles`` (``Foreign: Role`` for
    every event type, or ``EventType: {Foreign: Role}`` per schema event type), ``attribution_roles``
    (E-line argument roles -> SOURCE / CUE / CONTENT).  An empty value (or null) drops the label.
    """
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
    sections = {key: _section(data, key, path, nested=key == "roles") for key in MAP_SECTIONS}
    event_roles = {k: v for k, v in sections["roles"].items() if isinstance(v, dict)}
    sections["roles"] = {k: v for k, v in sections["roles"].items() if not isinstance(v, dict)}
    for etype, roles in event_roles.items():
        event_roles[etype] = _section({etype: roles}, etype, path)
    label_map = LabelMap(**sections, event_roles=event_roles)
    if schema is not None:
        problems = _map_problems(label_map, schema)
        if problems:
            raise InputError(f"the label map does not fit schema {schema.name} {schema.version}: " + "; ".join(problems),
                             path=str(path), hint="map onto labels and roles the schema defines (empty drops)")
    return label_map


def _map_problems(m: LabelMap, schema: LabelSchema) -> list[str]:
    problems = []
    for section, layer in (("entities", "entities"), ("events", "events"), ("attribution", "attribution")):
        allowed = schema.span_labels(layer)
        problems += [f"{section}: {k} -> {v!r} is not one of the schema's {layer} labels (allowed: {', '.join(allowed)})"
                     for k, v in getattr(m, section).items() if v is not None and v not in allowed]
    all_roles = sorted({r.name for ev in schema.event_types for r in ev.roles})
    problems += [f"roles: {k} -> {v!r} is not a role of any event type" for k, v in m.roles.items()
                 if v is not None and v not in all_roles]
    for etype, roles in m.event_roles.items():
        definition = schema.event_type(etype)
        if definition is None:
            problems.append(f"roles: {etype!r} is not an event type of the schema")
            continue
        names = [r.name for r in definition.roles]
        problems += [f"roles: {etype}: {k} -> {v!r} is not a role of {etype} (allowed: {', '.join(names)})"
                     for k, v in roles.items() if v is not None and v not in names]
    problems += [f"attribution_roles: {k} -> {v!r} is not one of {', '.join(ATTRIBUTION_ROLES)}"
                 for k, v in m.attribution_roles.items() if v is not None and v not in ATTRIBUTION_ROLES]
    return problems


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
FORMATS = {"brat": "brat", "conll": "conll", "conllu": "conll", "hf": "hf"}


def format_module(fmt: str):
    import importlib

    if fmt not in FORMATS:
        raise InputError(f"unknown import format {fmt!r}", value=fmt, allowed=sorted(FORMATS))
    return importlib.import_module(f".{FORMATS[fmt]}", __name__)


def reader_options() -> dict[str, tuple[ReaderOption, list[str]]]:
    """Every reader option of every format: key -> (option, formats that take it)."""
    out: dict[str, tuple[ReaderOption, list[str]]] = {}
    for fmt in FORMATS:
        for opt in getattr(format_module(fmt), "OPTIONS", ()):
            out.setdefault(opt.key, (opt, []))[1].append(fmt)
    return out


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


def read_paths(fmt: str, paths: Iterable[str | Path], options: ImportOptions,
               report: ImportReport | None = None) -> Iterator[Imported]:
    """Every document in ``paths`` (files or folders) read in format ``fmt`` (one of :data:`FORMATS`)."""
    module = format_module(fmt)
    if options.format != fmt:
        options = replace(options, format=fmt)
    return module.read_paths(paths, options, report)


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
                     progress: Callable[[int], None] | None = None) -> Iterator[Document]:
    """``existing`` documents with imported sets attached (replacing a set of the same name), then new ones.

    The corpus is streamed; the imported documents are held in memory (an import is small next to a corpus).
    Two imported files with the same normalized text are an error.
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
