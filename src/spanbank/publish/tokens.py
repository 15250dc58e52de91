"""A fast path for the ``tokens`` field of documents.jsonl: the store's canonical lines, parsed in numpy.

``tokens`` (``[[start, end], ...]``, hundreds of pairs per document) is about 60% of the bytes of
documents.jsonl and nearly 90% of pyarrow's JSON parse time for it.  The store writes every
document as one line with sorted keys, so ``"tokens"`` is the last key: a line ends with
``,"tokens":[[s,e],...]}``.  :func:`split_tokens` cuts that tail off each line of a block, checks
it strictly (only digits, brackets and commas, in exactly the ``[[a,b],[c,d]]`` shape, every slot
holding one number of at most 10 digits without a leading zero) and decodes the numbers in one
``pyarrow.compute.cast`` of the digit runs, straight into the ``list<struct<start, end>>`` (int32) the build
publishes; the rest of the line goes to pyarrow as before.  Anything else (another key order, whitespace, CRLF, blank lines, a
null or missing ``tokens``, a malformed pair) returns None and the caller parses the whole block
with pyarrow, which also reports errors by file line.  The sequence ``,"tokens":[`` cannot occur
inside a JSON string (its quote would be escaped), so the cut is exact.

What the path relies on is taken from the record declaration (:mod:`spanbank.records`), not assumed:
the field is a ``PAIRS`` field, keys are written sorted, and :data:`LATER_KEYS` (the declared keys
sorting after it, e.g. ``url``) are absent from the line (a line with one falls back to pyarrow).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import records

KEY = "tokens"
assert records.SORTED_KEYS and any(f.key == KEY and f.type == records.PAIRS for f in records.DOCUMENT.fields), \
    "the tokens fast path needs sorted keys and a PAIRS field 'tokens' (spanbank.records)"
LATER_KEYS = tuple(sorted(f.key for f in records.DOCUMENT.fields if f.key > KEY))
MARKER = b',"' + KEY.encode() + b'":['
DIGITS = b"0123456789"


def _shape(pairs: int) -> bytes:
    """The punctuation of a canonical list of ``pairs`` pairs: ``[[a,b],[c,d]]`` without its digits."""
    return b"[" + (b"[,]," * pairs)[:-1] + b"]"


PAIR = pa.struct([("start", pa.int32()), ("end", pa.int32())])
TYPE = pa.list_(PAIR)  # what the fast path returns: the published offsets type (a number >= 2**31 falls back)


def split_tokens(chunk: bytes) -> tuple[bytes, pa.ListArray] | None:
    """(the chunk's lines without their ``tokens`` tail, the tokens as :data:`TYPE`), or None.

    ``chunk`` is whole lines ending with ``\n``.  The returned lines end with ``}\n`` each, so
    pyarrow parses them into the same rows, in the same order.
    """
    if not chunk.endswith(b"\n"):
        return None
    ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 0x0A).tolist()  # line i is chunk[starts[i]:ends[i]]
    starts = [0] + [e + 1 for e in ends[:-1]]
    marks = [chunk.rfind(MARKER, s, e) for s, e in zip(starts, ends)]  # the last key's (a nested one ends "]}}")
    if -1 in marks or any(chunk[e - 2:e] != b"]}" for e in ends):
        return None  # a blank line, no tokens, or "tokens" is not the last key
    spans = [(m + len(MARKER) - 1, e - 1) for m, e in zip(marks, ends)]  # the tails "[...]"
    tails = b"".join([chunk[f:e] for f, e in spans])
    pairs = [chunk.count(b"[", f, e) - 1 for f, e in spans]
    if tails.translate(None, DIGITS) != b"".join([_shape(n) for n in pairs]):
        return None  # brackets and commas out of shape, or other characters (spaces, signs, dots, ...)
    text = np.frombuffer(tails, np.uint8)
    if ((text[:-1] == ord("[")) & (text[1:] == ord(","))).any() or ((text[:-1] == ord(",")) & (text[1:] == ord("]"))).any():
        return None  # a pair without its number: some other gap holds a digit run
    numbers = _numbers(text, tails.translate(None, b"[],"), 2 * sum(pairs))
    if numbers is None:
        return None
    kept = b"".join([piece for s, m in zip(starts, marks) for piece in (chunk[s:m], b"}\n")])
    outer = np.zeros(len(pairs) + 1, np.int32)
    np.cumsum(pairs, out=outer[1:])
    values = pa.StructArray.from_arrays([pa.array(numbers[0::2]), pa.array(numbers[1::2])], fields=list(PAIR))
    return kept, pa.ListArray.from_arrays(pa.array(outer), values, type=TYPE)


def _numbers(text: np.ndarray, digits: bytes, count: int) -> np.ndarray | None:
    """The ``count`` numbers of the tails ``text`` (its ``digits`` alone; shape checked: every slot holds one), int32.

    None when a number has a leading zero (not JSON), more than 10 digits, or is 2**31 or more.
    """
    digit = (text >= ord("0")) & (text <= ord("9"))
    bounds = np.flatnonzero(digit[1:] != digit[:-1]) + 1  # start, end, start, ...: tails begin and end with brackets
    if len(bounds) != 2 * count:
        return None
    if not count:
        return np.zeros(0, np.int32)
    first, length = bounds[0::2], bounds[1::2] - bounds[0::2]
    if length.max() > 10 or ((text[first] == ord("0")) & (length > 1)).any():
        return None
    offsets = np.zeros(count + 1, np.int32)
    np.cumsum(length, out=offsets[1:])
    try:
        numbers = pc.cast(pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(digits)), pa.int32())
    except pa.ArrowInvalid:  # 2**31 or more
        return None
    return numbers.to_numpy()
