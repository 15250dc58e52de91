"""brat standoff (``.txt`` + ``.ann``): read into the model and write back out.

Lines read:

- ``T1<TAB>LABEL START END<TAB>text`` - a span.  Offsets are code points into the ``.txt`` file as
  it is on disk (BOM and CR included); they are checked against the text and converted to the
  stored, normalized text (BOM removed, CRLF -> LF, NFC, outer whitespace stripped - as ingest does).
  Discontinuous spans (``T1 LOC 0 5;6 9``): when every gap is whitespace (brat splits a span at line
  breaks this way) the fragments are joined into one span; a gap holding text follows
  ``--discontinuous``: ``error`` (default; names file:line and the gap text), ``outer`` (one span
  from the first start to the last end, gap included) or ``parts`` (one span per fragment: ``T1``,
  ``T1-2``, ...; events and attributions point at the first).  Labels given to ``--drop-label`` are
  dropped like labels a map sends to null (with what hangs on them).
- ``E1<TAB>TYPE:T3 Role:T1 Role2:T2`` - an event on trigger T3 (repeated roles carry brat's digit
  suffix, which is dropped).  When the trigger is a CUE span, the line is an attribution
  (PolNeAR style): ``E2<TAB>CUE:T5 SOURCE:T4 CONTENT:T6 [Parent:E1]``.
- ``R1<TAB>SOURCE Arg1:T5 Arg2:T4`` / ``R2<TAB>CONTENT Arg1:T5 Arg2:T6`` - the other way to write an
  attribution: links from a CUE span, grouped by cue.  Other relation types are dropped (reported).
- ``E3<TAB>Attribution:T9 Source:T4 Cue:T5 Content:T6`` - attribution written as an event whose
  trigger type is ``--attribution-trigger`` (the trigger span itself is not kept): the roles map
  through ``attribution_roles`` of the map file (default Source / Cue / Content); an argument span
  whose label is not the role's (an entity span as the source) gets a copy labelled with it.

Layouts: ``--text-dir`` reads each ``.txt`` from another folder than its ``.ann``;
``--annotator-from-name REGEX`` takes the annotator from the ``.ann`` file name (group
``annotator`` or the first group; the document's file stem is group ``doc`` or the name with the
match removed), and each annotator's file fills the set ``annotator/<name>``.
- ``A``/``M`` attribute lines, ``N`` normalizations and ``*`` equivalences are checked to point at
  known ids and then dropped (the model has no place for them; the import report lists them);
  ``#`` notes are ignored.

Event type names contain a colon (``Conflict:Attack``); the trigger id is the part after the last one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import InputError
from ..model import Document, annotator_set
from .brat_read import OffsetMap, read_brat
from .brat_write import ann_lines, write_brat
from .importing import ImportOptions, Imported, ImportReport, ReaderOption, guarded

DISCONTINUOUS = ("error", "outer", "parts")
OPTIONS = (
    ReaderOption("text-dir", "brat: folder holding the .txt files (default: beside each .ann)."),
    ReaderOption("annotator-from-name", "brat: REGEX on the .ann file stem giving the annotator (group 'annotator' or "
                 "the first group); each annotator's file fills set annotator/<name>."),
    ReaderOption("attribution-trigger", "brat: event trigger type of attribution E-lines (roles Source/Cue/Content, "
                 "renamed by attribution_roles in --map-file)."),
    ReaderOption("drop-label", "Drop spans with this label, and what hangs on them (repeatable).", multiple=True),
    ReaderOption("discontinuous", "brat: a span with text in a gap: error (default), outer (one span over the gap) or "
                 "parts (one span per fragment).", choices=DISCONTINUOUS),
)
CANNOT_CARRY = ["provenance (status and annotator are the import's)", "document metadata (date, title, url)"]
__all__ = ["CANNOT_CARRY", "OPTIONS", "OffsetMap", "ann_lines", "brat_files", "read_brat", "read_paths", "write",
           "write_brat"]


# --- reading: which files, in which layout ------------------------------------------------------


def brat_files(paths: Iterable[str | Path]) -> list[Path]:
    """The ``.ann`` of every brat document named directly (as .txt or .ann) or found below a folder."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.ann")))
        elif p.suffix in (".ann", ".txt"):
            out.append(p.with_suffix(".ann"))
        else:
            raise InputError("not a brat file or folder", path=str(p), hint="name .ann/.txt files or a folder of them")
    return out


def _layout(ann: Path, options: ImportOptions) -> tuple[Path, ImportOptions]:
    """The ``.txt`` of one ``.ann`` and the options to read it with (its annotator's set, when named in the file)."""
    stem, pattern = ann.stem, options.get("annotator_from_name")
    if pattern is not None:
        try:
            m = re.search(pattern, stem)
        except re.error as exc:
            raise InputError(f"--annotator-from-name {pattern!r} is not a regular expression ({exc})", value=pattern) from None
        if m is None or not m.groups():
            raise InputError(f"--annotator-from-name {pattern!r} does not match the file name {stem!r}"
                             + ("" if m is None else " with a group"), path=str(ann), value=stem,
                             hint="give a pattern with a group for the annotator, e.g. '_(\\w+)$' for doc1_alice.ann")
        named = m.groupdict()
        name = named.get("annotator") or m.group(1)
        stem = named.get("doc") or (stem[:m.start()] + stem[m.end():])
        options = replace(options, set_name=annotator_set(name), annotator=name)
    folder = Path(options.get("text_dir", ann.parent))
    return folder / f"{stem}.txt", options


def read_paths(paths: Iterable[str | Path], options: ImportOptions,
               report: ImportReport | None = None) -> Iterator[Imported]:
    text_dir = options.get("text_dir")
    if text_dir is not None and not Path(text_dir).is_dir():
        raise InputError("--text-dir is not a folder", path=str(text_dir), hint="give the folder holding the .txt files")
    for ann in brat_files(paths):
        txt, file_options = _layout(ann, options)
        item = guarded(str(ann), lambda: read_brat(txt, file_options, report, ann_path=ann), options, report)
        if item is not None:
            yield item


# --- writing ------------------------------------------------------------------------------------


def write(items: Iterable[tuple[Document, str]], out: Path) -> tuple[list[Path], list[str]]:
    """Each (document, set name) as ``<id>.txt`` + ``<id>.ann`` under ``out``."""
    files: list[Path] = []
    for doc, set_name in items:
        files += write_brat(doc, set_name, out)
    return files, []
