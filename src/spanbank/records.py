"""The corpus record format, declared once.

Every line of ``documents.jsonl`` and ``annotations.jsonl`` is one of the records below.  The
store's JSON codec (:func:`encode` / :func:`decode`, used by :mod:`spanbank.store`) and the Arrow
schemas the Hugging Face build parses the files with (:mod:`spanbank.publish.read`) are both derived
from these tables, so adding a field to ``Span`` means adding one :class:`Field` here (plus the model).

A field names its record key, its type, the model attribute it holds (default: the key), the value
taken when the key is absent on reading (:data:`REQUIRED`: it must be present) and the values left
out on writing (``omit``).  Keys are written sorted (the store's lines are canonical).  The codec's
functions are generated from the tables once per record kind (so they cost what hand-written ones do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import orjson

from .model import SILVER, AnnotationSet, Argument, Attribution, Document, Event, Origin, Provenance, Span

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
    *(Field(key, STRING, default=None, omit=(None,)) for key in ("date", "title", "url", "source", "first_release")),
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


def _compile(struct: Struct) -> tuple[Callable[[Any], dict[str, Any]], Callable[..., Any]]:
    """(encode, decode) of ``struct`` as Python functions generated from its fields (as fast as hand-written ones)."""
    env: dict[str, Any] = {"model": struct.model, "KeyError": KeyError}
    enc, dec = ["def encode(o):", "    out = {}"], []
    for i, f in enumerate(struct.fields):
        env[f"omit{i}"], env[f"default{i}"] = f.omit, f.default
        value = _encode_expr(f.type, "v", env, i)
        enc.append(f"    v = o.{f.name}")
        put = f"out[{f.key!r}] = {value}" if value == "v" else f"out[{f.key!r}] = {value} if v is not None else None"
        enc.append(f"    if v not in omit{i}: {put}" if f.omit else f"    {put}")
        raw = f"r[{f.key!r}]" if f.default is REQUIRED else f"r.get({f.key!r}, default{i})"
        dec.append(f"{f.name}={_decode_expr(f.type, raw, env, i)}")
    source = "\n".join(enc + ["    return out", "def decode(r, **extra):",
                              "    return model(" + ", ".join(dec) + ", **extra)"])
    exec(compile(source, f"<spanbank.records {struct.model.__name__}>", "exec"), env)  # noqa: S102
    return env["encode"], env["decode"]


def _encode_expr(type_: Any, v: str, env: dict[str, Any], i: int) -> str:
    if isinstance(type_, Struct):
        env[f"enc{i}"] = _codec(type_)[0]
        return f"enc{i}({v})"
    if isinstance(type_, ListOf):
        if isinstance(type_.item, Struct):
            env[f"enc{i}"] = _codec(type_.item)[0]
            return f"[enc{i}(x) for x in {v}]"
        return f"list({v})"
    return v  # strings, ints and pairs serialize as they are


def _decode_expr(type_: Any, raw: str, env: dict[str, Any], i: int) -> str:
    if isinstance(type_, Struct):  # a null or empty struct decodes to None
        env[f"dec{i}"] = _codec(type_)[1]
        return f"(dec{i}(_v) if (_v := {raw}) else None)"
    if isinstance(type_, ListOf):
        if isinstance(type_.item, Struct):
            env[f"dec{i}"] = _codec(type_.item)[1]
            return f"tuple(dec{i}(x) if x else None for x in {raw})"
        return f"tuple({raw})"
    if type_ == PAIRS:
        return f"tuple((int(a), int(b)) for a, b in {raw} or ())"
    return raw


_CODECS: dict[int, tuple[Callable[[Any], dict[str, Any]], Callable[..., Any]]] = {}


def _codec(struct: Struct) -> tuple[Callable[[Any], dict[str, Any]], Callable[..., Any]]:
    codec = _CODECS.get(id(struct))
    if codec is None:
        codec = _CODECS[id(struct)] = _compile(struct)
    return codec


def encode(obj: Any, struct: Struct) -> dict[str, Any]:
    """The record of a model object (keys of omitted values left out)."""
    return _codec(struct)[0](obj)


def decode(record: dict[str, Any], struct: Struct, **extra: Any) -> Any:
    """The model object of a record (``extra``: further constructor arguments); a missing required key raises
    ``KeyError``."""
    return _codec(struct)[1](record, **extra)


def decoder(struct: Struct) -> Callable[..., Any]:
    """:func:`decode` for one struct, as the generated function itself (for loops over many records)."""
    return _codec(struct)[1]


def encoder(struct: Struct) -> Callable[[Any], dict[str, Any]]:
    """:func:`encode` for one struct, as the generated function itself."""
    return _codec(struct)[0]


DUMP = orjson.OPT_SORT_KEYS if SORTED_KEYS else 0


# --- the codec, generated from the tables above -------------------------------------------------------------------------------


def prov_to_json(p: Provenance) -> dict[str, Any]:
    return encode(p, PROVENANCE)


def prov_from_json(d: dict[str, Any]) -> Provenance:
    return decode(d, PROVENANCE)


def document_record(doc: Document) -> dict[str, Any]:
    """The documents.jsonl record of ``doc`` (its annotation sets go to :func:`annotation_records`)."""
    return encode(doc, DOCUMENT)


def annotation_records(doc: Document) -> Iterator[dict[str, Any]]:
    """The annotation lines of one document, in canonical order: by set, kind (span, event, attribution), id."""
    for name in sorted(doc.annotations):
        aset = doc.annotations[name]
        base = {"doc": doc.id, "set": name}
        for kind, items in (("span", aset.spans), ("event", aset.events), ("attribution", aset.attributions)):
            encode = _ENCODERS[kind]
            for item in sorted(items, key=lambda x: x.id):
                yield {**base, "kind": kind, **encode(item)}


def document_from_records(rec: dict[str, Any], ann: Iterable[dict[str, Any]]) -> Document:
    """Rebuild a document from its documents.jsonl record and its annotation lines."""
    sets: dict[str, dict[str, list]] = {}
    for r in ann:
        bucket = sets.setdefault(r["set"], {"span": [], "event": [], "attribution": []})
        bucket[r["kind"]].append(_annotation_from_record(r))
    annotations = {name: AnnotationSet(name, tuple(b["span"]), tuple(b["event"]), tuple(b["attribution"]))
                   for name, b in sorted(sets.items())}
    return _DECODE_DOCUMENT(rec, annotations=annotations)


_ENCODERS = {kind: encoder(struct) for kind, struct in KINDS.items()}
_DECODERS = {kind: decoder(struct) for kind, struct in KINDS.items()}
_DECODE_DOCUMENT = decoder(DOCUMENT)


def _annotation_from_record(r: dict[str, Any]) -> Span | Event | Attribution:
    decode = _DECODERS.get(r["kind"])
    if decode is None:
        raise ValueError(f"unknown annotation kind {r['kind']!r} (allowed: {', '.join(KINDS)})")
    return decode(r)


def dumps(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=DUMP) + b"\n"
