"""brat standoff writing: one annotation set of a document as ``<stem>.txt`` + ``<stem>.ann``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import SpanbankError
from ..model import Argument, Document
from .brat_read import EVENT_ID, PARENT_ROLE, SPAN_ID

def _ids(items: Iterable[str], pattern: re.Pattern, prefix: str, taken: set[str]) -> dict[str, str]:
    """Model id -> brat id: kept when already a valid, unused brat id, else the next free number."""
    items = list(items)
    out: dict[str, str] = {}
    for item in items:
        if pattern.match(item) and item not in taken:
            out[item] = item
            taken.add(item)
    n = 1
    for item in items:
        if item in out:
            continue
        while f"{prefix}{n}" in taken:
            n += 1
        out[item] = f"{prefix}{n}"
        taken.add(out[item])
    return out


def _fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A span split at line breaks (brat cannot show a newline inside a fragment).

    A span that starts or ends with a line break cannot be written (its fragments would read back
    shorter): SpanbankError.
    """
    if text[start] == "\n" or text[end - 1] == "\n":
        raise SpanbankError(f"span [{start}, {end}) starts or ends with a line break, which brat cannot store",
                            value=text[start:end], hint="trim the span to its words")
    frags, s = [], start
    for i in range(start, end):
        if text[i] == "\n":
            if i > s:
                frags.append((s, i))
            s = i + 1
    if end > s:
        frags.append((s, end))
    return frags


def ann_lines(doc: Document, set_name: str) -> Iterator[str]:
    """The ``.ann`` lines (without newlines) for one annotation set of ``doc``."""
    aset = doc.annotation_set(set_name)
    spans = sorted(aset.spans, key=lambda s: (s.start, s.end, s.layer, s.label, s.id))
    tid = _ids((s.id for s in spans), SPAN_ID, "T", set())
    eid = _ids([e.id for e in aset.events] + [a.id for a in aset.attributions], EVENT_ID, "E", set())
    for s in spans:
        frags = _fragments(doc.text, s.start, s.end)
        where = ";".join(f"{a} {b}" for a, b in frags)
        yield f"{tid[s.id]}\t{s.label} {where}\t{' '.join(doc.text[a:b] for a, b in frags)}"
    for e in aset.events:
        yield f"{eid[e.id]}\t{e.type}:{tid[e.trigger]}" + "".join(f" {r}:{tid[a.span]}" for r, a in _numbered(e.arguments))
    for a in aset.attributions:
        args = ([f"SOURCE:{tid[a.source]}"] if a.source else []) + [f"CONTENT:{tid[a.content]}"]
        if a.parent:
            args.append(f"{PARENT_ROLE}:{eid[a.parent]}")
        yield f"{eid[a.id]}\tCUE:{tid[a.cue]} " + " ".join(args)


def _numbered(arguments: Iterable[Argument]) -> Iterator[tuple[str, Argument]]:
    """brat's convention for a repeated role: Entity, Entity2, Entity3."""
    seen: dict[str, int] = {}
    for arg in arguments:
        seen[arg.role] = seen.get(arg.role, 0) + 1
        yield (arg.role if seen[arg.role] == 1 else f"{arg.role}{seen[arg.role]}"), arg


def write_brat(doc: Document, set_name: str, folder: str | Path, stem: str | None = None) -> tuple[Path, Path]:
    """Write ``doc``'s text and one annotation set as ``<stem>.txt`` + ``<stem>.ann``; returns both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or doc.id
    txt, ann = folder / f"{stem}.txt", folder / f"{stem}.ann"
    txt.write_text(doc.text, encoding="utf-8", newline="")
    ann.write_text("".join(line + "\n" for line in ann_lines(doc, set_name)), encoding="utf-8", newline="")
    return txt, ann
