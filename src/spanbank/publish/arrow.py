"""Vectorized building blocks for the Arrow-native build: grouped lists, offset pairs, code-point slicing.

Everything here works on whole columns (one block of documents at a time) with ``pyarrow.compute``
and numpy; nothing loops over rows in Python.  Grouping relies on rows being sorted by document:
a per-row document index ``doc`` (non-decreasing) turns into list offsets with one ``bincount``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BIG = np.int64(1) << 32  # key = doc * BIG + offset: per-document searches in one global sorted array


@contextmanager
def system_allocator() -> Iterator[None]:
    """Arrow allocates from the C library's allocator meanwhile (then the previous pool again).

    The build allocates and frees block-sized buffers all the time; pyarrow's default mimalloc pool hands
    their pages back to the system and faults them in again, which costs the build about a tenth of its
    CPU time (mostly in the kernel); glibc's malloc keeps them.  Arrow buffers remember their own pool, so
    buffers made before or during the switch are freed correctly whatever the pool is later.
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenated ``arange(starts[i], starts[i] + lengths[i])`` (negative lengths count as 0)."""
    lengths = np.maximum(np.asarray(lengths, np.int64), 0)
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    return np.repeat(np.asarray(starts, np.int64) - (ends - lengths), lengths) + np.arange(total, dtype=np.int64)


def offsets_of(lengths: np.ndarray) -> np.ndarray:
    """List offsets (int32, leading 0) from per-list lengths."""
    out = np.zeros(len(lengths) + 1, np.int32)
    np.cumsum(lengths, out=out[1:])
    return out


def group_offsets(doc: np.ndarray, n: int) -> np.ndarray:
    """Offsets of the per-document lists of rows sorted by their document index ``doc`` (0 <= doc < n)."""
    return offsets_of(np.bincount(doc, minlength=n))


def list_of(type_: pa.ListType, offsets: np.ndarray, values: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, type=type_)


def struct(type_: pa.StructType, columns: Mapping[str, pa.Array | np.ndarray], mask: np.ndarray | None = None) -> pa.StructArray:
    """A struct array of ``type_`` from its columns by field name (each cast to the field's type); ``mask``: True = null."""
    arrays = [as_array(columns[f.name], f.type) for f in type_]
    mask = pa.array(mask, pa.bool_()) if mask is not None and mask.any() else None
    return pa.StructArray.from_arrays(arrays, fields=list(type_), mask=mask)


def as_array(values: pa.Array | np.ndarray, type_: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of ``type_`` (cast only when needed)."""
    array = values if isinstance(values, pa.Array) else pa.array(values)
    return array if array.type == type_ else array.cast(type_)


def numpy(array: pa.Array, fill: int = 0) -> np.ndarray:
    """An integer column as int64 numpy (nulls become ``fill``)."""
    if array.null_count:
        array = pc.fill_null(array, fill)
    return array.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def first_true(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def encode(values: pa.Array, names: list[str]) -> tuple[pa.Array, int | None]:
    """ClassLabel ids (int64) of ``values`` in ``names`` order, and the index of the first unknown value (or None)."""
    ids = pc.index_in(values, value_set=pa.array(names, pa.string()))
    bad = first_true(np.asarray(ids.is_null())) if ids.null_count else None
    return ids.cast(pa.int64()), bad


def lookup(keys: pa.Array, table: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Row of each key in ``table`` (first match) and a "found" mask; missing keys get row 0."""
    rows = pc.index_in(keys, value_set=table)
    return numpy(rows), np.asarray(rows.is_valid())


def pair_lists(column: pa.Array, type_: pa.ListType) -> tuple[pa.ListArray, int | None]:
    """JSON ``[[s, e], ...]`` lists -> ``list<struct<start, end>>`` (a missing list becomes ``[]``).

    Returns the array and the index of the first row holding a pair that is not two integers (or None).
    Lists that already hold structs (the tokens fast path's, :mod:`.tokens`) are only cast to ``type_``.
    """
    if pa.types.is_struct(column.type.value_type):
        return column.cast(type_), None
    outer = numpy(pc.list_value_length(column))
    inner = pc.list_flatten(column)
    inner_len = numpy(pc.list_value_length(inner), fill=-1)
    if len(inner_len) and (inner_len != 2).any() or pc.list_flatten(inner).null_count:
        parents = numpy(pc.list_parent_indices(column))
        bad = first_true(inner_len != 2)
        return column, int(parents[bad if bad is not None else 0])
    values = numpy(pc.list_flatten(inner))
    item = type_.value_type
    pairs = struct(item, {item.field(0).name: values[0::2], item.field(1).name: values[1::2]})
    return list_of(type_, offsets_of(outer), pairs), None


def take_batch(batch: pa.RecordBatch, rows: np.ndarray) -> pa.RecordBatch:
    """``batch.take(rows)``, with list columns without nulls taken through their values (a nested take is slow)."""
    indices = pa.array(rows, pa.int64())
    columns = [reorder(c, rows) if pa.types.is_list(c.type) and not c.null_count and c.offset == 0 else c.take(indices)
               for c in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def reorder(lists: pa.ListArray, order: np.ndarray) -> pa.ListArray:
    """``lists.take(order)`` for a list of flat values, as one flat take (a nested take is much slower)."""
    offsets = np.asarray(lists.offsets, np.int64)
    lengths = np.diff(offsets)[order]
    rows = pa.array(ranges(offsets[:-1][order], lengths))
    values = lists.values
    if pa.types.is_struct(values.type) and not values.null_count:  # field by field: no validity bitmap appears
        values = pa.StructArray.from_arrays([values.field(i).take(rows) for i in range(values.type.num_fields)],
                                            fields=list(values.type))
    else:
        values = values.take(rows)
    return list_of(lists.type, offsets_of(lengths), values)


class Texts:
    """Code-point slicing of a column of texts: offsets are code points (THE convention), Arrow stores UTF-8.

    Only the continuation bytes (``10xxxxxx``) are located: a code point numbered ``g`` over the
    whole data buffer starts at byte ``g + #{j : cont[j] - j <= g}``, so ASCII costs nothing and
    no per-character array is built.
    """

    def __init__(self, texts: pa.StringArray) -> None:
        n = len(texts)
        offsets = np.frombuffer(texts.buffers()[1], np.int32)[texts.offset:texts.offset + n + 1].astype(np.int64)
        data_buffer = texts.buffers()[2]
        self.data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
        lo, hi = int(offsets[0]), int(offsets[-1])
        cont = np.flatnonzero((self.data[lo:hi] & 0xC0) == 0x80) + lo
        self._shift = cont - np.arange(len(cont))  # code point number of the lead byte before each continuation byte
        self.base = offsets - np.searchsorted(cont, offsets)  # code point number of each text's first character (+ end)
        self.length = np.diff(self.base)

    def byte_of(self, doc: np.ndarray, cp: np.ndarray) -> np.ndarray:
        """Byte position of code point ``cp`` of text ``doc`` (clamped into the text, like Python slicing)."""
        return self._bytes(self.base[doc] + np.clip(cp, 0, self.length[doc]))

    def _bytes(self, g: np.ndarray) -> np.ndarray:
        """Byte positions of the global code point numbers ``g``."""
        shift = self._shift
        if len(shift) and 4 * len(shift) < len(g) and (g[1:] >= g[:-1]).all():
            # ascending queries (tokens), fewer continuation bytes: place each of those among the queries instead
            return g + np.cumsum(np.bincount(np.searchsorted(g, shift, "left"), minlength=len(g) + 1)[:len(g)])
        return g + np.searchsorted(shift, g, "right")

    def slice(self, doc: np.ndarray, start: np.ndarray, end: np.ndarray) -> pa.StringArray:
        """``text[doc][start:end]`` for every row, as one string array."""
        n = len(doc)
        if n > 1 and len(self.data) < 2**31 and (start >= 0).all() and (end <= self.length[doc]).all():
            # inside their texts, and maybe ordered and disjoint (tokens): placed in one pass, cut in one copy
            base = self.base[doc]
            bounds = np.empty(2 * n, np.int64)
            np.add(start, base, out=bounds[0::2])
            np.add(end, base, out=bounds[1::2])
            if (bounds[1:] >= bounds[:-1]).all():
                return _alternate(self.data, self._bytes(bounds))
        first = self.byte_of(doc, start)
        last = np.maximum(self.byte_of(doc, end), first)
        return take_bytes(self.data, first, last - first)


def _alternate(data: np.ndarray, bounds: np.ndarray) -> pa.StringArray:
    """The strings ``data[bounds[2i]:bounds[2i + 1]]`` of ascending ``bounds``: the buffer viewed zero-copy as
    strings alternating range / gap, of which every other one is taken (one C++ copy)."""
    n = len(bounds) // 2
    whole = pa.StringArray.from_buffers(2 * n - 1, pa.py_buffer(bounds.astype(np.int32)), pa.py_buffer(data))
    taken = whole.take(pa.array(np.arange(0, 2 * n, 2, dtype=np.int64)))
    offsets, chars = taken.buffers()[1:]
    return pa.StringArray.from_buffers(n, offsets, chars)  # no validity bitmap (the byte counts stay exact)


def take_bytes(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> pa.StringArray:
    """The strings ``data[starts[i]:starts[i] + lengths[i]]`` (valid UTF-8 ranges) as one string array."""
    lengths = np.maximum(np.asarray(lengths, np.int64), 0)
    starts = np.asarray(starts, np.int64)
    n = len(lengths)
    if n > 1 and len(data) < 2**31 and (starts[1:] >= starts[:-1] + lengths[:-1]).all() and starts[0] >= 0:
        bounds = np.empty(2 * n, np.int64)
        bounds[0::2] = starts
        bounds[1::2] = starts + lengths
        return _alternate(data, bounds)
    chars = data[ranges(starts, lengths)]
    offsets = offsets_of(lengths)
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(chars))


def keyed(doc: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Per-document sort keys: one global ascending array stands for every document's sorted offsets."""
    offset = np.asarray(offset, np.int64)
    if len(offset) and (offset.min() < -1 or offset.max() >= BIG):  # (np.clip itself costs 10x these two scans)
        offset = np.clip(offset, -1, BIG - 1)
    key = np.left_shift(np.asarray(doc, np.int64), 32)  # doc * BIG
    key += offset
    return key
