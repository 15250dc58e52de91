"""Versioned pre-annotator registry (spaCy's ``"spacy.NER.v3"`` style).

A registry name such as ``spanbank.entities.v1`` names one fixed behaviour: a released name never
changes its output.  New behaviour is registered under a new version (``.v2``), keeping the old
one runnable, so that the provenance ``agent`` on every silver span says exactly how it was made.

A *factory* takes the label schema and the loaded spaCy pipeline and returns an *annotator*: a
callable ``(Parsed) -> Output`` for one layer.  Lexicons are data files under ``schema/lexicons/``
(shipped as package data: :mod:`spanbank.resources`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from .. import yamlio
from ..errors import SchemaError, SpanbankError
from ..model import Attribution, Document, Event, LabelSchema, Provenance, Span
from ..resources import data_path

LEXICONS = data_path("schema", "lexicons")
DEFAULTS = {
    "entities": "spanbank.entities.v2",
    "events": "spanbank.events.v2",
    "attribution": "spanbank.attribution.v2",
}


@dataclass
class Parsed:
    """One document on its way through the pre-annotators.

    ``sdoc`` is the spaCy parse of ``doc.text`` (so token ``idx`` values are our code-point
    offsets); ``entities`` holds the silver entity spans known so far (the entity layer's output
    in this run, or the silver entities already stored), which the event layer attaches to.
    """

    doc: Document
    sdoc: Any
    entities: list[Span] = field(default_factory=list)


@dataclass
class Output:
    """What one annotator produced for one document."""

    spans: list[Span] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)


class Annotator(Protocol):
    name: str
    layer: str

    def __call__(self, parsed: Parsed, provenance: Provenance) -> Output: ...


Factory = Callable[[LabelSchema, Any], Annotator]
_FACTORIES: dict[str, tuple[str, Factory]] = {}


def register(name: str, layer: str) -> Callable[[Factory], Factory]:
    """Decorator: register ``factory`` under the versioned ``name`` for ``layer``."""

    def deco(factory: Factory) -> Factory:
        if name in _FACTORIES:
            raise ValueError(f"pre-annotator {name!r} is registered twice")
        _FACTORIES[name] = (layer, factory)
        return factory

    return deco


def names() -> list[str]:
    return sorted(_FACTORIES)


def layer_of(name: str) -> str:
    return _lookup(name)[0]


def create(name: str, schema: LabelSchema, model: Any) -> Annotator:
    """An annotator instance for the registered ``name``."""
    return _lookup(name)[1](schema, model)


def _lookup(name: str) -> tuple[str, Factory]:
    if name not in _FACTORIES:
        raise SpanbankError(f"unknown pre-annotator {name!r}", value=name, allowed=names(),
                            hint="use one of the registered versioned names")
    return _FACTORIES[name]


def load_lexicon(name: str) -> dict[str, Any]:
    """A lexicon file from ``schema/lexicons/`` (a located SchemaError when unreadable)."""
    path = LEXICONS / name
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SchemaError(f"cannot read lexicon: {exc.strerror or exc}", path=str(path),
                          hint="restore the file from git") from None
    except yamlio.YAMLError as exc:
        problem, line = yamlio.problem(exc)
        raise SchemaError(f"invalid YAML: {problem}", path=str(path), line=line) from None
    if not isinstance(data, dict):
        raise SchemaError("a lexicon must be a YAML mapping", path=str(path))
    return data


def span_id(prefix: str, start: int, end: int) -> str:
    """Deterministic span ids: the same extent gets the same id in every run."""
    return f"{prefix}-{start}-{end}"
