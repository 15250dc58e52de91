"""JSONL files as byte ranges of whole lines: the reader :meth:`spanbank.store.Corpus.aligned` cuts blocks with.

A :class:`Lines` reads a file forward through a buffer and finds line ends, blank lines and a line's
key without parsing more than the lines it looks at; :func:`read_range` parses a byte range back.
Errors name the file:line (counted by :func:`line_at` only when one is raised).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Iterator

import orjson

from . import jsonl
from .errors import CorpusError


def read_range(path: Path, start: int, end: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(byte offset, record) of every non-blank line in ``[start, end)`` of ``path`` (bad lines raise as :func:`jsonl.read` does)."""
    if start == end:
        return
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    pos = start
    for raw in data.split(b"\n"):
        here, pos = pos, pos + len(raw) + 1
        if raw.strip():
            yield here, record(raw, path, here)


def record(raw: bytes | bytearray, path: Path, offset: int) -> dict[str, Any]:
    """One line's record; a line that is not a JSON object raises as :func:`jsonl.read` does (file:line:offset)."""
    try:
        rec = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CorpusError(f"not valid JSON: {exc.msg} (character {exc.pos} of the line)", path=str(path),
                          line=line_at(path, offset), offset=exc.pos, hint=jsonl.FIX) from None
    if not isinstance(rec, dict):
        raise CorpusError(f"record is not a JSON object: {rec!r:.60}", path=str(path), line=line_at(path, offset),
                          hint=jsonl.FIX)
    return rec


def line_at(path: Path, offset: int) -> int:
    """The file line (1-based) holding byte ``offset`` of ``path`` (counted only when an error names it)."""
    line, left = 1, offset
    with path.open("rb") as fh:
        while left > 0 and (data := fh.read(min(left, 1 << 20))):
            line += data.count(b"\n")
            left -= len(data)
    return line


BLANK = frozenset(b" \t\r\n\f\v")


class Lines:
    """A JSONL file read forward in whole lines through a buffer (about one read ahead, or the longest line).

    ``buf[pos:]`` is the part not handed out yet; the ``cut_*`` methods return buffer indices, and
    :meth:`take` hands out ``buf[pos:cut]`` as a read-only view (no copy: a read goes into a new
    buffer, so a view handed out never changes).
    """

    def __init__(self, path: Path, read_size: int) -> None:
        self.path = path
        self.fh: IO[bytes] | None = path.open("rb") if path.exists() else None
        self.read_size = read_size
        self.buf = bytearray()
        self.pos = 0
        self.base = 0  # file offset of buf[0]

    def __enter__(self) -> "Lines":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()

    def more(self) -> bool:
        """Read the next piece of the file (after the unread rest, in a new buffer); False at the end."""
        if self.fh is None:
            return False
        rest = len(self.buf) - self.pos
        new = bytearray(rest + max(self.read_size, rest))  # a long line doubles the read: its copies stay linear
        new[:rest] = memoryview(self.buf)[self.pos:]
        got = self.fh.readinto(memoryview(new)[rest:]) or 0
        if not got:
            self.fh.close()
            self.fh = None
            return False
        del new[rest + got:]
        self.buf, self.base, self.pos = new, self.base + self.pos, 0
        return True

    def take(self, cut: int) -> tuple[int, memoryview]:
        """(file offset, view) of ``buf[pos:cut]``, which is then handed out."""
        start = self.base + self.pos
        view = memoryview(self.buf).toreadonly()[self.pos:cut]
        self.pos = cut
        return start, view

    def line_end(self, rel: int) -> int:
        """The end, relative to ``pos``, of the line starting ``rel`` bytes after ``pos``, reading on as needed; 0 at the end."""
        while (nl := self.buf.find(b"\n", self.pos + rel)) < 0:
            if not self.more():
                return len(self.buf) - self.pos if self.pos + rel < len(self.buf) else 0
        return nl + 1 - self.pos

    def cut_docs(self, count: int) -> tuple[int, int]:
        """(end of the first ``count`` non-blank lines, how many there are: fewer at the end of the file)."""
        rel = n = 0
        while n < count and (end := self.line_end(rel)):
            n += not blank(self.buf, self.pos + rel, self.pos + end)
            rel = end
        return self.pos + rel, n

    def cut_bytes(self, size: int) -> int:
        """The end of the whole lines within about ``size`` bytes (at least one line; the rest of the file when shorter)."""
        while len(self.buf) - self.pos < size and self.more():
            pass
        if self.fh is None and len(self.buf) - self.pos <= size:
            return len(self.buf)
        cut = self.buf.rfind(b"\n", self.pos, self.pos + size) + 1
        if cut > self.pos:
            return cut
        rel = self.line_end(0)  # a line longer than size (may read on, which moves pos)
        return self.pos + rel

    def _key(self, start: int, end: int, field: str) -> object:
        return record(self.buf[start:end], self.path, self.base + start).get(field)

    def last_key(self, cut: int, field: str) -> str | None:
        """``field`` of the last non-blank line in ``buf[pos:cut]`` (None when there is none)."""
        end = cut
        while end > self.pos:
            start = max(self.buf.rfind(b"\n", self.pos, end - 1) + 1, self.pos)
            if not blank(self.buf, start, end):
                key = self._key(start, end, field)
                if not isinstance(key, str):
                    raise CorpusError(f"the record has no {field!r} string: {key!r}", path=str(self.path),
                                      line=line_at(self.path, self.base + start),
                                      hint="run `spanbank validate` for every problem")
                return key
            end = start
        return None

    def _doc(self, start: int, end: int) -> str:
        doc = self._key(start, end, "doc")
        if not isinstance(doc, str):
            self._orphan(start, doc)
        return doc  # type: ignore[return-value]

    def _orphan(self, start: int, doc: object) -> None:
        raise CorpusError(f"annotation for document {doc!r} has no document, or is out of order", path=str(self.path),
                          line=line_at(self.path, self.base + start), hint="run `spanbank validate` for the full list")

    def _nextrecord(self, start: int, end: int) -> tuple[int, int] | None:
        """(start, end) of the first non-blank line at or after ``start``, before ``end``."""
        while start < end:
            nl = self.buf.find(b"\n", start, end)
            stop = end if nl < 0 else nl + 1
            if not blank(self.buf, start, stop):
                return start, stop
            start = stop
        return None

    def cut_upto(self, last: str) -> int:
        """The end of the annotation lines whose ``doc`` is at most ``last`` (bisection: the lines are sorted by ``doc``)."""
        while True:  # read on until the buffer holds a record for a later document, or the file ends
            end = self.buf.rfind(b"\n", self.pos) + 1
            tail = max(self.buf.rfind(b"\n", self.pos, end - 1) + 1, self.pos)
            if end > self.pos and not blank(self.buf, tail, end) and self._doc(tail, end) > last:
                break
            if not self.more():
                end = len(self.buf)
                break
        lo, hi = self.pos, end
        while lo < hi:
            start = max(self.buf.rfind(b"\n", lo, (lo + hi) // 2) + 1, lo)
            found = self._nextrecord(start, hi)
            if found is None:
                hi = start
            elif self._doc(*found) <= last:
                lo = found[1]
            else:
                hi = found[0]
        return lo

    def no_more(self) -> None:
        """Annotation lines left after the last document belong to no document: report the first."""
        rel = 0
        while end := self.line_end(rel):
            if not blank(self.buf, self.pos + rel, self.pos + end):
                self._orphan(self.pos + rel, self._key(self.pos + rel, self.pos + end, "doc"))
            rel = end


def blank(buf: bytearray, start: int, end: int) -> bool:
    return start == end or (buf[start] in BLANK and not buf[start:end].strip())
