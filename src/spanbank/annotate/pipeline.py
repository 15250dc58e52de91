"""The pre-annotation stage: ``annotate(docs, ...) -> Iterator[Document]`` over a stream of documents.

Each document is parsed ONCE with the spaCy pipeline (``nlp.pipe``: batched, ``processes``
worker processes) and every requested layer runs on that parse, in the fixed order entities ->
events -> attribution (events attach to the entity spans).  Memory stays flat: documents stream
through, at most a few batches are in flight.

Rules:

* Results go into the ``silver`` annotation set with ``Provenance(agent=<registry name>,
  status="silver", kind="machine", time=<run time, ISO-8601 UTC>, detail="<model> <version>")``.
* ``gold`` and ``annotator/*`` sets are never touched.  A layer is skipped for a document that
  has human annotation of that layer (any non-silver set with spans, events or attributions of
  it); a layer that already has silver annotation is redone only with ``force``.
* Redoing a layer replaces the silver items its pre-annotator family made (agent
  ``spanbank.<layer>.*`` or ``spanbank.trained.<layer>@*``; for other machine agents, the items of
  that layer), then drops event arguments whose span no longer exists.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Sequence

from .. import nlp
from ..errors import SpanbankError
from ..model import LAYERS, SILVER, AnnotationSet, is_machine_set, Document, LabelSchema, Provenance, Span, agent_layer, utc_now
from .registry import DEFAULTS, Annotator, Output, Parsed, create

DEFAULT_MODEL = nlp.DEFAULT_MODEL
DEFAULT_BATCH = 64


@dataclass
class AnnotateReport:
    """What a run did: documents seen, per-layer work and skips, labels added, agents used."""

    documents: int = 0
    annotated: Counter = field(default_factory=Counter)  # layer -> documents
    skipped_human: Counter = field(default_factory=Counter)  # layer -> documents
    skipped_silver: Counter = field(default_factory=Counter)  # layer -> documents (no --force)
    documents_annotated: int = 0  # documents where at least one layer ran
    documents_skipped: Counter = field(default_factory=Counter)  # reason -> documents where no layer ran
    added: Counter = field(default_factory=Counter)  # (layer, label) -> spans
    events: int = 0
    attributions: int = 0
    agents: dict[str, str] = field(default_factory=dict)  # registry name -> detail

    def merge(self, other: "AnnotateReport") -> None:
        """Add ``other`` (a worker's report on its part of the run) to this one."""
        self.documents += other.documents
        for mine, theirs in ((self.annotated, other.annotated), (self.skipped_human, other.skipped_human),
                             (self.skipped_silver, other.skipped_silver), (self.added, other.added),
                             (self.documents_skipped, other.documents_skipped)):
            mine.update(theirs)
        self.documents_annotated += other.documents_annotated
        self.events += other.events
        self.attributions += other.attributions
        self.agents.update(other.agents)

    def as_dict(self) -> dict[str, Any]:
        labels: dict[str, dict[str, int]] = {}
        for (layer, label), n in sorted(self.added.items()):
            labels.setdefault(layer, {})[label] = n
        return {"documents": self.documents, "documents_annotated": self.documents_annotated,
                "documents_skipped": dict(self.documents_skipped), "annotated": dict(self.annotated),
                "skipped_human": dict(self.skipped_human), "skipped_silver": dict(self.skipped_silver),
                "spans_added": labels, "events_added": self.events, "attributions_added": self.attributions,
                "agents": self.agents}


def check_layers(layers: Iterable[str]) -> tuple[str, ...]:
    """The requested layers in pipeline order; an unknown one raises naming what is allowed."""
    wanted = [lay.strip() for lay in layers if lay.strip()]
    for lay in wanted:
        if lay not in LAYERS:
            raise SpanbankError(f"unknown layer {lay!r}", value=lay, allowed=list(LAYERS),
                                hint="pass e.g. --layers entities,events")
    if not wanted:
        raise SpanbankError("no layer requested", allowed=list(LAYERS))
    return tuple(lay for lay in LAYERS if lay in wanted)


@dataclass(frozen=True)
class Settings:
    """What a run does, independent of where it runs: plain values, so an engine can ship it to its workers."""

    layers: tuple[str, ...]
    model: str = DEFAULT_MODEL
    force: bool = False
    now: str = ""
    pre_annotator: str | None = None
    schema: LabelSchema | None = None
    batch_size: int = DEFAULT_BATCH
    into: str = SILVER


class Stage:
    """A run's spaCy pipeline and pre-annotators, loaded once per process; :meth:`run` is the stage itself.

    ``into``: the machine set written (``silver`` or ``silver/<name>``).  Into ``silver`` a layer is
    skipped where a human set has it; into another machine set, human sets do not stop it (they are
    never touched either way), so machine output can be scored against human gold in one corpus.

    ``pre_annotator``: a folder written by ``spanbank train``; its pipeline replaces ``model`` and its
    trained layers replace the registry defaults (see :mod:`.trained`).
    """

    def __init__(self, settings: Settings) -> None:
        if not is_machine_set(settings.into):
            raise SpanbankError(f"set {settings.into!r} is a human set; machine annotation goes into silver or "
                                "silver/<name>", value=settings.into,
                                hint=f"use e.g. --into-set silver/{settings.into.rsplit('/', 1)[-1]}")
        self.settings = settings
        schema = settings.schema  # the caller's (the CLI loads it): a stage does not load the schema itself
        model, chosen = settings.model, dict(DEFAULTS)
        if settings.pre_annotator is not None:
            from .trained import use

            model, trained, _ = use(settings.pre_annotator)
            chosen.update(trained)
        self.pipeline = nlp.load_model(model)
        self.annotators = [create(chosen[layer], schema, self.pipeline) for layer in settings.layers]
        self.detail = nlp.model_info(self.pipeline)
        time = settings.now or utc_now()
        self.provenance = {a.name: Provenance(a.name, SILVER, time, "machine", self.detail) for a in self.annotators}

    def run(self, docs: Iterable[Document], report: AnnotateReport, processes: int = 1,
            progress: Callable[[int], None] | None = None) -> Iterator[Document]:
        """Pre-annotate ``docs`` (a stream, or one batch): every document comes out, in input order."""
        wanted, force, into = self.settings.layers, self.settings.force, self.settings.into
        report.agents.update({a.name: self.detail for a in self.annotators})
        items = ((doc.text if todo else "", (doc, todo)) for doc in docs for todo in [plan(doc, wanted, force, report, into)])
        for sdoc, (doc, todo) in nlp.pipe(self.pipeline, items, self.settings.batch_size, processes):
            if todo:
                doc = apply(doc, sdoc, [a for a in self.annotators if a.layer in todo], self.provenance, report, into)
            report.documents += 1
            if progress:
                progress(1)
            yield doc


def annotate(docs: Iterable[Document], layers: Sequence[str] = LAYERS, model: str = DEFAULT_MODEL,
             processes: int = 1, force: bool = False, progress: Callable[[int], None] | None = None, *,
             schema: LabelSchema, batch_size: int = DEFAULT_BATCH, now: str | None = None,
             report: AnnotateReport | None = None, pre_annotator: str | None = None,
             into: str = SILVER) -> Iterator[Document]:
    """Pre-annotate a stream of documents in this process (``processes`` spaCy workers); yields every
    document (annotated or passed through) in order.  See :class:`Stage`; the Ray engine runs the same
    stage over blocks of documents (:mod:`.ray_engine`).
    """
    settings = Settings(check_layers(layers), model, force, now or utc_now(), pre_annotator, schema, batch_size, into)
    yield from Stage(settings).run(docs, report if report is not None else AnnotateReport(), processes, progress)


def plan(doc: Document, layers: Sequence[str], force: bool, report: AnnotateReport,
         into: str = SILVER) -> tuple[str, ...]:
    """The layers to (re)annotate in ``doc``; counts the document as annotated or skipped (and why)."""
    todo, reasons = [], set()
    for layer in layers:
        if into == SILVER and any(not is_machine_set(name) and has_layer(aset, layer)
                                  for name, aset in doc.annotations.items()):
            report.skipped_human[layer] += 1
            reasons.add("human")
        elif has_layer(doc.annotation_set(into), layer) and not force:
            report.skipped_silver[layer] += 1
            reasons.add("machine")
        else:
            todo.append(layer)
    if todo:
        report.documents_annotated += 1
    else:
        report.documents_skipped["+".join(sorted(reasons))] += 1
    return tuple(todo)


def has_layer(aset: AnnotationSet, layer: str) -> bool:
    if any(s.layer == layer for s in aset.spans):
        return True
    return bool(aset.events) if layer == "events" else bool(aset.attributions) if layer == "attribution" else False


def apply(doc: Document, sdoc: Any, annotators: list[Annotator], provenance: dict[str, Provenance],
          report: AnnotateReport, into: str = SILVER) -> Document:
    """Run ``annotators`` on one parse and merge their output into the machine set ``into``."""
    silver = doc.annotation_set(into)
    for annotator in annotators:
        silver = _without(silver, annotator.layer)
        parsed = Parsed(doc, sdoc, [s for s in silver.spans if s.layer == "entities"])
        out = annotator(parsed, provenance[annotator.name])
        silver = _merge(silver, out, report)
        report.annotated[annotator.layer] += 1
    return doc.with_set(_drop_dangling(silver))


def _owned(agent: str, layer: str, item_layer: str | None) -> bool:
    """Does an item with this agent (and span layer) belong to ``layer``'s pre-annotator family?"""
    family = agent_layer(agent)
    return (family if family is not None else item_layer) == layer


def _without(silver: AnnotationSet, layer: str) -> AnnotationSet:
    spans = tuple(s for s in silver.spans if not _owned(s.provenance.agent, layer, s.layer))
    events = silver.events if layer != "events" else tuple(e for e in silver.events if not _owned(e.provenance.agent, layer, "events"))
    atts = silver.attributions if layer != "attribution" else ()
    return AnnotationSet(silver.name, spans, events, atts)


def _merge(silver: AnnotationSet, out: Output, report: AnnotateReport) -> AnnotationSet:
    ids = {s.id for s in silver.spans}
    extents = {(s.start, s.end) for s in silver.spans if s.layer == "entities"}
    added: list[Span] = []
    for s in out.spans:
        if s.id in ids or (s.layer == "entities" and (s.start, s.end) in extents):
            continue
        ids.add(s.id)
        added.append(s)
        report.added[(s.layer, s.label)] += 1
    report.events += len(out.events)
    report.attributions += len(out.attributions)
    return AnnotationSet(silver.name, silver.spans + tuple(added), silver.events + tuple(out.events),
                         silver.attributions + tuple(out.attributions))


def _drop_dangling(silver: AnnotationSet) -> AnnotationSet:
    """Events whose trigger is gone are dropped; arguments whose span is gone are dropped."""
    ids = {s.id for s in silver.spans}
    events = tuple(replace(e, arguments=tuple(a for a in e.arguments if a.span in ids))
                   for e in silver.events if e.trigger in ids)
    atts = tuple(a for a in silver.attributions if a.cue in ids and a.content in ids)
    return AnnotationSet(silver.name, silver.spans, events, atts)
