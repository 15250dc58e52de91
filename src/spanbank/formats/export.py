"""``spanbank export``: the corpus in other tools' formats, and what each format cannot carry.

The exporters are the registry's (:data:`spanbank.formats.FORMATS`); each writer re-imports to the
same annotations where its format can hold them (tested per format); what it cannot hold is its
module's ``CANNOT_CARRY``, listed in the export report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..model import Document
from . import format_module



@dataclass
class ExportReport:
    files: list[str] = field(default_factory=list)
    documents: int = 0
    notes: list[str] = field(default_factory=list)


def published_set(doc: Document, set_name: str | None) -> str:
    """The set to export: the one asked for, else gold where present, else silver."""
    return set_name or doc.published_set().name


def cannot_carry(fmt: str) -> list[str]:
    """What format ``fmt`` cannot carry (its exporter module's ``CANNOT_CARRY``)."""
    return list(format_module(fmt, "writes").CANNOT_CARRY)


def export(fmt: str, docs: Iterable[Document], out: Path, set_name: str | None = None,
           progress: Callable[[int], None] | None = None) -> ExportReport:
    """Write ``docs`` to ``out`` (a folder) in ``fmt``; returns the files and what the format could not carry."""
    module = format_module(fmt, "writes")
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(notes=list(module.CANNOT_CARRY))
    files, notes = module.write(((doc, published_set(doc, set_name)) for doc in _counting(docs, report, progress)), out)
    report.files += [str(f) for f in files]
    report.notes += notes
    return report


def _counting(docs: Iterable[Document], report: ExportReport, progress: Callable[[int], None] | None) -> Iterator[Document]:
    for doc in docs:
        report.documents += 1
        if progress:
            progress(1)
        yield doc
