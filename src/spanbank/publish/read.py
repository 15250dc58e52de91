"""Read the corpus files as Arrow, in aligned blocks of documents, with bounded memory.

Both files are cut into blocks of whole lines and each block is parsed with ``pyarrow.json``
(explicit schema, so no type inference: a date stays the string it is), each file on its own
thread.  ``annotations.jsonl`` is sorted by document id like the documents, so each block of
documents maps to a contiguous run of annotation records, cut from the second stream.  Records
are counted, not lines: ``line_of`` turns a record index back into a real file line (blank lines
skipped) when an error has to name one.
"""

from __future__ import annotations

import queue
import threading
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as paj

from ..errors import CorpusError, PublishError
from .. import jsonl, records
from ..store import Corpus
from .tokens import split_tokens

def arrow_type(type_: object) -> pa.DataType:
    """The Arrow type of a record field type of :mod:`spanbank.records`."""
    if isinstance(type_, records.Struct):
        return pa.struct([(f.key, arrow_type(f.type)) for f in type_.fields])
    if isinstance(type_, records.ListOf):
        return pa.list_(arrow_type(type_.item))
    return {records.STRING: pa.string(), records.INT: pa.int64(), records.PAIRS: pa.list_(pa.list_(pa.int64()))}[type_]


# the corpus files' schemas, derived from the one declaration of the record format
DOCUMENTS = pa.schema([(f.key, arrow_type(f.type)) for f in records.DOCUMENT.fields])
ANNOTATIONS = pa.schema([(f.key, arrow_type(f.type)) for f in records.annotation_fields()])
PAIRS = arrow_type(records.PAIRS)
DEFAULT_BLOCK = 8 << 20  # bytes of documents.jsonl per block
T = TypeVar("T")


@dataclass(frozen=True)
class Block:
    """A run of documents and all their annotation records; ``*_row`` = index of the first record in its file."""

    docs: pa.RecordBatch
    ann: pa.RecordBatch
    doc_row: int
    ann_row: int


def blocks(corpus: Corpus, block_size: int = DEFAULT_BLOCK) -> Iterator[Block]:
    """The corpus as aligned blocks, in document order, read one block ahead on a background thread."""
    return _prefetched(_blocks(corpus, block_size))


def _blocks(corpus: Corpus, block_size: int) -> Iterator[Block]:
    """Both files parsed on their own threads (each parse is single-threaded), cut into aligned blocks here."""
    with closing(_Annotations(corpus.annotations_path, block_size)) as annotations, \
            closing(_prefetched(_batches(corpus.documents_path, DOCUMENTS, block_size))) as batches:
        doc_row = 0
        for docs in batches:
            if docs.num_rows:
                ann, ann_row = annotations.upto(docs.column("id")[-1].as_py())
                yield Block(docs, ann, doc_row, ann_row)
                doc_row += docs.num_rows
        annotations.check_done()


def _prefetched(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """``items`` produced on a background thread (pyarrow parses without the GIL), at most ``depth`` ahead."""
    channel: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((None, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((None, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator stops here, on its own thread (nested readers stop theirs)

    thread = threading.Thread(target=produce, name="spanbank-read", daemon=True)
    thread.start()
    try:
        while True:
            item, error = channel.get()
            if error is not None:
                raise error
            if item is None:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def line_of(path: Path, row: int) -> int:
    """The file line (1-based) of record ``row`` (0-based, blank lines skipped)."""
    seen = -1
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                seen += 1
                if seen == row:
                    return lineno
    return seen + 2


def _batches(path: Path, schema: pa.Schema, block_size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of a JSONL file, ``block_size`` bytes (whole lines) at a time.

    The file is cut into blocks here and each is parsed with ``read_json`` as one piece (one
    thread, one chunk: no copy to combine pyarrow's 1 MB parse blocks; the two corpus files are
    parsed in parallel instead): ``open_json`` would read the whole file ahead of a slower
    consumer.  A line pyarrow cannot read is reported at its own file line.
    """
    if not path.exists():
        return
    options = paj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    with path.open("rb") as fh:
        for chunk in _whole_lines(fh, block_size):
            try:
                yield _parse(chunk, schema, options)
            except pa.ArrowInvalid as exc:
                for _ in jsonl.read(path):  # raises CorpusError naming file:line when a line is not a JSON object
                    pass
                raise PublishError(f"a record does not fit the corpus format ({exc})", path=str(path),
                                   hint="run `spanbank validate` for every problem") from None


def _parse(chunk: bytes, schema: pa.Schema, options: paj.ParseOptions) -> pa.RecordBatch:
    """One block of lines as one record batch; documents' ``tokens`` through the fast path when it applies."""
    fast = split_tokens(chunk, schema.field("tokens").type) if schema is DOCUMENTS else None
    table = paj.read_json(pa.BufferReader(fast[0] if fast else chunk), parse_options=options,
                          read_options=paj.ReadOptions(use_threads=False, block_size=len(chunk) + 1))
    batch = table.combine_chunks().to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist([], schema)
    if fast:
        i = schema.get_field_index("tokens")
        batch = pa.RecordBatch.from_arrays([fast[1] if j == i else c for j, c in enumerate(batch.columns)], schema=schema)
    return batch


def _whole_lines(fh: BinaryIO, block_size: int) -> Iterator[bytes]:
    """Blocks of about ``block_size`` bytes ending at a line end (a longer line is one block); blank blocks skipped."""
    tail = b""
    while True:
        data = fh.read(block_size)
        buffer = tail + data
        cut = len(buffer) if not data else buffer.rfind(b"\n") + 1
        if cut:
            block, tail = buffer[:cut], buffer[cut:]
            if not block.isspace():
                yield block
        else:
            tail = buffer
        if not data:
            return


class _Annotations:
    """The annotation stream, cut at document ids (both files are sorted by document id)."""

    def __init__(self, path: Path, block_size: int) -> None:
        self.path = path
        self.batches = _prefetched(_batches(path, ANNOTATIONS, block_size))
        self.pending: list[pa.RecordBatch] = []
        self.row = 0
        self.done = False

    def upto(self, last_id: str) -> tuple[pa.RecordBatch, int]:
        """Every pending record whose document id is <= ``last_id``, and the record index of the first."""
        while not self.done and (not self.pending or self.pending[-1].column("doc")[-1].as_py() <= last_id):
            batch = next(self.batches, None)
            if batch is None:
                self.done = True
            elif batch.num_rows:
                self.pending.append(batch)
        merged = pa.concat_batches(self.pending) if self.pending else pa.RecordBatch.from_pylist([], ANNOTATIONS)
        inside = np.asarray(pc.fill_null(pc.less_equal(merged.column("doc"), last_id), True))
        k = int(inside.sum())
        if not inside[:k].all():  # a record for an earlier document after one for a later document
            after = int(np.flatnonzero(~inside)[0])
            self.fail(merged, after + int(np.flatnonzero(inside[after:])[0]))
        first = self.row
        self.row += k
        self.pending = [merged.slice(k)] if k < merged.num_rows else []
        return merged.slice(0, k), first

    def close(self) -> None:
        self.batches.close()  # stops the parsing thread

    def check_done(self) -> None:
        """Records left after the last document belong to no document."""
        if not self.pending:
            batch = next(self.batches, None)
            self.pending = [batch] if batch is not None else []
        if self.pending:
            self.fail(self.pending[0], 0)

    def fail(self, batch: pa.RecordBatch, offset: int) -> None:
        """Report record ``offset`` of ``batch`` (counted from the current position) as orphaned or out of order."""
        raise CorpusError(f"annotation for document {batch.column('doc')[offset].as_py()!r} has no document, or is "
                          "out of order", path=str(self.path), line=line_of(self.path, self.row + offset),
                          hint="run `spanbank validate` for the full list")
