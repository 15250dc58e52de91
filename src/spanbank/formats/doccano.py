"""The Doccano JSONL row of a document and the UTF-16 offset conversion (pure: no HTTP, no corpus files).

Offsets: the corpus counts Python code points; Doccano's UI counts UTF-16 code units (the project is
kept in ``grapheme_mode=False``).  :class:`Utf16` converts at this boundary, both ways; only astral
characters (emoji, ...) differ, combining marks and ZWJ sequences count the same in both.

The row is Doccano's RelationExtraction JSONL: ``text``, ``entities`` (numeric per-document ids, UTF-16
offsets), ``relations`` (``from_id``/``to_id``/``type``), plus the meta keys :data:`META_KEYS` on every
row and never null.  Events go as trigger spans plus trigger->argument relations typed by role;
attributions as CUE spans plus CUE->SOURCE ('SOURCE') and CUE->CONTENT ('CONTENT') relations.
``spanbank_rev`` is :func:`fingerprint` of exactly what was sent, so a pull can tell whether the labels
on the server are still the pushed ones.  ``spanbank doccano push`` sends these rows, and
``spanbank export --format doccano`` writes them.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from ..model import GOLD, SILVER, Document

META_KEYS = ("spanbank_id", "spanbank_rev", "spanbank_set", "spanbank_pusher")
LINK_TYPES = ("SOURCE", "CONTENT")
ASTRAL = re.compile("[\U00010000-\U0010ffff]")


# --- offsets ------------------------------------------------------------------------------------


class Utf16:
    """Code point <-> UTF-16 code unit offsets over one text (only astral characters differ)."""

    def __init__(self, text: str) -> None:
        self.astral = [m.start() for m in ASTRAL.finditer(text)]
        self.starts16 = [a + k for k, a in enumerate(self.astral)]
        self.length16 = len(text) + len(self.astral)

    def to16(self, i: int) -> int:
        return i + bisect.bisect_left(self.astral, i)

    def from16(self, j: int) -> int | None:
        """The code point offset of UTF-16 offset ``j``; None when it is outside or splits a surrogate pair."""
        if not isinstance(j, int) or j < 0 or j > self.length16:
            return None
        k = bisect.bisect_left(self.starts16, j)
        if k and j == self.starts16[k - 1] + 1:
            return None
        return j - k


def utf16_slice(text: str, start: int, end: int) -> str:
    """What Doccano's UI shows for ``[start, end)`` in UTF-16 units (JavaScript ``substring``)."""
    return text.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le", errors="replace")


# --- the row ------------------------------------------------------------------------------------


def fingerprint(entities: list[dict], relations: list[dict]) -> str:
    """A hash of spans and relations independent of ids and order (same for what we send and what comes back)."""
    by_id = {e["id"]: (e["start_offset"], e["end_offset"], e["label"]) for e in entities}
    ents = sorted(by_id[e["id"]] for e in entities)
    rels = sorted((by_id[r["from_id"]], by_id[r["to_id"]], r["type"]) for r in relations
                  if r["from_id"] in by_id and r["to_id"] in by_id)
    return hashlib.sha256(orjson.dumps([ents, rels])).hexdigest()[:16]


def payload(doc: Document, pusher: str = "") -> dict[str, Any]:
    """The RelationExtraction JSONL row of one document (UTF-16 offsets, numeric per-document ids)."""
    aset, u16 = doc.published_set(), Utf16(doc.text)  # gold when it has one, else silver
    spans = sorted(aset.spans, key=lambda s: (s.start, s.end, s.label, s.id))
    number = {s.id: i for i, s in enumerate(spans, start=1)}
    entities = [{"id": number[s.id], "start_offset": u16.to16(s.start), "end_offset": u16.to16(s.end), "label": s.label}
                for s in spans]
    relations = [{"id": i, "from_id": number[r.head], "to_id": number[r.tail], "type": r.type}
                 for i, r in enumerate((r for r in aset.relations() if r.head in number and r.tail in number), start=1)]
    return {"text": doc.text, "entities": entities, "relations": relations, "spanbank_id": doc.id,
            "spanbank_rev": fingerprint(entities, relations), "spanbank_set": aset.name or SILVER,
            "spanbank_pusher": pusher}


def revision(doc: Document) -> str:
    """The ``spanbank_rev`` a push of ``doc`` would send now."""
    return payload(doc)["spanbank_rev"]


def iter_payloads(docs: Iterator[Document], pusher: str = "") -> Iterator[bytes]:
    """JSONL lines of the rows of ``docs`` (the export, and the benchmark's raw-import baseline file)."""
    for doc in docs:
        yield orjson.dumps(payload(doc, pusher)) + b"\n"


CANNOT_CARRY = ["provenance per span (Doccano keeps only the importing user)",
                "events and attributions as objects (sent as trigger->argument and cue->source/content relations)"]


def write(items: Iterable[tuple[Document, str]], out: Path) -> tuple[list[Path], list[str]]:
    """The exporter: each (document, set name) as one row of ``corpus.jsonl`` (the set sent as gold,
    or as silver when it is silver) — the rows ``spanbank doccano push`` uploads."""
    path = out / "corpus.jsonl"
    with path.open("wb") as fh:
        for doc, set_name in items:
            aset = doc.annotation_set(set_name)
            only = doc.without_sets().with_set(replace(aset, name=GOLD if aset.name != SILVER else SILVER))
            fh.write(orjson.dumps(payload(only)) + b"\n")
    return [path], []


__all__ = ["CANNOT_CARRY", "LINK_TYPES", "META_KEYS", "Utf16", "fingerprint", "iter_payloads", "payload", "revision", "write",
           "utf16_slice"]
