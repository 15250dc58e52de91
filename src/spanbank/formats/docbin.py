"""spaCy DocBin export (``.spacy``) and its re-import.

Entities that do not overlap go into ``doc.ents`` (what spaCy's NER trains on); every span of every
layer goes into ``doc.spans["entities" | "events" | "attribution"]``; the full annotation set
(events with arguments, attributions with nesting, provenance) travels in ``doc.user_data`` so the
file re-imports to exactly the same annotations.  Spans that do not fall on spaCy token boundaries
cannot appear in ``ents``/``spans`` and are reported (they are still in ``user_data``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from .. import nlp
from ..errors import CorpusError
from ..model import LAYERS, Document
from ..store import annotation_records, document_from_records, document_record

USER_KEY = "spanbank"
CANNOT_CARRY = ["overlapping entities in doc.ents (all spans are in doc.spans and user_data)"]


def _non_overlapping(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Longest-first greedy choice of entities that do not overlap (doc.ents cannot overlap)."""
    chosen: list[tuple[int, int, str]] = []
    for s in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(s[1] <= c[0] or c[1] <= s[0] for c in chosen):
            chosen.append(s)
    return sorted(chosen)


def _record(doc: Document, set_name: str) -> dict:
    aset = doc.annotation_set(set_name)
    spans = {layer: [(s.start, s.end, s.label) for s in aset.spans_of(layer)] for layer in LAYERS}
    only = doc.without_sets().with_set(aset)
    return {"text": doc.text, "ents": _non_overlapping(spans["entities"]), "spans": spans,
            "user_data": {USER_KEY: {"document": document_record(only), "annotations": list(annotation_records(only))}}}


def write_docbin(items: Iterable[tuple[Document, str]], path: str | Path) -> list[str]:
    """Write (document, annotation set name) pairs to a ``.spacy`` file; returns what it could not carry."""
    ids, overlapping = [], 0

    def records() -> Iterator[dict]:
        nonlocal overlapping
        for doc, set_name in items:
            rec = _record(doc, set_name)
            ids.append(doc.id)
            overlapping += len(rec["spans"]["entities"]) - len(rec["ents"])
            yield rec

    misaligned = nlp.write_docbin(str(path), records())
    notes = [f"{ids[i]}: span [{s}, {e}) {label} is not on token boundaries (kept in user_data only)"
             for i, s, e, label in misaligned]
    if overlapping:
        notes.append(f"{overlapping} overlapping entity span(s) are in doc.spans['entities'] but not in doc.ents")
    return notes


def read_docbin(path: str | Path) -> Iterator[Document]:
    """Documents back from a file written by :func:`write_docbin`."""
    for text, user_data, _ in nlp.read_docbin(str(path)):
        data = user_data[USER_KEY]
        doc = document_from_records(data["document"], data["annotations"])
        if doc.text != text:
            raise CorpusError(f"document {doc.id} text differs from the spaCy Doc text", path=str(path),
                              hint="the file was not written by spanbank export --format spacy")
        yield doc


def write(items: Iterable[tuple[Document, str]], out: Path) -> tuple[list[Path], list[str]]:
    """Every (document, set name) in ``out/corpus.spacy``; the notes name what did not fit ``ents``/``spans``."""
    path = out / "corpus.spacy"
    return [path], write_docbin(items, path)
