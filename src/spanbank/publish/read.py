"""Read the corpus files as Arrow, in aligned blocks of documents, with bounded memory.

The files are cut by :meth:`Corpus.aligned` (the one cut of documents and their annotations into
blocks, whole lines of about ``block_size`` bytes of documents.jsonl, ramped: the first and last blocks are
smaller, so the build's stages start and finish together) and each block of each file
is parsed with ``pyarrow.json`` (explicit schema, so no type inference: a date stays the string it
is), each file on its own thread, so both parse at the same time.
Records are counted, not lines: ``line_of`` turns a record index back into a real file line (blank
lines skipped) when an error has to name one.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TypeVar

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
    """The parsed cuts, their annotations checked to be in order and after the previous block's documents."""
    doc_row = ann_row = 0
    after = None  # the previous block's last document id
    for docs, ann in _parsed(corpus, block_size):
        if docs.num_rows:
            last = docs.column("id")[-1].as_py()
            bad = _misplaced(ann.column("doc"), after, last)
            if bad is not None:
                raise corpus.misplaced(CorpusError(
                    f"annotation for document {ann.column('doc')[bad].as_py()!r} has no document, or is out of order",
                    path=str(corpus.annotations_path), line=line_of(corpus.annotations_path, ann_row + bad),
                    hint="run `spanbank validate` for the full list"))
            yield Block(docs, ann, doc_row, ann_row)
            doc_row += docs.num_rows
            ann_row += ann.num_rows
            after = last


def _misplaced(doc: pa.Array, after: str | None, last: str) -> int | None:
    """The index of the first record of ``doc`` (document ids) not in order or not in ``(after, last]``, or None."""
    if not len(doc):
        return None
    ok = pc.fill_null(pc.less_equal(doc, last), False)
    if after is not None:
        ok = pc.and_(ok, pc.fill_null(pc.greater(doc, after), False))
    if len(doc) > 1:
        ok = pc.and_(ok, pa.concat_arrays([pa.array([True]), pc.greater_equal(doc.slice(1), doc.slice(0, len(doc) - 1))]))
    ok = np.asarray(pc.fill_null(ok, False))
    return None if ok.all() else int(np.flatnonzero(~ok)[0])


def _parsed(corpus: Corpus, block_size: int) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch]]:
    """Each aligned cut parsed, each file on a thread of its own (each parse is single-threaded), two cuts in flight."""
    doc_options = paj.ParseOptions(explicit_schema=DOCUMENTS, unexpected_field_behavior="ignore")
    ann_options = paj.ParseOptions(explicit_schema=ANNOTATIONS, unexpected_field_behavior="ignore")
    flying: deque[tuple[Future, Future]] = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="spanbank-read-documents") as doc_thread, \
            ThreadPoolExecutor(1, thread_name_prefix="spanbank-read-annotations") as ann_thread:
        try:
            for _, doc_bytes, ann_bytes in corpus.aligned(max_bytes=block_size, ramp=True):
                flying.append((doc_thread.submit(_parse_file, doc_bytes, corpus.documents_path, DOCUMENTS, doc_options),
                               ann_thread.submit(_parse_file, ann_bytes, corpus.annotations_path, ANNOTATIONS,
                                                 ann_options)))
                if len(flying) > 1:
                    docs, ann = flying.popleft()
                    yield docs.result(), ann.result()
            while flying:
                docs, ann = flying.popleft()
                yield docs.result(), ann.result()
        finally:
            for jobs in flying:
                for job in jobs:
                    job.cancel()


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


def _parse_file(chunk: bytes | memoryview, path: Path, schema: pa.Schema, options: paj.ParseOptions) -> pa.RecordBatch:
    """:func:`_parse`; a line pyarrow cannot read is reported at its own file line."""
    try:
        return _parse(chunk, schema, options)
    except pa.ArrowInvalid as exc:
        for _ in jsonl.read(path):  # raises CorpusError naming file:line when a line is not a JSON object
            pass
        raise PublishError(f"a record does not fit the corpus format ({exc})", path=str(path),
                           hint="run `spanbank validate` for every problem") from None


def _parse(chunk: bytes | memoryview, schema: pa.Schema, options: paj.ParseOptions) -> pa.RecordBatch:
    """One block of lines as one record batch; documents' ``tokens`` through the fast path when it applies (they
    then arrive as :data:`~.tokens.TYPE`, already the published pairs, instead of lists of two numbers)."""
    if not len(chunk):
        return pa.RecordBatch.from_pylist([], schema)
    if schema is DOCUMENTS and not isinstance(chunk, bytes):
        chunk = chunk.tobytes()  # the tokens fast path works on bytes
    fast = split_tokens(chunk) if schema is DOCUMENTS else None
    table = paj.read_json(pa.BufferReader(fast[0] if fast else chunk), parse_options=options,
                          read_options=paj.ReadOptions(use_threads=False, block_size=len(chunk) + 1))
    batch = table.combine_chunks().to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist([], schema)
    if fast:
        i = schema.get_field_index("tokens")
        batch = pa.RecordBatch.from_arrays([fast[1] if j == i else c for j, c in enumerate(batch.columns)],
                                           schema=schema.set(i, schema.field(i).with_type(fast[1].type)))
    return batch
