"""The corpus record format, declared once.

Every line of ``documents.jsonl`` and ``annotations.jsonl`` is one of the records below.  The
store's JSON codec (:func:`encode` / :func:`decode`, used by :mod:`spanbank.store`) and the Arrow
schemas the Hugging Face build parses the files with (:mod:`spanbank.publish.read`) are both derived
from these tables, so adding a field to ``Span`` means adding one :class:`Field` here (plus the model).

A field names its record key, its type, the model attribute it holds (default: the key), the value
taken when the key is absent on reading (:data:`REQUIRED`: it must be present) and the values left
out on writing (``omit``).  Keys are written sorted (the store's lines are canonical).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .model import SILVER, Argument, Attribution, Document, Event, Origin, Provenance, Span

SORTED_KEYS = True  # every record is written with its keys sorted (canonical lines; the build's tokens fast path)
STRING, INT, PAIRS = "string", "int", "pairs"  # PAIRS: [[start, end], ...] (a tuple of int pairs in the model)
REQUIRED = object()


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class Struct:
    model: Callable[..., Any]
    fields: tuple["Field", ...]


@dataclass(frozen=True)
class Field:
    key: str
    type: Any
    attr: str = ""
    default: Any = REQUIRED
    omit: tuple = ()

    @property
    def name(self) -> str:
        return self.attr or self.key


PROVENANCE = Struct(Provenance, (
    Field("agent", STRING), Field("status", STRING, default=SILVER), Field("kind", STRING, default="machine"),
    Field("time", STRING, default="", omit=("",)), Field("detail", STRING, default="", omit=("",))))
PROV = Field("prov", PROVENANCE, "provenance")
ORIGIN = Struct(Origin, (Field("path", STRING), Field("sha256", STRING),
                         Field("normalization", ListOf(STRING), default=())))
DOCUMENT = Struct(Document, (
    Field("id", STRING), Field("text", STRING),
    *(Field(key, STRING, default=None, omit=(None,)) for key in ("date", "title", "url", "source")),
    *(Field(key, PAIRS, default=()) for key in ("sections", "paragraphs", "sentences", "tokens")),
    Field("origin", ORIGIN, default=None, omit=(None,))))
# an annotation line: these keys, then the fields of its kind
ANNOTATION_KEYS = (Field("doc", STRING), Field("set", STRING), Field("kind", STRING))
ARGUMENT = Struct(Argument, (Field("role", STRING), Field("span", STRING),
                             Field("prov", PROVENANCE, "provenance", default=None, omit=(None,))))
KINDS: dict[str, Struct] = {
    "span": Struct(Span, (Field("id", STRING), Field("layer", STRING), Field("label", STRING), Field("start", INT),
                          Field("end", INT), Field("text", STRING), PROV)),
    "event": Struct(Event, (Field("id", STRING), Field("trigger", STRING), Field("type", STRING),
                            Field("arguments", ListOf(ARGUMENT), default=()), PROV)),
    "attribution": Struct(Attribution, (Field("id", STRING), Field("cue", STRING), Field("source", STRING, default=None),
                                        Field("content", STRING), Field("parent", STRING, default=None), PROV)),
}
KIND_OF = {struct.model: kind for kind, struct in KINDS.items()}


def annotation_fields() -> list[Field]:
    """Every key an annotation line may have (the union over the kinds, first occurrence first)."""
    out: dict[str, Field] = {f.key: f for f in ANNOTATION_KEYS}
    for struct in KINDS.values():
        for f in struct.fields:
            out.setdefault(f.key, f)
    return list(out.values())


# --- the JSON codec ---------------------------------------------------------------------------------


def _encoder(type_: Any) -> Callable[[Any], Any] | None:
    if isinstance(type_, Struct):
        return lambda value: encode(value, type_)
    if isinstance(type_, ListOf):
        inner = _encoder(type_.item)
        return (lambda value: [inner(v) for v in value]) if inner else list
    return None  # strings, ints and pairs serialize as they are


def _decoder(type_: Any) -> Callable[[Any], Any] | None:
    if isinstance(type_, Struct):
        return lambda value: decode(value, type_) if value else None
    if isinstance(type_, ListOf):
        inner = _decoder(type_.item)
        return (lambda value: tuple(inner(v) for v in value)) if inner else tuple
    if type_ == PAIRS:
        return lambda value: tuple((int(a), int(b)) for a, b in value or ())
    return None


_PLANS: dict[int, tuple] = {}


def _plan(struct: Struct) -> tuple:
    plan = _PLANS.get(id(struct))
    if plan is None:
        plan = _PLANS[id(struct)] = tuple((f.key, f.name, f.default, f.omit, _encoder(f.type), _decoder(f.type))
                                          for f in struct.fields)
    return plan


def encode(obj: Any, struct: Struct) -> dict[str, Any]:
    """The record of a model object (keys of omitted values left out)."""
    out: dict[str, Any] = {}
    for key, name, _, omit, enc, _ in _plan(struct):
        value = getattr(obj, name)
        if omit and value in omit:
            continue
        out[key] = enc(value) if enc is not None and value is not None else value
    return out


def decode(record: dict[str, Any], struct: Struct, **extra: Any) -> Any:
    """The model object of a record (``extra``: further constructor arguments); a missing required key raises
    ``KeyError``."""
    kwargs = extra
    for key, name, default, _, _, dec in _plan(struct):
        if key in record:
            value = record[key]
            kwargs[name] = dec(value) if dec is not None else value
        elif default is REQUIRED:
            raise KeyError(key)
        else:
            kwargs[name] = dec(default) if dec is not None and default is not None else default
    return struct.model(**kwargs)
