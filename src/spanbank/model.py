"""The spanbank data model: documents, spans, events, attributions, provenance, label schema.

This module is pure: it imports nothing of ours and does no I/O.

THE OFFSET CONVENTION (stated once, used everywhere): a span is the half-open interval
``[start, end)`` of Python code points over the stored (normalized) document text, so
``0 <= start < end <= len(text)`` and ``text[start:end] == span.text``.  Other systems that count
differently (Doccano's UI counts UTF-16 code units, brat counts code points of its own file) are
converted at their boundary, never here.

A document carries named *annotation sets*: ``silver`` (what the pre-annotators produced),
``gold`` (human-confirmed, the published layer) and ``annotator/<name>`` (one per human annotator,
as pulled from Doccano, input to agreement and adjudication).  Each set holds spans of the three
layers (``entities``, ``events``, ``attribution``), the events built on trigger spans and the
attributions built on SOURCE / CUE / CONTENT spans.  Every span, event, argument and attribution
carries its provenance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Mapping

LAYERS = ("entities", "events", "attribution")
STATUSES = ("silver", "gold")
SILVER = "silver"
GOLD = "gold"
ANNOTATOR_PREFIX = "annotator/"
ATTRIBUTION_ROLES = ("SOURCE", "CUE", "CONTENT")


def annotator_set(name: str) -> str:
    """The annotation-set name holding one human annotator's labels."""
    return ANNOTATOR_PREFIX + name


MACHINE_PREFIX = "silver/"


def is_machine_set(set_name: str) -> bool:
    """``silver`` and ``silver/<name>`` hold machine annotation; every other set is human."""
    return set_name == SILVER or set_name.startswith(MACHINE_PREFIX)


def set_status(set_name: str) -> str:
    """Silver for machine sets, gold for human ones."""
    return SILVER if is_machine_set(set_name) else GOLD


def document_id(text: str) -> str:
    """Stable id derived from the normalized text: re-ingesting the same article gives the same id."""
    return "doc-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def offset_problem(text: str, start: object, end: object, span_text: object = None) -> str | None:
    """Why ``[start, end)`` is not a valid span over ``text`` (``None`` when it is)."""
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
        return f"offsets [{start!r}, {end!r}) are not integers"
    if start < 0:
        return f"span [{start}, {end}) starts before the text (start must be >= 0)"
    if end <= start:
        return f"span [{start}, {end}) ends before it starts (need start < end)"
    if end > len(text):
        return f"span [{start}, {end}) ends after the text (length {len(text)})"
    if span_text is not None and text[start:end] != span_text:
        return f"span [{start}, {end}) text {span_text!r} does not match the document text {text[start:end]!r}"
    return None


TRAINED_PREFIX = "spanbank.trained."


def trained_agent(layer: str, content_hash: str) -> str:
    """The provenance agent of a trained pre-annotator's layer: ``spanbank.trained.<layer>@<hash12>``.

    ``content_hash`` is the sha256 of the trained pipeline's files, so the name says exactly which
    weights made a span (the registry's "a name never changes its output", for trained models).
    """
    return f"{TRAINED_PREFIX}{layer}@{content_hash[:12]}"


def agent_layer(agent: str) -> str | None:
    """The layer a spanbank pre-annotator agent belongs to (``spanbank.entities.v1`` -> ``entities``,
    ``spanbank.trained.events@ab12..`` -> ``events``); ``None`` for any other agent."""
    if agent.startswith(TRAINED_PREFIX):
        return agent[len(TRAINED_PREFIX):].split("@")[0]
    if agent.startswith("spanbank."):
        return agent.split(".")[1]
    return None


def utc_now() -> str:
    """The current time as :attr:`Provenance.time` writes it: ISO 8601, UTC, seconds, ``Z``."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Provenance:
    """Who or what made an annotation, when, and how far to trust it.

    ``agent`` is an annotator's name (kind ``human``), a pre-annotator's registry name such as
    ``spanbank.entities.v1`` (kind ``machine``) or the file an import came from (kind ``import``).
    """

    agent: str
    status: str = SILVER
    time: str = ""
    kind: str = "machine"
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"provenance status {self.status!r} is not one of {STATUSES}")
        if self.kind not in ("human", "machine", "import"):
            raise ValueError(f"provenance kind {self.kind!r} is not one of human, machine, import")
        if not self.agent:
            raise ValueError("provenance needs an agent (annotator or pre-annotator name)")


@dataclass(frozen=True)
class Span:
    """A labelled ``[start, end)`` stretch of the document text (see the offset convention above)."""

    id: str
    start: int
    end: int
    text: str
    label: str
    layer: str
    provenance: Provenance

    def __post_init__(self) -> None:
        if not self.text or self.end - self.start != len(self.text) or self.start < 0:
            raise ValueError(f"span {self.id}: [{self.start}, {self.end}) does not fit its text {self.text!r}")
        if self.layer not in LAYERS:
            raise ValueError(f"span {self.id}: layer {self.layer!r} is not one of {LAYERS}")


@dataclass(frozen=True)
class Argument:
    """An event argument: a role filled by an entity span (a relation trigger -> entity)."""

    role: str
    span: str
    provenance: Provenance | None = None


@dataclass(frozen=True)
class Event:
    """An event: a trigger span, an event type and its arguments (role -> span id)."""

    id: str
    trigger: str
    type: str
    arguments: tuple[Argument, ...]
    provenance: Provenance


@dataclass(frozen=True)
class Attribution:
    """Who said what (PARC 3.0 style): a CUE span linked to its SOURCE and CONTENT spans.

    ``parent`` names the attribution this one is nested in (an attribution inside another's
    content, e.g. "officials told media ..., Al Arabiya reported").
    """

    id: str
    cue: str
    source: str | None
    content: str
    provenance: Provenance
    parent: str | None = None


@dataclass(frozen=True)
class Relation:
    """A typed link between two spans, as other tools (Doccano, brat) see events and attributions."""

    id: str
    head: str
    tail: str
    type: str
    provenance: Provenance


@dataclass(frozen=True)
class AnnotationSet:
    """One annotation set of one document (``silver``, ``gold`` or ``annotator/<name>``)."""

    name: str
    spans: tuple[Span, ...] = ()
    events: tuple[Event, ...] = ()
    attributions: tuple[Attribution, ...] = ()

    def span(self, span_id: str) -> Span:
        for s in self.spans:
            if s.id == span_id:
                return s
        raise KeyError(span_id)

    def spans_of(self, layer: str) -> tuple[Span, ...]:
        return tuple(s for s in self.spans if s.layer == layer)

    def relations(self) -> Iterator[Relation]:
        """Events and attributions as trigger->argument and cue->source/content relations."""
        for ev in self.events:
            for i, arg in enumerate(ev.arguments):
                yield Relation(f"{ev.id}.{i}", ev.trigger, arg.span, arg.role, arg.provenance or ev.provenance)
        linked: set[tuple[str, str]] = set()  # the parts of a split quotation share one CUE->SOURCE link
        for at in self.attributions:
            if at.source is not None and (at.cue, at.source) not in linked:
                linked.add((at.cue, at.source))
                yield Relation(f"{at.id}.source", at.cue, at.source, "SOURCE", at.provenance)
            yield Relation(f"{at.id}.content", at.cue, at.content, "CONTENT", at.provenance)

    def is_empty(self) -> bool:
        return not (self.spans or self.events or self.attributions)


@dataclass(frozen=True)
class Origin:
    """Where a document came from and what normalization turned the file into the stored text."""

    path: str
    sha256: str
    normalization: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """An article: normalized text, metadata, boundaries (all ``[start, end)`` offsets) and annotation sets."""

    id: str
    text: str
    date: str | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None
    first_release: str | None = None  # the corpus version that first published it (set by `spanbank release`)
    origin: Origin | None = None
    sections: tuple[tuple[int, int], ...] = ()
    paragraphs: tuple[tuple[int, int], ...] = ()
    sentences: tuple[tuple[int, int], ...] = ()
    tokens: tuple[tuple[int, int], ...] = ()
    annotations: Mapping[str, AnnotationSet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, aset in self.annotations.items():
            if name != aset.name:
                raise ValueError(f"document {self.id}: annotation set stored under {name!r} is named {aset.name!r}")
            for s in aset.spans:
                problem = offset_problem(self.text, s.start, s.end, s.text)
                if problem:
                    raise ValueError(f"document {self.id}, set {name}, span {s.id}: {problem}")

    def annotation_set(self, name: str) -> AnnotationSet:
        return self.annotations.get(name) or AnnotationSet(name)

    def with_set(self, aset: AnnotationSet) -> "Document":
        """A copy with ``aset`` replacing (or adding) the set of the same name; empty sets are dropped."""
        sets = {k: v for k, v in self.annotations.items() if k != aset.name}
        if not aset.is_empty():
            sets[aset.name] = aset
        return replace(self, annotations=dict(sorted(sets.items())))

    def published_set(self) -> AnnotationSet:
        """THE published layer: the ``gold`` set when it holds anything, else ``silver`` (empty when neither).

        The one statement of the rule every consumer uses (the Hugging Face build, exports, the Doccano
        push, ``show``); its name is ``.name``.
        """
        gold = self.annotation_set(GOLD)
        return gold if not gold.is_empty() else self.annotation_set(SILVER)

    def without_sets(self) -> "Document":
        return replace(self, annotations={})

    def annotators(self) -> list[str]:
        return [n[len(ANNOTATOR_PREFIX):] for n in self.annotations if n.startswith(ANNOTATOR_PREFIX)]

    def make_span(self, span_id: str, start: int, end: int, label: str, layer: str, provenance: Provenance) -> Span:
        """A span over this document's text; raises ``ValueError`` when the offsets do not fit."""
        problem = offset_problem(self.text, start, end)
        if problem:
            raise ValueError(f"document {self.id}: {problem}")
        return Span(span_id, start, end, self.text[start:end], label, layer, provenance)


# --- label schema -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A span or relation label with what annotators and Doccano need to use it."""

    name: str
    definition: str
    examples: tuple[str, ...] = ()
    color: str = "#888888"
    shortcut: str | None = None


@dataclass(frozen=True)
class Role:
    """An event argument role and the entity types that may fill it."""

    name: str
    entity_types: tuple[str, ...]


@dataclass(frozen=True)
class EventType:
    label: Label
    roles: tuple[Role, ...]

    @property
    def name(self) -> str:
        return self.label.name

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)


@dataclass(frozen=True)
class LabelSchema:
    """The versioned label schema.  Label order is append-only: it is the published ClassLabel order."""

    name: str
    version: str
    entity_types: tuple[Label, ...]
    event_types: tuple[EventType, ...]
    attribution_labels: tuple[Label, ...]
    attribution_links: tuple[Label, ...]
    sha256: str = ""
    gazetteer: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    conventions: tuple[str, ...] = ()
    nesting: str = "allowed"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def entity_names(self) -> list[str]:
        return [lab.name for lab in self.entity_types]

    def event_names(self) -> list[str]:
        return [ev.name for ev in self.event_types]

    def attribution_names(self) -> list[str]:
        return [lab.name for lab in self.attribution_labels]

    def role_names(self) -> list[str]:
        """Every argument role, in first-appearance order over the event types (append-only)."""
        seen: dict[str, None] = {}
        for ev in self.event_types:
            for r in ev.roles:
                seen.setdefault(r.name, None)
        return list(seen)

    def span_labels(self, layer: str) -> list[str]:
        return {"entities": self.entity_names, "events": self.event_names, "attribution": self.attribution_names}[layer]()

    def event_type(self, name: str) -> EventType | None:
        return next((ev for ev in self.event_types if ev.name == name), None)

    def all_labels(self) -> Iterable[tuple[str, Label]]:
        """(layer, label) pairs for every span label, in schema order."""
        for lab in self.entity_types:
            yield "entities", lab
        for ev in self.event_types:
            yield "events", ev.label
        for lab in self.attribution_labels:
            yield "attribution", lab
