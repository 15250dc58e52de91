"""What goes over the wire: UTF-16 offsets, the JSONL row of a document, revisions (shared by push and pull).

Offsets: the corpus counts Python code points; Doccano's UI counts UTF-16 code units (the project is
kept in ``grapheme_mode=False``).  :class:`Utf16` converts at this boundary, both ways.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import orjson

from ..model import SILVER, AnnotationSet, Document

Progress = Callable[[int], None] | None
META_KEYS = ("spanbank_id", "spanbank_rev", "spanbank_set", "spanbank_pusher")
ASTRAL = re.compile("[\U00010000-\U0010ffff]")
LINK_TYPES = ("SOURCE", "CONTENT")


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


# --- what goes to the server ---------------------------------------------------------------------


def pushed_set(doc: Document) -> AnnotationSet:
    """The set a document sends: gold when it has one, else silver."""
    return doc.published_set()


def fingerprint(entities: list[dict], relations: list[dict]) -> str:
    """A hash of spans and relations independent of ids and order (same for what we send and what comes back)."""
    by_id = {e["id"]: (e["start_offset"], e["end_offset"], e["label"]) for e in entities}
    ents = sorted(by_id[e["id"]] for e in entities)
    rels = sorted((by_id[r["from_id"]], by_id[r["to_id"]], r["type"]) for r in relations
                  if r["from_id"] in by_id and r["to_id"] in by_id)
    return hashlib.sha256(orjson.dumps([ents, rels])).hexdigest()[:16]


def payload(doc: Document, pusher: str = "") -> dict[str, Any]:
    """The RelationExtraction JSONL row of one document (UTF-16 offsets, numeric per-document ids)."""
    aset, u16 = pushed_set(doc), Utf16(doc.text)
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
    return payload(doc)["spanbank_rev"]


def iter_payloads(docs: Iterator[Document], pusher: str = "") -> Iterator[bytes]:
    """JSONL rows for a raw bulk import of ``docs`` (used by the benchmark as the baseline file)."""
    for doc in docs:
        yield orjson.dumps(payload(doc, pusher)) + b"\n"



class Background(ThreadPoolExecutor):
    """Helper threads that are told to stop (``stop``) and joined before the caller's ``with`` ends."""

    def __init__(self) -> None:
        super().__init__(max_workers=3, thread_name_prefix="spanbank-doccano")
        self.stop = threading.Event()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.shutdown(wait=True, cancel_futures=True)
