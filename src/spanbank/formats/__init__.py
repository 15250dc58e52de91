"""Other tools' annotation formats, read into the model and written back out: one registry.

:data:`FORMATS` names every format with the module that handles it and what it does with it.
A new format is one module and one line there:

- an importer module exposes ``read_paths(paths, options, report) -> Iterator[Imported]`` and
  ``OPTIONS`` (its :class:`ReaderOption` s; the CLI turns each into ``--name``);
- an exporter module exposes ``write(items, out) -> (files, notes)`` over ``(document, set name)``
  pairs and ``CANNOT_CARRY`` (what the format loses; :mod:`.export` reports it).

Readers yield :class:`Imported` items: a document (normalized text, as ingest stores it) holding
one annotation set, built against the label schema through an optional :class:`LabelMap`.
:func:`import_documents` / :func:`merge_sorted` attach them to the documents of a corpus; the
caller writes the result.  A built Hugging Face dataset is read back by ``spanbank.publish``
(the CLI composes that import: ``spanbank import --format hf``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import InputError
from .importing import (ImportOptions, Imported, ImportReport, ReaderOption, Segmenter, checked, guarded,
                        import_documents, merge_sorted, staged_documents, write_rejects)
from .labelmap import DEFAULT_ATTRIBUTION_MAP, MAP_SECTIONS, LabelMap, load_label_map, shipped_label_maps


@dataclass(frozen=True)
class Format:
    module: str  # a module of this package
    reads: bool = False
    writes: bool = False


# The registry: name -> module and direction.  Export order is the order shown by `spanbank export --help`.
FORMATS = {
    "conll": Format("conll", reads=True, writes=True),
    "conllu": Format("conll", reads=True),
    "brat": Format("brat", reads=True, writes=True),
    "spacy": Format("docbin", writes=True),
    "doccano": Format("doccano", writes=True),
}
IMPORT_FORMATS = tuple(sorted(name for name, f in FORMATS.items() if f.reads))
EXPORT_FORMATS = tuple(name for name, f in FORMATS.items() if f.writes)


def format_module(fmt: str, direction: str = "reads"):
    """The module handling ``fmt`` in ``direction`` (``reads`` or ``writes``)."""
    entry = FORMATS.get(fmt)
    if entry is None or not getattr(entry, direction):
        allowed = IMPORT_FORMATS if direction == "reads" else EXPORT_FORMATS
        raise InputError(f"unknown {'import' if direction == 'reads' else 'export'} format {fmt!r}", value=fmt,
                         allowed=allowed)
    return importlib.import_module(f".{entry.module}", __name__)


def reader_options() -> dict[str, tuple[ReaderOption, list[str]]]:
    """Every reader option of every import format: key -> (option, formats that take it)."""
    out: dict[str, tuple[ReaderOption, list[str]]] = {}
    for fmt in IMPORT_FORMATS:
        for opt in getattr(format_module(fmt), "OPTIONS", ()):
            out.setdefault(opt.key, (opt, []))[1].append(fmt)
    return out


def read_paths(fmt: str, paths: Iterable[str | Path], options: ImportOptions,
               report: ImportReport | None = None) -> Iterator[Imported]:
    """Every document in ``paths`` (files or folders) read in format ``fmt`` (one of :data:`IMPORT_FORMATS`)."""
    module = format_module(fmt)
    if options.format != fmt:
        options = replace(options, format=fmt)
    return module.read_paths(paths, options, report)


__all__ = [
    "DEFAULT_ATTRIBUTION_MAP", "EXPORT_FORMATS", "FORMATS", "IMPORT_FORMATS", "MAP_SECTIONS", "Format", "ImportOptions",
    "ImportReport", "Imported", "LabelMap", "ReaderOption", "Segmenter", "checked", "format_module", "guarded",
    "import_documents", "load_label_map", "merge_sorted", "read_paths", "reader_options", "shipped_label_maps",
    "staged_documents", "write_rejects",
]
