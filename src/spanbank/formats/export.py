"""``spanbank export``: the corpus in other tools' formats, and what each format cannot carry.

Each writer re-imports to the same annotations where its format can hold them (tested per format);
what it cannot hold is listed in :data:`CANNOT_CARRY` and in the export report.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import orjson

from ..errors import InputError
from ..model import GOLD, SILVER, Document
from . import brat, conll, docbin

FORMATS = ("conll", "brat", "spacy", "doccano")
CANNOT_CARRY = {
    "conll": ["events and attribution layers (entities only, IOB2)", "nested or overlapping entities (outer span kept)",
              "exact whitespace of the text (tokens joined by spaces on re-import)", "provenance"],
    "brat": ["provenance (status and annotator are the import's)", "document metadata (date, title, url)"],
    "spacy": ["overlapping entities in doc.ents (all spans are in doc.spans and user_data)"],
    "doccano": ["provenance per span (Doccano keeps only the importing user)",
                "events and attributions as objects (sent as trigger->argument and cue->source/content relations)"],
}


@dataclass
class ExportReport:
    files: list[str] = field(default_factory=list)
    documents: int = 0
    notes: list[str] = field(default_factory=list)


def published_set(doc: Document, set_name: str | None) -> str:
    """The set to export: the one asked for, else gold where present, else silver."""
    return set_name or doc.published_set().name


def export(fmt: str, docs: Iterable[Document], out: Path, set_name: str | None = None,
           progress: Callable[[int], None] | None = None) -> ExportReport:
    """Write ``docs`` to ``out`` (a folder) in ``fmt``; returns the files and what the format could not carry."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}", allowed=FORMATS)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(notes=list(CANNOT_CARRY[fmt]))
    counted = _counting(docs, report, progress)
    if fmt == "conll":
        path = out / "corpus.conll"
        with path.open("w", encoding="utf-8") as fh:
            for doc in counted:
                conll.write_conll([doc], published_set(doc, set_name), fh)
        report.files.append(str(path))
    elif fmt == "brat":
        for doc in counted:
            txt, ann = brat.write_brat(doc, published_set(doc, set_name), out)
            report.files += [str(txt), str(ann)]
    elif fmt == "spacy":
        path = out / "corpus.spacy"
        report.notes += docbin.write_docbin(((doc, published_set(doc, set_name)) for doc in counted), path)
        report.files.append(str(path))
    else:
        from ..doccano import sync  # the Doccano JSONL row format (UTF-16 offsets) lives with the sync

        path = out / "corpus.jsonl"
        with path.open("wb") as fh:
            for doc in counted:
                aset = doc.annotation_set(published_set(doc, set_name))
                only = doc.without_sets().with_set(replace(aset, name=GOLD if aset.name != SILVER else SILVER))
                fh.write(orjson.dumps(sync.payload(only)) + b"\n")
        report.files.append(str(path))
    return report


def _counting(docs: Iterable[Document], report: ExportReport, progress: Callable[[int], None] | None) -> Iterator[Document]:
    for doc in docs:
        report.documents += 1
        if progress:
            progress(1)
        yield doc
